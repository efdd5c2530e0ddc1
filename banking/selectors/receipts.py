"""Reads of bank receipts: finance's reconciliation queue, the reps' claim list, imports."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from banking.models import BankAccount, BankReceipt, ColumnProfile, ReceiptClaim
from core.scoping import sees_all_customers
from receivables.models import Customer

Status = BankReceipt.Status
QUEUE_STATUSES = (Status.UNMATCHED, Status.SUGGESTED, Status.CLAIMED)


def bank_account_list() -> QuerySet[BankAccount]:
    """Our bank accounts by code."""
    return BankAccount.objects.order_by("code")


def column_profile_names() -> list[str]:
    """Names of the saved column profiles."""
    return list(ColumnProfile.objects.order_by("name").values_list("name", flat=True))


def receipt_queue(*, status: str | None = None) -> QuerySet[BankReceipt]:
    """Receipts waiting for finance (unmatched, suggested, claimed), oldest first, with the
    suggested customer and the pending claim."""
    statuses = [status] if status in QUEUE_STATUSES else list(QUEUE_STATUSES)
    pending = ReceiptClaim.objects.filter(status=ReceiptClaim.Status.PENDING).select_related(
        "customer", "claimed_by"
    )
    return (
        BankReceipt.objects.filter(status__in=statuses)
        .select_related("bank_account", "customer")
        .prefetch_related(Prefetch("claims", queryset=pending, to_attr="pending_claims"))
        .order_by("date", "pk")
    )


def receipt_suggestion_customers(*, receipts: list[BankReceipt]) -> dict[int, Customer]:
    """The customers the receipts' suggestions name (one query for a page)."""
    ids = {
        candidate.get("customer_id")
        for receipt in receipts
        for candidate in receipt.suggestions or []
    }
    ids.discard(None)
    return Customer.objects.only("pk", "code", "name").in_bulk(ids)


def receipt_get_in_queue(*, pk: int) -> BankReceipt:
    """A receipt finance may decide on (404 otherwise)."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(BankReceipt.objects.select_related("customer"), pk=pk)


def receipt_list_claimable() -> QuerySet:
    """Unmatched receipts offered to reps: date, amount, payer name and memo only (never a
    customer, a suggestion or anyone's claim)."""
    return (
        BankReceipt.objects.filter(status=Status.UNMATCHED)
        .order_by("-date", "-pk")
        .values("pk", "date", "amount", "currency", "payer_name", "memo")
    )


def receipt_claimable_get(*, pk: int, user: AbstractBaseUser) -> dict:
    """One receipt's public fields for the claim page: a rep reaches only the unmatched
    receipts offered to claims (404 otherwise); finance and managers reach any."""
    from django.http import Http404

    queryset = BankReceipt.objects.all() if sees_all_customers(user) else receipt_list_claimable()
    row = (
        queryset.filter(pk=pk)
        .values("pk", "date", "amount", "currency", "payer_name", "memo")
        .first()
    )
    if row is None:
        raise Http404
    return row


def claim_list_for_user(*, user: AbstractBaseUser) -> QuerySet[ReceiptClaim]:
    """The user's own claims, newest first."""
    return (
        ReceiptClaim.objects.filter(claimed_by=user)
        .select_related("receipt", "customer")
        .order_by("-claimed_at", "-pk")
    )


def claim_list_pending() -> QuerySet[ReceiptClaim]:
    """Claims waiting for finance, oldest first, with their invoices."""
    return (
        ReceiptClaim.objects.filter(status=ReceiptClaim.Status.PENDING)
        .select_related("receipt", "customer", "claimed_by")
        .prefetch_related("invoices")
        .order_by("claimed_at", "pk")
    )
