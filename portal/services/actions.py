"""What the customer's contact does on the page. Each action:

- is refused once the link has expired or been revoked (checked under the
  link's row lock, in the action's transaction);
- is recorded as a `PortalAction` with the name the contact typed, the
  address and the browser;
- lands on the customer's timeline as a kind and parameters (no actor: the
  customer did it; `contact` is the typed name);
- gives the rep a task through dunning's task service.

Disputes and promises go through dunning's own services, so they pause the
ladder exactly as when a rep records them.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from core.money import money_quantize
from dunning.models import CaseEvent, CollectionTask, Dispute, PromiseToPay
from dunning.pdf import html_to_pdf
from dunning.services.disputes import dispute_open
from dunning.services.events import case_event_create
from dunning.services.promises import promise_to_pay_record
from dunning.services.tasks import collection_task_create
from portal.models import (
    BalanceConfirmation,
    DocumentRequest,
    PortalAction,
    PortalDisputeAttachment,
    PortalLink,
)
from receivables.models import Invoice
from statements.selectors import statement_closing_balances

ATTACHMENT_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


class PortalLinkInactive(Exception):
    """The link expired or was revoked: the action is refused (the page answers 404)."""


@dataclass(frozen=True)
class Visitor:
    """Who acted, as far as we can know: the name they typed, their address and browser."""

    name: str
    ip_address: str | None
    user_agent: str


def _clean_name(value: str, *, field: str = "name") -> str:
    value = " ".join((value or "").split())
    if not value:
        raise BusinessRuleError(_("Type your name."), field=field)
    if len(value) > 120:
        raise BusinessRuleError(_("Keep it under 120 characters."), field=field)
    return value


def _link_lock(link: PortalLink) -> PortalLink:
    locked = PortalLink.objects.select_for_update().select_related("customer").get(pk=link.pk)
    if not locked.is_active:
        raise PortalLinkInactive
    return locked


def _customer_invoices(*, link: PortalLink, invoice_ids: list[int]) -> list[Invoice]:
    """The chosen invoices, only from the link's customer (another's are simply not found)."""
    invoices = list(
        Invoice.objects.filter(customer=link.customer, pk__in=invoice_ids).order_by("number")
    )
    if not invoices or len(invoices) != len(set(invoice_ids)):
        raise BusinessRuleError(_("Choose invoices from the list."), field="invoices")
    return invoices


def _record(
    *,
    link: PortalLink,
    kind: str,
    visitor: Visitor,
    data: dict,
    event_kind: str,
    today: date,
    typed: str = "",
) -> PortalAction:
    """Keep the action, put it on the timeline and give the rep a task. `typed`: what the
    contact typed about themselves (their name by default)."""
    typed = typed or visitor.name
    action = PortalAction.objects.create(
        link=link,
        customer=link.customer,
        kind=kind,
        as_of=link.as_of,
        contact_name=visitor.name,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent[:1000],
        data=data,
    )
    # Who acted is what they typed: shown as typed beside the sentence (`note`), never
    # worded into it.
    params = {"via": "portal", "portal_action": action.pk, **data, TYPED_KEY: typed}
    case_event_create(customer=link.customer, kind=event_kind, actor=None, data=params)
    collection_task_create(
        customer=link.customer,
        kind=CollectionTask.Kind.CUSTOMER_PORTAL,
        params={
            "action": kind,
            "customer": link.customer.name,
            "contact": visitor.name,
            "portal_action": action.pk,
            **{key: value for key, value in data.items() if key in ("as_of", "invoices")},
        },
        due_date=today,
    )
    return action


def confirmation_pdf_render(*, confirmation: BalanceConfirmation, customer_name: str) -> bytes:
    """The confirmation as a one-page PDF in the language the contact read the page in."""
    with translation.override(confirmation.language):
        html = render_to_string(
            "portal/confirmation_pdf.html",
            {
                "confirmation": confirmation,
                "customer_name": customer_name,
                "creditor_name": getattr(settings, "CREDITOR_NAME", "") or "Huikuan",
                "balance": f"{confirmation.balance:,.2f}",
                "others": [
                    (currency, f"{Decimal(amount):,.2f}")
                    for currency, amount in sorted(confirmation.other_balances.items())
                ],
            },
        )
    return html_to_pdf(html)


@transaction.atomic
def portal_balance_confirm(
    *, link: PortalLink, position: str, visitor: Visitor, language: str, today: date
) -> BalanceConfirmation:
    """Record that the contact confirms the customer's balance as of the link's date."""
    link = _link_lock(link)
    name = _clean_name(visitor.name)
    position = _clean_name(position, field="position")
    visitor = Visitor(name=name, ip_address=visitor.ip_address, user_agent=visitor.user_agent)
    if link.as_of is None:
        raise BusinessRuleError(_("This link asks for no balance confirmation."))
    if BalanceConfirmation.objects.filter(customer=link.customer, as_of=link.as_of).exists():
        raise BusinessRuleError(_("This balance was already confirmed."))
    # The statement's closing balance (unallocated credit included), as the page shows it.
    balances = statement_closing_balances(customer=link.customer, as_of=link.as_of)
    currency = link.customer.currency
    balance = balances.pop(currency, money_quantize(Decimal(0)))
    confirmation = BalanceConfirmation(
        customer=link.customer,
        link=link,
        as_of=link.as_of,
        currency=currency,
        balance=balance,
        other_balances={key: str(value) for key, value in balances.items()},
        name=name,
        position=position,
        confirmed_at=timezone.now(),
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent[:1000],
        language=language,
    )
    pdf = confirmation_pdf_render(confirmation=confirmation, customer_name=link.customer.name)
    confirmation.pdf.save("confirmation.pdf", ContentFile(pdf), save=False)
    confirmation.save()
    _record(
        link=link,
        kind=PortalAction.Kind.BALANCE_CONFIRMED,
        visitor=visitor,
        data={
            "as_of": link.as_of.isoformat(),
            "currency": currency,
            "amount": str(balance),
            "confirmation": confirmation.pk,
        },
        event_kind=CaseEvent.Kind.PORTAL_BALANCE_CONFIRMED,
        today=today,
        typed=f"{name} · {position}",
    )
    return confirmation


def _attachment_check(attachment: UploadedFile | None) -> None:
    if attachment is None:
        return
    limit = getattr(settings, "PORTAL_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES)
    if attachment.size > limit:
        raise BusinessRuleError(
            _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            field="attachment",
        )
    if attachment.content_type not in ATTACHMENT_TYPES:
        raise BusinessRuleError(_("Attach a PDF, JPEG or PNG file."), field="attachment")


@transaction.atomic
def portal_dispute_submit(
    *,
    link: PortalLink,
    invoice_ids: list[int],
    reason: str,
    attachment: UploadedFile | None,
    visitor: Visitor,
    today: date,
) -> Dispute:
    """Open a dispute on the chosen invoices for the customer (dunning's service pauses them)."""
    link = _link_lock(link)
    visitor = Visitor(
        name=_clean_name(visitor.name),
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
    )
    _attachment_check(attachment)
    invoices = _customer_invoices(link=link, invoice_ids=invoice_ids)
    dispute = dispute_open(
        customer=link.customer, invoices=invoices, reason=reason, actor=None, as_of=today
    )
    if attachment is not None:
        stored = PortalDisputeAttachment(
            dispute=dispute,
            original_name=(attachment.name or "")[:200],
            content_type=attachment.content_type,
        )
        stored.file.save(
            "attachment" + ATTACHMENT_TYPES[attachment.content_type], attachment, save=False
        )
        stored.save()
    _record(
        link=link,
        kind=PortalAction.Kind.DISPUTE,
        visitor=visitor,
        data={
            "dispute": dispute.pk,
            "invoices": [invoice.number for invoice in invoices],
            "attachment": attachment is not None,
            **({"as_of": link.as_of.isoformat()} if link.as_of else {}),
        },
        event_kind=CaseEvent.Kind.PORTAL_DISPUTE,
        today=today,
    )
    return dispute


@transaction.atomic
def portal_promise_submit(
    *,
    link: PortalLink,
    invoice_ids: list[int],
    amount: Decimal,
    promised_date: date,
    visitor: Visitor,
    today: date,
) -> PromiseToPay:
    """Record the customer's promise to pay an amount by a date (dunning's service)."""
    link = _link_lock(link)
    visitor = Visitor(
        name=_clean_name(visitor.name),
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
    )
    invoices = _customer_invoices(link=link, invoice_ids=invoice_ids)
    promise = promise_to_pay_record(
        customer=link.customer,
        invoices=invoices,
        amount=amount,
        promised_date=promised_date,
        actor=None,
        as_of=today,
    )
    _record(
        link=link,
        kind=PortalAction.Kind.PROMISE,
        visitor=visitor,
        data={
            "promise": promise.pk,
            "currency": promise.currency,
            "amount": str(promise.amount),
            "promised_date": promised_date.isoformat(),
            "invoices": [invoice.number for invoice in invoices],
        },
        event_kind=CaseEvent.Kind.PORTAL_PROMISE,
        today=today,
    )
    return promise


@transaction.atomic
def portal_document_request(
    *,
    link: PortalLink,
    document: str,
    invoice_id: int | None,
    note: str,
    visitor: Visitor,
    today: date,
) -> DocumentRequest:
    """Record that the contact asks for a document again; the rep gets a task to send it."""
    link = _link_lock(link)
    visitor = Visitor(
        name=_clean_name(visitor.name),
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
    )
    if document not in DocumentRequest.Document.values:
        raise BusinessRuleError(_("Choose a document."), field="document")
    invoice = None
    if invoice_id is not None:
        invoice = _customer_invoices(link=link, invoice_ids=[invoice_id])[0]
    note = (note or "").strip()[:2000]
    request = DocumentRequest.objects.create(
        customer=link.customer, link=link, document=document, invoice=invoice, note=note
    )
    _record(
        link=link,
        kind=PortalAction.Kind.DOCUMENT_REQUESTED,
        visitor=visitor,
        data={
            "request": request.pk,
            "document": document,
            "invoices": [invoice.number] if invoice else [],
        },
        event_kind=CaseEvent.Kind.PORTAL_DOCUMENT_REQUESTED,
        today=today,
    )
    return request
