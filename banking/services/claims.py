"""Claims (认领): a rep says an unmatched receipt is one of their customers'; finance decides.

The claimer never decides their own claim; a receipt has at most one pending claim
(a partial unique index), and claim, confirm and reject each lock the receipt first.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banking.models import BankReceipt, ReceiptClaim
from banking.services.receipts import receipt_apply, receipt_lock
from core.exceptions import BusinessRuleError
from core.money import money_str
from dunning.models import CaseEvent
from dunning.services.events import case_event_create
from receivables.models import Customer, Invoice

Status = BankReceipt.Status


def _claim_event(*, claim: ReceiptClaim, kind: str, actor: AbstractBaseUser, **data) -> None:
    receipt = claim.receipt
    case_event_create(
        customer=claim.customer,
        kind=kind,
        actor=actor,
        data={
            "receipt_id": receipt.pk,
            "transaction_id": receipt.transaction_id,
            "date": receipt.date.isoformat(),
            "amount": money_str(receipt.amount),
            "currency": receipt.currency,
            "claim_id": claim.pk,
            **data,
        },
    )


@transaction.atomic
def receipt_claim(
    *,
    receipt: BankReceipt,
    customer: Customer,
    invoice_ids: Sequence[int],
    actor: AbstractBaseUser,
) -> ReceiptClaim:
    """Claim an unmatched receipt for one of the actor's own customers, with the invoices it
    pays. A receipt already claimed, applied or dismissed cannot be claimed."""
    receipt = receipt_lock(receipt_id=receipt.pk)
    if receipt.status != Status.UNMATCHED:
        raise BusinessRuleError(_("This receipt is no longer open to claims."))
    if customer.sales_rep_id != actor.pk:
        raise BusinessRuleError(_("You can claim receipts only for your own customers."))
    invoices = list(
        Invoice.objects.filter(
            pk__in=set(invoice_ids), customer=customer, status=Invoice.Status.OPEN
        ).order_by("due_date", "number")
    )
    if len(invoices) != len(set(invoice_ids)):
        raise BusinessRuleError(_("Choose open invoices of the customer."))
    claim = ReceiptClaim.objects.create(receipt=receipt, customer=customer, claimed_by=actor)
    claim.invoices.set(invoices)
    receipt.status = Status.CLAIMED
    receipt.save(update_fields=["status"])
    _claim_event(
        claim=claim,
        kind=CaseEvent.Kind.RECEIPT_CLAIMED,
        actor=actor,
        invoices=[invoice.number for invoice in invoices],
    )
    return claim


def _pending(claim: ReceiptClaim, actor: AbstractBaseUser) -> ReceiptClaim:
    receipt_lock(receipt_id=claim.receipt_id)
    claim = (
        ReceiptClaim.objects.select_for_update()
        .select_related("receipt", "customer")
        .get(pk=claim.pk)
    )
    if claim.status != ReceiptClaim.Status.PENDING:
        raise BusinessRuleError(_("This claim is already decided."))
    if claim.claimed_by_id == actor.pk:
        raise BusinessRuleError(_("You cannot decide your own claim."))
    return claim


@transaction.atomic
def receipt_claim_confirm(*, claim: ReceiptClaim, actor: AbstractBaseUser) -> ReceiptClaim:
    """Confirm a claim: the receipt is applied to the claimed invoices (the rest is credit)
    and the payer is recorded on the customer."""
    claim = _pending(claim, actor)
    claim.status = ReceiptClaim.Status.CONFIRMED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.save(update_fields=["status", "decided_by", "decided_at"])
    receipt_apply(
        receipt=claim.receipt,
        customer=claim.customer,
        actor=actor,
        invoice_ids=list(claim.invoices.values_list("pk", flat=True)) or None,
    )
    return claim


@transaction.atomic
def receipt_claim_reject(
    *, claim: ReceiptClaim, actor: AbstractBaseUser, reason: str = ""
) -> ReceiptClaim:
    """Reject a claim: the receipt is unmatched again and open to claims."""
    claim = _pending(claim, actor)
    claim.status = ReceiptClaim.Status.REJECTED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.reason = (reason or "").strip()[:200]
    claim.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    receipt = claim.receipt
    BankReceipt.objects.filter(pk=receipt.pk, status=Status.CLAIMED).update(status=Status.UNMATCHED)
    _claim_event(
        claim=claim, kind=CaseEvent.Kind.RECEIPT_CLAIM_REJECTED, actor=actor, reason=claim.reason
    )
    return claim
