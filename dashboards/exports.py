"""Any table of the dashboards as CSV or XLSX: the same columns and rows the page shows.

CSV is UTF-8 with a byte-order mark, so that spreadsheet programs open
Chinese names correctly. Text that a spreadsheet would run as a formula
(starting with =, +, - or @) is written as text: a customer named
"=HYPERLINK(...)" must not become a link in finance's spreadsheet.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _csv_value(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Decimal):
        return f"{value:.2f}"
    if kind in ("int", "percent") and isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _text(value)


def table_csv(table: Table) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_text(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                _csv_value(value, column.kind)
                for value, column in zip(row, table.columns, strict=True)
            ]
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
        cell = WriteOnlyCell(sheet, value=str(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        cells = []
        for value, column in zip(row, table.columns, strict=True):
            if value is None:
                cells.append(None)
                continue
            if isinstance(value, (int, Decimal, date)) and not isinstance(value, bool):
                cell = WriteOnlyCell(sheet, value=value)
                if column.kind in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[column.kind]
            else:
                # Set as a plain string: openpyxl would run text starting with "=" as a formula.
                cell = WriteOnlyCell(sheet, value=None)
                cell.value = str(value)
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
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
