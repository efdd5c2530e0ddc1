"""How the customer's own actions read on the timeline and in tasks, worded at display time."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from core.events import amount_text, date_text, list_text, register
from dunning.models import CaseEvent, CollectionTask
from portal.models import DocumentRequest

Kind = CaseEvent.Kind
DOCUMENTS = dict(DocumentRequest.Document.choices)


def _portal_event(kind: str, data: Mapping[str, Any]) -> str:
    """Word what the customer's contact did on the portal. Who they said they are (the
    name and position they typed) is the row's typed `note`, shown as typed beside it."""
    document = data.get("document", "")
    values = {
        "as_of": date_text(data.get("as_of", "")),
        "currency": data.get("currency", ""),
        "amount": amount_text(data.get("amount", "")),
        "date": date_text(data.get("promised_date", "")),
        "items": list_text(data.get("invoices") or []),
        "document": str(DOCUMENTS.get(document, document)),
    }
    if kind == Kind.PORTAL_BALANCE_CONFIRMED:
        return (
            gettext(
                "The customer's contact confirmed the balance of %(currency)s %(amount)s "
                "as of %(as_of)s online."
            )
            % values
        )
    if kind == Kind.PORTAL_DISPUTE:
        return gettext("The customer's contact disputed %(items)s online.") % values
    if kind == Kind.PORTAL_PROMISE:
        return (
            gettext(
                "The customer's contact promised online to pay %(currency)s %(amount)s "
                "by %(date)s for %(items)s."
            )
            % values
        )
    return (
        gettext("The customer's contact asked online for a copy: %(document)s %(items)s.") % values
    ).replace(" .", ".")


def events_register() -> None:
    """Register the portal's timeline kinds and task titles with `core.events`."""
    for kind in (
        Kind.PORTAL_BALANCE_CONFIRMED,
        Kind.PORTAL_DISPUTE,
        Kind.PORTAL_PROMISE,
        Kind.PORTAL_DOCUMENT_REQUESTED,
    ):
        register(kind)(lambda params, kind=kind: _portal_event(kind, params))
    register(f"task:{CollectionTask.Kind.CUSTOMER_PORTAL}")(_task_customer_portal)
    register(f"task:{CollectionTask.Kind.CONFIRMATION_SILENT}")(_task_confirmation_silent)


def _task_values(params: Mapping[str, Any]) -> dict[str, str]:
    return {
        "customer": str(params.get("customer", "")),
        "contact": str(params.get("contact", "")),
        "as_of": date_text(params.get("as_of", "")),
        "items": list_text(params.get("invoices") or []),
    }


def _task_customer_portal(params: Mapping[str, Any]) -> str:
    values = _task_values(params)
    action = params.get("action")
    if action == "balance_confirmed":
        return gettext("%(customer)s: %(contact)s confirmed the balance as of %(as_of)s") % values
    if action == "dispute":
        return gettext("%(customer)s: %(contact)s disputed %(items)s; look into it") % values
    if action == "promise":
        return gettext("%(customer)s: %(contact)s promised to pay %(items)s") % values
    if action == "document_requested":
        return gettext("%(customer)s: %(contact)s asked for a copy; send it") % values
    return gettext("%(customer)s: %(contact)s acted on the portal") % values


def _task_confirmation_silent(params: Mapping[str, Any]) -> str:
    return gettext(
        "%(customer)s has not answered the balance confirmation as of %(as_of)s: call them"
    ) % _task_values(params)
