"""Disputes: the customer contests invoices; dunning of those items waits for finance.

An open dispute pauses the ladder for its invoices only (the run checks
`Dispute.Status.OPEN`). Finance resolves it as valid, crediting what the
customer rightly contested (`credit_note_issue`) or noting the corrected
invoice, or rejects it with the evidence, after which the ladder resumes.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionCase, Dispute
from dunning.services.cases import (
    case_open_get,
    case_reason_suggest,
    clean_note,
    ensure_finance,
    ensure_may_work_customer,
)
from dunning.services.events import case_event_create
from receivables.models import CreditNote, Customer, Invoice
from receivables.services.customers import customer_lock
from receivables.services.invoices import credit_note_issue, invoices_lock, money_positive


def _invoices_validate(*, customer: Customer, invoices: Sequence[Invoice]) -> list[Invoice]:
    if not invoices:
        raise BusinessRuleError(_("Choose the invoices the customer disputes."), field="invoices")
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise BusinessRuleError(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number},
                field="invoices",
            )
    locked = invoices_lock(invoice_ids=[invoice.pk for invoice in invoices])
    for invoice in locked.values():
        if invoice.status != Invoice.Status.OPEN:
            raise BusinessRuleError(
                _("Invoice %(number)s is %(status)s: nothing left to dispute.")
                % {"number": invoice.number, "status": invoice.get_status_display().lower()},
                field="invoices",
            )
    already = (
        Dispute.invoices.through.objects.filter(
            invoice_id__in=list(locked), dispute__status=Dispute.Status.OPEN
        )
        .select_related("invoice")
        .first()
    )
    if already is not None:
        raise BusinessRuleError(
            _("Invoice %(number)s is already in an open dispute.")
            % {"number": already.invoice.number},
            field="invoices",
        )
    return [locked[pk] for pk in sorted(locked)]


@transaction.atomic
def dispute_open(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    reason: str,
    actor: AbstractBaseUser | None,
    as_of: date,
) -> Dispute:
    """Record that the customer contests these invoices: their dunning pauses until resolved.

    `actor` None is the customer itself, through its portal link (the caller
    checked the link); a user must be allowed to work the customer.
    """
    if actor is not None:
        ensure_may_work_customer(actor=actor, customer=customer)
    reason = clean_note(
        reason, field="reason", required=True, message=_("Say what the customer disputes.")
    )
    customer = customer_lock(pk=customer.pk)
    invoices = _invoices_validate(customer=customer, invoices=invoices)
    case = case_open_get(customer=customer)
    dispute = Dispute.objects.create(
        customer=customer,
        case=case,
        reason=reason,
        opened_on=as_of,
        opened_by=actor,
    )
    dispute.invoices.set(invoices)
    numbers = [invoice.number for invoice in invoices]
    case_event_create(
        customer=customer,
        case=case,
        kind=CaseEvent.Kind.DISPUTE_OPENED,
        actor=actor,
        data={"dispute": dispute.pk, "invoices": numbers, TYPED_KEY: reason},
    )
    domain_events_announce(
        events=[
            DomainEvent(
                type=EventType.DISPUTE_OPENED,
                params={
                    "dispute_id": dispute.pk,
                    "customer_code": customer.code,
                    "invoices": numbers,
                    "opened_on": as_of.isoformat(),
                },
                customer_id=customer.pk,
            )
        ]
    )
    case_reason_suggest(case=case, reason=CollectionCase.OverdueReason.DISPUTE, actor=actor)
    return dispute


def _dispute_lock(*, dispute: Dispute) -> Dispute:
    customer_lock(pk=dispute.customer_id)
    locked = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("customer", "case")
        .get(pk=dispute.pk)
    )
    if locked.status != Dispute.Status.OPEN:
        raise BusinessRuleError(_("This dispute is already resolved."))
    return locked


def _case_for(dispute: Dispute) -> CollectionCase | None:
    if dispute.case is not None and dispute.case.status == CollectionCase.Status.OPEN:
        return dispute.case
    return case_open_get(customer=dispute.customer)


@transaction.atomic
def dispute_resolve_valid(
    *,
    dispute: Dispute,
    note: str,
    credits: Sequence[tuple[Invoice, Decimal]] = (),
    credit_note_number: str = "",
    actor: AbstractBaseUser,
    as_of: date,
) -> Dispute:
    """Finance accepts the dispute: credit what was rightly contested, or note the correction.

    Each (invoice, amount) in `credits` becomes a credit note numbered
    `credit_note_number` (with `-2`, `-3`… for further invoices). Without
    credits the note must say how the invoice was corrected.
    """
    ensure_finance(actor=actor, action=_("resolve disputes"))
    note = clean_note(
        note, field="note", required=True, message=_("Say how the dispute was settled.")
    )
    dispute = _dispute_lock(dispute=dispute)
    disputed = {invoice.pk: invoice for invoice in dispute.invoices.all()}
    credits = [(invoice, amount) for invoice, amount in credits if amount]
    number = (credit_note_number or "").strip()
    if credits and not number:
        raise BusinessRuleError(_("Give the credit note a number."), field="credit_note_number")
    seen: set[int] = set()
    for invoice, _amount in credits:
        if invoice.pk not in disputed:
            raise BusinessRuleError(
                _("Invoice %(number)s is not part of this dispute.") % {"number": invoice.number},
                field="credits",
            )
        if invoice.pk in seen:
            raise BusinessRuleError(
                _("Invoice %(number)s is credited twice.") % {"number": invoice.number},
                field="credits",
            )
        seen.add(invoice.pk)
    issued: list[CreditNote] = []
    for position, (invoice, amount) in enumerate(
        sorted(credits, key=lambda pair: pair[0].pk), start=1
    ):
        issued.append(
            credit_note_issue(
                invoice=invoice,
                number=number if position == 1 else f"{number}-{position}",
                amount=money_positive(amount),
                issue_date=as_of,
                reason=note,  # what finance typed; the dispute's timeline row says the rest
                actor=actor,
            )
        )
    dispute.status = Dispute.Status.VALID
    dispute.resolution_note = note
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
    case_event_create(
        customer=dispute.customer,
        case=_case_for(dispute),
        kind=CaseEvent.Kind.DISPUTE_RESOLVED,
        actor=actor,
        data={
            "dispute": dispute.pk,
            "outcome": Dispute.Status.VALID,
            "credit_notes": [credit.number for credit in issued],
            TYPED_KEY: note,
        },
    )
    return dispute


@transaction.atomic
def dispute_reject(
    *, dispute: Dispute, evidence: str, actor: AbstractBaseUser, as_of: date
) -> Dispute:
    """Finance rejects the dispute with the evidence; the ladder resumes for its invoices."""
    ensure_finance(actor=actor, action=_("resolve disputes"))
    evidence = clean_note(
        evidence,
        field="evidence",
        required=True,
        message=_("Note the evidence that the invoices stand (delivery proof, acceptance)."),
    )
    dispute = _dispute_lock(dispute=dispute)
    dispute.status = Dispute.Status.REJECTED
    dispute.resolution_note = evidence
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
    case_event_create(
        customer=dispute.customer,
        case=_case_for(dispute),
        kind=CaseEvent.Kind.DISPUTE_RESOLVED,
        actor=actor,
        data={
            "dispute": dispute.pk,
            "outcome": Dispute.Status.REJECTED,
            TYPED_KEY: evidence,
            "as_of": as_of.isoformat(),
        },
    )
    return dispute
