"""Bank statement files to rows: the canonical CSV, Chinese online-banking exports through
column profiles (CSV or XLSX), ISO 20022 camt.053 and SWIFT MT940.

Every parser reads the whole file and returns the credit rows (money received) or
every problem as `line N: reason`; nothing partial. `statement_parse` picks the parser.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from banking.models import BankAccount, ColumnProfile
from banking.normalise import account_normalise

AUTO = "auto"
CANONICAL = "canonical"
CAMT053 = "camt053"
MT940 = "mt940"
FORMATS = (CANONICAL, CAMT053, MT940)


@dataclass(frozen=True)
class StatementRow:
    line: int
    transaction_id: str
    date: date
    amount: Decimal
    currency: str
    payer_name: str = ""
    payer_account: str = ""
    memo: str = ""


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParsedStatement:
    file_format: str
    rows: list[StatementRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    # Rows that are not money received (debits, zero amounts): skipped, counted.
    ignored: int = 0


class StatementError(Exception):
    """The file as a whole cannot be read."""

    def __init__(self, reason: str, *, line: int = 1) -> None:
        super().__init__(reason)
        self.error = LineError(line, reason)


def account_check(*, parsed: ParsedStatement, statement_account: str, account: BankAccount) -> None:
    """Refuse a statement whose own account id is not the bank account's number."""
    if not statement_account:
        return
    ours = account_normalise(account.number)
    theirs = account_normalise(statement_account)
    # MT940's :25: often prefixes the bank code: "BANKCODE/ACCOUNT".
    if theirs != ours and theirs.rsplit("/", 1)[-1] != ours:
        raise StatementError(
            _("the statement is for account %(theirs)s, not %(code)s (%(ours)s)")
            % {"theirs": statement_account, "code": account.code, "ours": account.number}
        )


def duplicates_check(parsed: ParsedStatement) -> None:
    """Refuse a transaction id that repeats inside the file, naming both lines."""
    first: dict[str, int] = {}
    for row in parsed.rows:
        if row.transaction_id in first:
            parsed.errors.append(
                LineError(
                    row.line,
                    _("transaction id %(id)s repeats line %(first)s")
                    % {"id": row.transaction_id, "first": first[row.transaction_id]},
                )
            )
        else:
            first[row.transaction_id] = row.line


def _looks_like_xml(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _looks_like_mt940(data: bytes) -> bool:
    head = data[:2048]
    return b":20:" in head and (b":25:" in head or b":60F:" in head)


def _is_workbook(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04")


def statement_parse(*, data: bytes, account: BankAccount, profile: str = AUTO) -> ParsedStatement:
    """Parse a statement file for the account with the named profile (or `auto`)."""
    from banking.parsers import camt053, canonical, mt940, profiles

    profile = (profile or AUTO).strip()
    try:
        if profile == CAMT053 or (profile == AUTO and _looks_like_xml(data)):
            parsed = camt053.parse(data=data, account=account)
        elif profile == MT940 or (profile == AUTO and _looks_like_mt940(data)):
            parsed = mt940.parse(data=data, account=account)
        elif profile == CANONICAL:
            parsed = canonical.parse(data=data, account=account)
        elif profile == AUTO:
            if not _is_workbook(data) and canonical.is_canonical(data):
                parsed = canonical.parse(data=data, account=account)
            else:
                parsed = profiles.parse(data=data, account=account, profile=None)
        else:
            chosen = ColumnProfile.objects.filter(name=profile).first()
            if chosen is None:
                raise StatementError(_("there is no column profile %(name)s") % {"name": profile})
            parsed = profiles.parse(data=data, account=account, profile=chosen)
    except StatementError as error:
        return ParsedStatement(file_format=profile, errors=[error.error])
    duplicates_check(parsed)
    parsed.errors.sort(key=lambda error: error.line)
    return parsed
