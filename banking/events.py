"""How bank receipts read on the customer timeline, worded at display time."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from core.events import amount_text, date_text, list_text, register
from dunning.models import CaseEvent


def _values(params: Mapping[str, Any]) -> dict[str, str]:
    return {
        "transaction": str(params.get("transaction_id", "")),
        "date": date_text(params.get("date", "")),
        "amount": amount_text(
            params.get("split_amount") or params.get("amount", ""),
            currency=params.get("currency", ""),
        ),
        "items": list_text(params.get("items") or params.get("invoices") or []),
        "reason": str(params.get("reason", "")),
    }


def _applied(params: Mapping[str, Any]) -> str:
    values = _values(params)
    if params.get("automatic"):
        return (
            gettext(
                "Bank receipt %(transaction)s of %(date)s, %(amount)s, applied automatically to "
                "%(items)s."
            )
            % values
        )
    return (
        gettext("Bank receipt %(transaction)s of %(date)s, %(amount)s, applied to %(items)s.")
        % values
    )


def _claimed(params: Mapping[str, Any]) -> str:
    return gettext(
        "Bank receipt %(transaction)s of %(date)s, %(amount)s, claimed for %(items)s; "
        "finance to confirm."
    ) % _values(params)


def _claim_rejected(params: Mapping[str, Any]) -> str:
    return gettext(
        "Claim of bank receipt %(transaction)s of %(date)s rejected: %(reason)s"
    ) % _values(params)


def _dismissed(params: Mapping[str, Any]) -> str:
    return gettext(
        "Bank receipt %(transaction)s of %(date)s, %(amount)s, marked not a customer's "
        "receipt: %(reason)s"
    ) % _values(params)


def events_register() -> None:
    """Register the receipts' timeline kinds with `core.events`."""
    register(CaseEvent.Kind.RECEIPT_APPLIED)(_applied)
    register(CaseEvent.Kind.RECEIPT_CLAIMED)(_claimed)
    register(CaseEvent.Kind.RECEIPT_CLAIM_REJECTED)(_claim_rejected)
    register(CaseEvent.Kind.RECEIPT_DISMISSED)(_dismissed)
