"""A short thank-you to the finance contact when an invoice we dunned is paid in full.

Once per invoice: the timeline row written with the email (one
`THANK_YOU_SENT` event per invoice, checked under the customer's lock) is the
record that it went out. Only invoices that reached an overdue rung of the
ladder are thanked, and only for payments of the last two weeks, so adding a
contact later does not thank for old payments.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import translation

from dunning.creditor import creditor_setting
from dunning.models import CaseEvent, DunningStep
from dunning.models.policy import OVERDUE_LEVELS
from dunning.services.cases import case_latest_get
from dunning.services.events import case_event_create
from receivables.models import Contact, Customer, Invoice, Payment
from receivables.selectors.balances import invoices_open_amounts_on
from receivables.services.customers import customer_lock

logger = logging.getLogger(__name__)

THANK_YOU_TEMPLATE = "dunning/email/thank_you"
THANK_YOU_WINDOW_DAYS = 14


@dataclass
class ThankYouResult:
    sent: list[str] = field(default_factory=list)
    no_contact: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _thanked_invoice_ids(*, customer_ids: list[int]) -> set[int]:
    return {
        data.get("invoice")
        for data in CaseEvent.objects.filter(
            customer_id__in=customer_ids, kind=CaseEvent.Kind.THANK_YOU_SENT
        ).values_list("data", flat=True)
        if isinstance(data, dict)
    }


def invoices_to_thank(
    *, as_of: date, customer_ids: list[int] | None = None
) -> dict[int, list[Invoice]]:
    """Paid invoices that were dunned and settled by a payment in the last two weeks."""
    dunned = DunningStep.objects.filter(level__in=OVERDUE_LEVELS).values("invoice_id")
    paid = Invoice.objects.filter(status=Invoice.Status.PAID, pk__in=dunned)
    if customer_ids is not None:
        paid = paid.filter(customer_id__in=customer_ids)
    invoices = (
        paid.annotate(
            paid_on=Max(
                "allocations__payment__payment_date",
                filter=Q(allocations__payment__status=Payment.Status.POSTED),
            )
        )
        .filter(paid_on__lte=as_of, paid_on__gte=as_of - timedelta(days=THANK_YOU_WINDOW_DAYS))
        .order_by("customer_id", "due_date", "number")
    )
    by_customer: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_customer[invoice.customer_id].append(invoice)
    thanked = _thanked_invoice_ids(customer_ids=list(by_customer))
    return {
        customer_id: remaining
        for customer_id, items in by_customer.items()
        if (remaining := [invoice for invoice in items if invoice.pk not in thanked])
    }


def _finance_contact(customer: Customer) -> Contact | None:
    return (
        Contact.objects.filter(
            customer=customer, role=Contact.Role.FINANCE, email_bounced_at__isnull=True
        )
        .exclude(email="")
        .order_by("pk")
        .first()
    )


def thank_you_render(
    *, customer: Customer, contact: Contact, invoices: list[Invoice]
) -> tuple[str, str]:
    """Subject and body in the customer's language (first line of the template is the subject)."""
    language = customer.language
    rep = customer.sales_rep
    context = {
        "recipient_name": contact.name,
        "items": [
            {
                "number": invoice.number,
                "currency": invoice.currency,
                "amount": f"{invoice.amount:,.2f}",
                "paid_on": invoice.paid_on.isoformat(),
            }
            for invoice in invoices
        ],
        "creditor_name": creditor_setting("CREDITOR_NAME", language=language),
        "rep_name": rep.get_full_name() or rep.get_username(),
        "rep_email": rep.email,
    }
    with translation.override(language):
        text = render_to_string(f"{THANK_YOU_TEMPLATE}.{language}.txt", context)
    subject, _, body = text.strip().partition("\n")
    return " ".join(subject.split()), body.strip() + "\n"


@transaction.atomic
def _thank_customer(*, customer_id: int, invoice_ids: list[int], as_of: date) -> tuple[str, list]:
    customer = customer_lock(pk=customer_id)
    thanked = _thanked_invoice_ids(customer_ids=[customer_id])
    candidates = [
        invoice
        for invoice in Invoice.objects.filter(pk__in=invoice_ids, status=Invoice.Status.PAID)
        .annotate(
            paid_on=Max(
                "allocations__payment__payment_date",
                filter=Q(allocations__payment__status=Payment.Status.POSTED),
            )
        )
        .order_by("due_date", "number")
        if invoice.pk not in thanked
    ]
    open_amounts = invoices_open_amounts_on(invoices=candidates, as_of=as_of)
    invoices = [invoice for invoice in candidates if open_amounts[invoice.pk] == 0]
    if not invoices:
        return "none", []
    contact = _finance_contact(customer)
    if contact is None:
        return "no_contact", invoices
    subject, body = thank_you_render(customer=customer, contact=contact, invoices=invoices)
    case = case_latest_get(customer=customer)
    for invoice in invoices:
        case_event_create(
            customer=customer,
            case=case,
            kind=CaseEvent.Kind.THANK_YOU_SENT,
            data={
                "invoice": invoice.pk,
                "number": invoice.number,
                "recipient": contact.email,
                "paid_on": invoice.paid_on.isoformat(),
            },
        )
    # Sent inside the transaction on purpose: if the mail server refuses it,
    # the events roll back and tomorrow's run tries again (a thank-you may at
    # worst repeat when the commit itself fails, never silently go missing).
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
        reply_to=[customer.sales_rep.email] if customer.sales_rep.email else None,
    ).send()
    return "sent", invoices


def dunning_thank_you_for_paid(
    *, as_of: date, customer_ids: list[int] | None = None
) -> ThankYouResult:
    """Thank each customer's finance contact once for every dunned invoice now paid in full.

    The daily review thanks every customer; a payment thanks its own customers
    right after it commits (`dunning.services.follow`).
    """
    result = ThankYouResult()
    for customer_id, invoices in invoices_to_thank(as_of=as_of, customer_ids=customer_ids).items():
        try:
            outcome, done = _thank_customer(
                customer_id=customer_id,
                invoice_ids=[invoice.pk for invoice in invoices],
                as_of=as_of,
            )
        except Exception:
            logger.exception("thank-you for customer %s failed", customer_id)
            result.failed.extend(invoice.number for invoice in invoices)
            continue
        if outcome == "sent":
            result.sent.extend(invoice.number for invoice in done)
        elif outcome == "no_contact":
            result.no_contact.extend(invoice.number for invoice in done)
    return result
