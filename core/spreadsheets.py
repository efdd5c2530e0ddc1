"""Cells for every CSV and XLSX the application writes, safe to open in a spreadsheet.

Text that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab
or a carriage return) is neutralised the OWASP way: in CSV (written with
`SpreadsheetCsvWriter`) a leading `'` makes it text; in XLSX it is a string cell
marked "quote prefix", so it shows exactly as written and stays text even when
someone edits the cell. A customer named
`=HYPERLINK(...)` never becomes a link in finance's spreadsheet.

The type decides, not the content: finite numbers (`int`, `float`, `Decimal`) stay
numbers (a negative amount is written `-12.50`, a number cell in XLSX), while a
string is always text, even one that looks like `-12.50`.
"""

import csv
import math
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_number(value: object) -> bool:
    """A finite int, float or Decimal: "-inf" would be read as a formula, so it is text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) or math.isfinite(value)


def spreadsheet_text(*, value: object) -> str:
    """Return the value as text a spreadsheet shows and never runs: `'` before a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def spreadsheet_csv_cell(*, value: object) -> str:
    """Return a CSV field: numbers as they are, dates in ISO, anything else as safe text."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return spreadsheet_text(value=value)


class SpreadsheetCsvWriter:
    """A CSV writer whose every cell goes through `spreadsheet_csv_cell`.

    Rows end in CRLF (RFC 4180, as Excel writes): the csv module quotes only the
    characters of the line terminator, and a bare carriage return left unquoted
    would start a new row, in which the rest of the cell is a formula.
    """

    def __init__(self, file: TextIO) -> None:
        self._writer = csv.writer(file, lineterminator="\r\n")

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow([spreadsheet_csv_cell(value=value) for value in values])


def spreadsheet_xlsx_cell(
    *, sheet: WriteOnlyWorksheet, value: object, number_format: str | None = None
) -> Cell | None:
    """Return an XLSX cell: numbers and dates typed (with the format), anything else a
    string cell, never a formula; formula-like text is marked "quote prefix"."""
    if value is None:
        return None
    if _is_number(value) or isinstance(value, (date, datetime)):
        cell = WriteOnlyCell(sheet, value=value)
        if number_format:
            cell.number_format = number_format
        return cell
    # XML cannot hold most control characters: openpyxl would refuse the whole file.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    # Assigned after creation: given to the constructor, openpyxl would type text
    # starting with "=" as a formula.
    cell = WriteOnlyCell(sheet, value=None)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True
    return cell
