"""How an acceptance bill's events read on the timeline, worded at display time."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from core.events import amount_text, date_text, list_text, register
from dunning.models import CaseEvent

Kind = CaseEvent.Kind


def _bill_event(kind: str, data: Mapping[str, Any]) -> str:
    """Word an acceptance bill's event (written by the `bills` app) from its parameters."""
    params = {
        "number": data.get("bill", ""),
        "currency": data.get("currency", ""),
        "face": amount_text(data.get("face_amount", "")),
        "maturity": date_text(data.get("maturity_date", "")),
        "date": date_text(data.get("date", "")),
        "items": list_text(data.get("items") or []),
        "endorsee": data.get("endorsee", ""),
        "discount": amount_text(data.get("discount_amount", "")),
        "cash": amount_text(data.get("cash_received", "")),
        "reason": data.get("reason", ""),
    }
    if kind == Kind.BILL_RECEIVED:
        return (
            gettext(
                "Acceptance bill %(number)s received on %(date)s: %(currency)s %(face)s, "
                "maturing %(maturity)s; it settles %(items)s."
            )
            % params
        )
    if kind == Kind.BILL_ENDORSED:
        return gettext("Acceptance bill %(number)s endorsed to %(endorsee)s on %(date)s.") % params
    if kind == Kind.BILL_DISCOUNTED:
        return (
            gettext(
                "Acceptance bill %(number)s discounted on %(date)s: discount %(currency)s "
                "%(discount)s, cash received %(currency)s %(cash)s."
            )
            % params
        )
    if kind == Kind.BILL_COLLECTED:
        return (
            gettext("Acceptance bill %(number)s collected on %(date)s: %(currency)s %(face)s.")
            % params
        )
    return (
        gettext(
            "Acceptance bill %(number)s dishonoured on %(date)s (%(reason)s); "
            "its invoices are open again: %(items)s."
        )
        % params
    )


def events_register() -> None:
    """Register the bills' timeline kinds with `core.events`."""
    for kind in (
        Kind.BILL_RECEIVED,
        Kind.BILL_ENDORSED,
        Kind.BILL_DISCOUNTED,
        Kind.BILL_COLLECTED,
        Kind.BILL_DISHONOURED,
    ):
        register(kind)(lambda params, kind=kind: _bill_event(kind, params))
