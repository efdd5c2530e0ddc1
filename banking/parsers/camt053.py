"""ISO 20022 camt.053 (bank-to-customer statement) XML, parsed with defusedxml."""

import re
from datetime import date

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _

from banking.models import BankAccount
from banking.parsers import (
    CAMT053,
    LineError,
    ParsedStatement,
    StatementError,
    StatementRow,
    account_check,
)
from core.money import money_parse_printed
from receivables.currencies import is_iso_4217

_ENTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?Ntry[\s>]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str) -> list:
    return [child for child in element if _local(child.tag) == name]


def _path(element, *names: str):
    """The first element down the path of local names, or None."""
    current = [element]
    for name in names:
        current = [child for parent in current for child in _children(parent, name)]
        if not current:
            return None
    return current[0]


def _text(element, *names: str) -> str:
    found = _path(element, *names) if names else element
    return (found.text or "").strip() if found is not None else ""


def _account_id(account_element) -> str:
    if account_element is None:
        return ""
    return _text(account_element, "Id", "IBAN") or _text(account_element, "Id", "Othr", "Id")


def _party_name(parties, role: str) -> str:
    if parties is None:
        return ""
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm")


def _entry_date(entry) -> date | None:
    for where in ("BookgDt", "ValDt"):
        value = _text(entry, where, "Dt") or _text(entry, where, "DtTm")[:10]
        if value:
            return date.fromisoformat(value)
    return None


def parse(*, data: bytes, account: BankAccount) -> ParsedStatement:
    """Read the credit entries (CdtDbtInd CRDT) of every statement in the file."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        line = error.position[0] if getattr(error, "position", None) else 1
        raise StatementError(
            _("the file is not well-formed XML (%(error)s)") % {"error": error}, line=line
        ) from None
    except DefusedXmlException:
        raise StatementError(_("the XML declares entities or a DTD, which are refused")) from None
    statements = [element for element in root.iter() if _local(element.tag) == "Stmt"]
    if _local(root.tag) != "Document" or not statements:
        raise StatementError(_("the XML is not a camt.053 statement (no Document/Stmt)"))
    entry_lines = [data.count(b"\n", 0, match.start()) + 1 for match in _ENTRY_TAG.finditer(data)]
    parsed = ParsedStatement(file_format=CAMT053)
    position = 0
    for statement in statements:
        account_check(
            parsed=parsed,
            statement_account=_account_id(_path(statement, "Acct")),
            account=account,
        )
        for entry in _children(statement, "Ntry"):
            line = entry_lines[position] if position < len(entry_lines) else 1
            position += 1
            indicator = _text(entry, "CdtDbtInd")
            if indicator != "CRDT" or _text(entry, "RvslInd").lower() == "true":
                parsed.ignored += 1
                continue
            amount_element = _path(entry, "Amt")
            problems = []
            try:
                amount = money_parse_printed(_text(entry, "Amt"))
            except ValueError:
                problems.append(
                    _("Amt %(value)r is not an amount") % {"value": _text(entry, "Amt")}
                )
                amount = None
            currency = (amount_element.get("Ccy", "") if amount_element is not None else "").upper()
            currency = currency or account.currency
            if not is_iso_4217(currency):
                problems.append(
                    _("currency %(value)r is not an ISO 4217 code") % {"value": currency}
                )
            try:
                day = _entry_date(entry)
            except ValueError:
                day = None
            if day is None:
                problems.append(_("the entry has no booking date"))
            details = _path(entry, "NtryDtls", "TxDtls")
            transaction_id = (
                _text(entry, "AcctSvcrRef")
                or (details is not None and _text(details, "Refs", "AcctSvcrRef"))
                or _text(entry, "NtryRef")
                or (details is not None and _text(details, "Refs", "EndToEndId"))
                or ""
            )
            if transaction_id == "NOTPROVIDED":
                transaction_id = ""
            if not transaction_id:
                problems.append(_("the entry has no reference (AcctSvcrRef or NtryRef)"))
            if problems:
                parsed.errors.extend(LineError(line, problem) for problem in problems)
                continue
            if amount <= 0:
                parsed.ignored += 1
                continue
            parties = _path(details, "RltdPties") if details is not None else None
            payer_name = _party_name(parties, "Dbtr") or _party_name(parties, "UltmtDbtr")
            payer_account = _account_id(_path(parties, "DbtrAcct")) if parties is not None else ""
            memo_parts = []
            if details is not None:
                remittance = _path(details, "RmtInf")
                if remittance is not None:
                    memo_parts += [_text(part) for part in _children(remittance, "Ustrd")]
                    reference = _path(remittance, "Strd", "CdtrRefInf", "Ref")
                    if reference is not None:
                        memo_parts.append(_text(reference))
                memo_parts.append(_text(details, "AddtlTxInf"))
            memo_parts.append(_text(entry, "AddtlNtryInf"))
            parsed.rows.append(
                StatementRow(
                    line=line,
                    transaction_id=transaction_id[:100],
                    date=day,
                    amount=amount,
                    currency=currency,
                    payer_name=payer_name[:200],
                    payer_account=payer_account[:64],
                    memo=" ".join(part for part in memo_parts if part)[:500],
                )
            )
    return parsed
