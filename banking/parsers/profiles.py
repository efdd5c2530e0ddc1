"""Online-banking exports (CSV or XLSX) read through a saved column profile.

Exports often start with title lines (the account, the period) before the header:
the header is the first of the first 30 lines holding the profile's columns.
"""

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

from django.utils.translation import gettext as _

from banking.models import BankAccount, ColumnProfile
from banking.parsers import LineError, ParsedStatement, StatementError, StatementRow
from banking.parsers.canonical import decode
from core.money import money_parse_printed
from core.textfiles import csv_delimiter
from receivables.currencies import is_iso_4217

HEADER_SEARCH_LINES = 30
FALLBACK_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def _alternatives(spec: str) -> list[str]:
    return [name.strip() for name in (spec or "").split("|") if name.strip()]


def _required(profile: ColumnProfile) -> dict[str, str]:
    return {
        "date": profile.date_column,
        "payer_name": profile.payer_name_column,
        "payer_account": profile.payer_account_column,
        "credit": profile.credit_column,
        "transaction_id": profile.transaction_id_column,
    }


def _optional(profile: ColumnProfile) -> dict[str, str]:
    return {
        "debit": profile.debit_column,
        "balance": profile.balance_column,
        "currency": profile.currency_column,
    }


def _find(header: list[str], spec: str) -> int | None:
    for name in _alternatives(spec):
        if name in header:
            return header.index(name)
    return None


def _header_columns(profile: ColumnProfile, header: list[str]) -> tuple[dict, list[str]]:
    """Positions of the profile's columns in the header, and the required ones missing."""
    positions: dict[str, int | list[int]] = {}
    missing = []
    for key, spec in _required(profile).items():
        position = _find(header, spec)
        if position is None:
            missing.append(_alternatives(spec)[0] if _alternatives(spec) else key)
        else:
            positions[key] = position
    for key, spec in _optional(profile).items():
        position = _find(header, spec)
        if position is not None:
            positions[key] = position
    positions["memo"] = [
        header.index(name) for name in _alternatives(profile.memo_columns) if name in header
    ]
    return positions, missing


def _clean(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # openpyxl gives numbers as floats; repr is the shortest exact text of them.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value).strip().lstrip("\t").strip()


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text=text))
    line = 0
    for values in reader:
        start, line = line + 1, reader.line_num
        yield start, [_clean(value) for value in values]


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a broken workbook
        raise StatementError(
            _("the workbook cannot be read (%(error)s)") % {"error": error.__class__.__name__}
        ) from None
    sheet = workbook.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, [_clean(value) for value in values]
    workbook.close()


def _lines(data: bytes) -> list[tuple[int, list[str]]]:
    if data.startswith(b"PK\x03\x04"):
        return list(_xlsx_lines(data))
    return list(_csv_lines(data))


def _locate(
    lines: list[tuple[int, list[str]]], profiles: list[ColumnProfile]
) -> tuple[ColumnProfile, int, dict]:
    """The profile and header line that fit: the one whose columns are all present, the
    most columns matched first."""
    best = None
    closest: tuple[int, ColumnProfile, list[str]] | None = None
    for index, (_line, values) in enumerate(lines[:HEADER_SEARCH_LINES]):
        for profile in profiles:
            positions, missing = _header_columns(profile, values)
            if missing:
                found = len(_required(profile)) - len(missing)
                if found and (closest is None or found > closest[0]):
                    closest = (found, profile, missing)
                continue
            score = len(positions) + len(positions["memo"])
            if best is None or score > best[0]:
                best = (score, profile, index, positions)
        if best is not None:
            return best[1], best[2], best[3]
    if len(profiles) == 1:
        _positions, missing = _header_columns(profiles[0], lines[0][1] if lines else [])
        if closest is not None:
            missing = closest[2]
        raise StatementError(
            _("the file does not have the columns of profile %(name)s: %(missing)s missing")
            % {"name": profiles[0].name, "missing": ", ".join(missing)}
        )
    if closest is not None:
        raise StatementError(
            _(
                "no column profile fits the file; the closest, %(name)s, misses %(missing)s. "
                "Choose or save a profile for this bank's export."
            )
            % {"name": closest[1].name, "missing": ", ".join(closest[2])}
        )
    raise StatementError(
        _(
            "the file is neither the canonical CSV (transaction_id,date,amount,currency,"
            "payer_name,payer_account,memo) nor an export any column profile fits"
        )
    )


def _date(value: str, profile: ColumnProfile) -> date:
    value = value.strip()
    for pattern in (profile.date_format, *FALLBACK_DATE_FORMATS):
        for candidate in (value, value[:10], value.split(" ")[0]):
            try:
                return datetime.strptime(candidate, pattern).date()  # noqa: DTZ007 - a date
            except ValueError:
                continue
    raise ValueError(value)


def _is_date(value: str, profile: ColumnProfile) -> bool:
    try:
        _date(value, profile)
    except ValueError:
        return False
    return True


def parse(*, data: bytes, account: BankAccount, profile: ColumnProfile | None) -> ParsedStatement:
    """Read an export with the given profile, or the one whose headers fit (auto)."""
    lines = _lines(data)
    profiles = [profile] if profile is not None else list(ColumnProfile.objects.all())
    if not profiles:
        raise StatementError(_("no column profile is saved"))
    chosen, header_index, positions = _locate(lines, profiles)
    parsed = ParsedStatement(file_format=chosen.name)
    for line, values in lines[header_index + 1 :]:
        if not any(values):
            continue

        def cell(key: str, values: list[str] = values) -> str:
            position = positions.get(key)
            return values[position] if position is not None and position < len(values) else ""

        credit_text = cell("credit")
        debit_text = cell("debit")
        if not cell("transaction_id") and not _is_date(cell("date"), chosen):
            # A footer such as 合计 (totals): no id, no date.
            continue
        problems = []
        credit = None
        if credit_text.strip() in {"", "-", "--"}:
            credit = None
        else:
            try:
                credit = money_parse_printed(credit_text)
            except ValueError:
                problems.append(
                    _("%(column)s %(value)r is not an amount")
                    % {"column": chosen.credit_column.split("|")[0], "value": credit_text}
                )
        if not problems and (credit is None or credit <= 0):
            if not debit_text.strip() and credit is None and not cell("transaction_id"):
                continue
            parsed.ignored += 1
            continue
        transaction_id = cell("transaction_id")
        if not transaction_id:
            problems.append(_("the transaction id (流水号) is empty"))
        try:
            day = _date(cell("date"), chosen)
        except ValueError:
            problems.append(
                _("date %(value)r does not match %(format)s")
                % {"value": cell("date"), "format": chosen.date_format}
            )
            day = None
        currency = (cell("currency") or account.currency).upper()
        if currency in {"人民币", "RMB"}:
            currency = "CNY"
        if not is_iso_4217(currency):
            problems.append(_("currency %(value)r is not an ISO 4217 code") % {"value": currency})
        if problems:
            parsed.errors.extend(LineError(line, problem) for problem in problems)
            continue
        memo = " ".join(
            values[position]
            for position in positions["memo"]
            if position < len(values) and values[position]
        )
        parsed.rows.append(
            StatementRow(
                line=line,
                transaction_id=transaction_id[:100],
                date=day,
                amount=credit,
                currency=currency,
                payer_name=cell("payer_name")[:200],
                payer_account=cell("payer_account")[:64],
                memo=memo[:500],
            )
        )
    return parsed
