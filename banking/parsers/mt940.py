"""SWIFT MT940 statements through the `mt-940` package; :86: read for payer and memo."""

import re

import mt940
from django.utils.translation import gettext as _

from banking.models import BankAccount
from banking.parsers import (
    MT940,
    LineError,
    ParsedStatement,
    StatementError,
    StatementRow,
    account_check,
)
from banking.parsers.canonical import decode
from core.money import money_quantize
from receivables.currencies import is_iso_4217

_LINE_61 = re.compile(r"^:61:", re.MULTILINE)
# Structured :86: in the SWIFT style (/ORDP/name/ACCT/number/REMI/text) and the
# German ?-subfields (?20-?29 purpose, ?31 account, ?32/?33 name).
_SLASH_FIELD = re.compile(r"/(ORDP|NAME|ACCT|IBAN|REMI|MEMO|BENM|PURP)/")
_Q_FIELD = re.compile(r"\?(\d\d)")


def _details(text: str) -> tuple[str, str, str]:
    """Payer name, payer account and memo out of the :86: text."""
    text = (text or "").replace("\n", "").replace("\r", "")
    if _SLASH_FIELD.search(text):
        parts = _SLASH_FIELD.split(text)
        fields: dict[str, str] = {}
        for key, value in zip(parts[1::2], parts[2::2], strict=False):
            fields.setdefault(key, value.strip().strip("/"))
        name = fields.get("ORDP") or fields.get("NAME", "")
        account = fields.get("ACCT") or fields.get("IBAN", "")
        memo = " ".join(value for key in ("REMI", "MEMO", "PURP") if (value := fields.get(key)))
        return name, account, memo or parts[0].strip()
    if _Q_FIELD.search(text):
        parts = _Q_FIELD.split(text)
        fields = {}
        for key, value in zip(parts[1::2], parts[2::2], strict=False):
            fields[key] = fields.get(key, "") + value
        purpose = "".join(fields.get(str(code), "") for code in range(20, 30))
        return fields.get("32", "") + fields.get("33", ""), fields.get("31", ""), purpose.strip()
    return "", "", text.strip()


def parse(*, data: bytes, account: BankAccount) -> ParsedStatement:
    """Read the credit transactions (status C or RD) of the statement."""
    text = decode(data).replace("\r\n", "\n")
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(text)
    except Exception as error:  # the package raises plain exceptions on malformed tags
        raise StatementError(
            _("the MT940 file cannot be read (%(error)s)") % {"error": error}
        ) from None
    if not transactions.data.get("account_identification"):
        raise StatementError(_("the MT940 file has no :25: account identification"))
    parsed = ParsedStatement(file_format=MT940)
    account_check(
        parsed=parsed,
        statement_account=transactions.data.get("account_identification", ""),
        account=account,
    )
    lines = [text.count("\n", 0, match.start()) + 1 for match in _LINE_61.finditer(text)]
    for position, transaction in enumerate(transactions):
        line = lines[position] if position < len(lines) else 1
        values = transaction.data
        amount = money_quantize(values["amount"].amount)
        if values.get("status") not in {"C", "RD"} or amount <= 0:
            parsed.ignored += 1
            continue
        currency = (values.get("currency") or account.currency).upper()
        problems = []
        if not is_iso_4217(currency):
            problems.append(_("currency %(value)r is not an ISO 4217 code") % {"value": currency})
        reference = values.get("bank_reference") or ""
        if not reference or reference.upper() == "NONREF":
            reference = values.get("customer_reference") or ""
        if not reference or reference.upper() == "NONREF":
            problems.append(_("the transaction has no reference (customer or bank reference)"))
        if problems:
            parsed.errors.extend(LineError(line, problem) for problem in problems)
            continue
        name, payer_account, memo = _details(values.get("transaction_details", ""))
        parsed.rows.append(
            StatementRow(
                line=line,
                transaction_id=reference.strip()[:100],
                date=values["date"],
                amount=amount,
                currency=currency,
                payer_name=name[:200],
                payer_account=payer_account[:64],
                memo=memo[:500],
            )
        )
    return parsed
