"""The canonical CSV of DESIGN.md (transaction_id,date,amount,currency,payer_name,...)."""

import csv
import io
from datetime import date

from django.utils.translation import gettext as _

from banking.models import BankAccount
from banking.parsers import CANONICAL, LineError, ParsedStatement, StatementError, StatementRow
from core.money import money_parse_printed
from core.textfiles import TextFileError, csv_delimiter, text_file_decode
from receivables.currencies import is_iso_4217

COLUMNS = ("transaction_id", "date", "amount", "currency", "payer_name", "payer_account", "memo")
REQUIRED = ("transaction_id", "date", "amount", "currency")


def decode(data: bytes) -> str:
    """Bytes to text through the one decoder, or a `line N: reason` refusal."""
    try:
        return text_file_decode(data=data).text
    except TextFileError as error:
        raise StatementError(error.message, line=error.line or 1) from None


def is_canonical(data: bytes) -> bool:
    """Whether the first line is the canonical header (in any encoding read here)."""
    try:
        text = text_file_decode(data=data[:4096]).text
    except TextFileError:
        # Cut in the middle of a character, or not text: let the full parse decide.
        try:
            text = text_file_decode(data=data).text
        except TextFileError:
            return False
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    names = [name.strip().lower() for name in first.split(csv_delimiter(text=first))]
    return all(column in names for column in REQUIRED)


def parse(*, data: bytes, account: BankAccount) -> ParsedStatement:
    """Read the canonical CSV; rows with amount <= 0 are not money received and are skipped."""
    text = decode(data)
    parsed = ParsedStatement(file_format=CANONICAL)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text=text))
    header = next(reader, None)
    names = [name.strip().lower() for name in header or []]
    missing = [column for column in REQUIRED if column not in names]
    if missing:
        raise StatementError(
            _("the header must be %(columns)s; missing %(missing)s")
            % {"columns": ",".join(COLUMNS), "missing": ", ".join(missing)}
        )
    index = {name: position for position, name in enumerate(names) if name in COLUMNS}
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        cell = {
            column: (values[position].strip() if position < len(values) else "")
            for column, position in index.items()
        }
        problems = []
        transaction_id = cell.get("transaction_id", "")
        if not transaction_id:
            problems.append(_("transaction_id is empty"))
        elif len(transaction_id) > 100:
            problems.append(_("transaction_id is longer than 100 characters"))
        try:
            day = date.fromisoformat(cell.get("date", ""))
        except ValueError:
            problems.append(
                _("date %(value)r is not a date YYYY-MM-DD") % {"value": cell.get("date", "")}
            )
            day = None
        try:
            amount = money_parse_printed(cell.get("amount", ""))
        except ValueError:
            problems.append(_("amount %(value)r is not an amount") % {"value": cell.get("amount")})
            amount = None
        currency = cell.get("currency", "").upper() or account.currency
        if not is_iso_4217(currency):
            problems.append(_("currency %(value)r is not an ISO 4217 code") % {"value": currency})
        if problems:
            parsed.errors.extend(LineError(start, problem) for problem in problems)
            continue
        if amount <= 0:
            parsed.ignored += 1
            continue
        parsed.rows.append(
            StatementRow(
                line=start,
                transaction_id=transaction_id,
                date=day,
                amount=amount,
                currency=currency,
                payer_name=cell.get("payer_name", "")[:200],
                payer_account=cell.get("payer_account", "")[:64],
                memo=cell.get("memo", "")[:500],
            )
        )
    return parsed
