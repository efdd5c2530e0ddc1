"""Any table of the dashboards as CSV or XLSX: the same columns and rows the page shows.

CSV is UTF-8 with a byte-order mark, so that spreadsheet programs open
Chinese names correctly. Every cell goes through `core.spreadsheets`: text that
a spreadsheet would run as a formula is written as text, numbers stay numbers.
"""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpResponse
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Font

from core.money import money_quantize
from core.spreadsheets import SpreadsheetCsvWriter, spreadsheet_xlsx_cell

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """A column: its header and how its values are written (text, money, int, date, percent)."""

    label: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A titled table; `name` becomes the file name."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]


def _csv_value(value: object, kind: str) -> object:
    if kind == "money" and isinstance(value, Decimal):
        return money_quantize(value)
    return value


def table_csv(table: Table) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM), header first."""
    buffer = io.StringIO()
    writer = SpreadsheetCsvWriter(buffer)
    writer.writerow(str(column.label) for column in table.columns)
    for row in table.rows:
        writer.writerow(
            _csv_value(value, column.kind) for value, column in zip(row, table.columns, strict=True)
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


NUMBER_FORMATS = {
    "money": "#,##0.00",
    "int": "0",
    "percent": "0.0",
    "date": "yyyy-mm-dd",
}


def table_xlsx(table: Table) -> bytes:
    """The table as an XLSX workbook with one sheet; numbers stay numbers, text stays text."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(table.title or table.name)[:31].replace("/", "-"))
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = spreadsheet_xlsx_cell(sheet=sheet, value=str(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append(
            [
                spreadsheet_xlsx_cell(
                    sheet=sheet, value=value, number_format=NUMBER_FORMATS.get(column.kind)
                )
                for value, column in zip(row, table.columns, strict=True)
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_response(table: Table, *, file_format: str) -> HttpResponse:
    """An attachment download of the table in the format (csv or xlsx)."""
    filename = slugify(table.name) or "table"
    if file_format == "xlsx":
        response = HttpResponse(table_xlsx(table), content_type=XLSX_TYPE)
        extension = "xlsx"
    else:
        response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
        extension = "csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    return response
