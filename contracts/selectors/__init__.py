"""Reads for contracts: lists, one contract with its schedule, proofs, history."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services.milestones import milestone_shares
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404, scope_for_user
from receivables.models import Customer

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class MilestoneRow:
    """A milestone with its exact amount, as the contract page shows it."""

    milestone: PaymentMilestone
    amount: Decimal

    @property
    def is_triggered(self) -> bool:
        return self.milestone.due_date is not None

    @property
    def has_live_invoice(self) -> bool:
        invoice = self.milestone.invoice
        return invoice is not None and invoice.status != invoice.Status.CANCELLED


def contract_list(
    *, user: User, status: str = "", customer_id: int | None = None, query: str = ""
) -> QuerySet[Contract]:
    """List the contracts the user may see, newest first, optionally filtered."""
    contracts = scope_for_user(
        Contract.objects.select_related("customer", "customer__sales_rep").annotate(
            milestone_count=Count("milestones")
        ),
        user,
    )
    if status in Contract.Status.values:
        contracts = contracts.filter(status=status)
    if customer_id is not None:
        contracts = contracts.filter(customer_id=customer_id)
    query = query.strip()
    if query:
        contracts = contracts.filter(
            Q(number__icontains=query)
            | Q(title__icontains=query)
            | Q(customer__name__icontains=query)
            | Q(customer__code__icontains=query)
        )
    return contracts


def contract_get(*, user: User, pk: int) -> Contract:
    """One contract the user may see, with its milestones, invoices and records; else 404."""
    return get_in_scope_or_404(
        Contract.objects.select_related(
            "customer",
            "customer__sales_rep",
            "reviewed_by",
            "terms_approved_by",
            "created_by",
        ).prefetch_related(
            Prefetch(
                "milestones",
                queryset=PaymentMilestone.objects.select_related("invoice").order_by("sequence"),
            ),
            Prefetch(
                "delivery_records",
                queryset=DeliveryRecord.objects.select_related("recorded_by").order_by(
                    "occurred_on", "pk"
                ),
            ),
        ),
        user,
        pk=pk,
    )


def contract_milestone_rows(*, contract: Contract) -> list[MilestoneRow]:
    """The contract's milestones in order, each with its exact share of the amount."""
    milestones = sorted(contract.milestones.all(), key=lambda milestone: milestone.sequence)
    shares = milestone_shares(
        amount=contract.amount, percents=[milestone.percent for milestone in milestones]
    )
    return [
        MilestoneRow(milestone=milestone, amount=share)
        for milestone, share in zip(milestones, shares, strict=True)
    ]


# The services record these change reasons; the page shows them translated.
HISTORY_LABELS = {
    "created": _("Drafted"),
    "draft changed": _("Draft changed"),
    "submitted for review": _("Submitted for review"),
    "longer terms approved": _("Longer terms approved"),
    "longer-terms approval voided by a change of terms": _(
        "Longer-terms approval voided by a change of terms"
    ),
    "approved by finance": _("Approved by finance"),
    "returned to draft": _("Sent back to draft"),
    "activated": _("Activated"),
    "closed": _("Closed"),
}


@dataclass(frozen=True)
class HistoryRow:
    when: datetime
    user: AbstractBaseUser | None
    label: str
    status: str


def contract_history(*, contract: Contract, limit: int = 50) -> list[HistoryRow]:
    """The contract's recorded changes, newest first, with who made them and why."""
    entries = contract.history.select_related("history_user").order_by("-history_date", "-pk")
    return [
        HistoryRow(
            when=entry.history_date,
            user=entry.history_user,
            label=str(
                HISTORY_LABELS.get(entry.history_change_reason or "")
                or entry.history_change_reason
                or entry.get_history_type_display()
            ),
            status=Contract.Status(entry.status).label,
        )
        for entry in entries[:limit]
    ]


def milestone_get(*, user: User, pk: int) -> PaymentMilestone:
    """One milestone the user may see, with its contract and invoice; else 404."""
    return get_in_scope_or_404(
        PaymentMilestone.objects.select_related("contract", "contract__customer", "invoice"),
        user,
        pk=pk,
    )


def delivery_record_get(*, user: User, pk: int) -> DeliveryRecord:
    """One delivery record the user may see; else 404 (proofs are served through this)."""
    return get_in_scope_or_404(
        DeliveryRecord.objects.select_related("contract", "contract__customer"), user, pk=pk
    )


def customer_list_for_drafting(*, user: User) -> QuerySet[Customer]:
    """The customers the user may draft contracts for: all for finance, own for a rep."""
    if has_role(user, Role.FINANCE):
        return Customer.objects.order_by("name")
    if has_role(user, Role.SALES_REP):
        return Customer.objects.filter(sales_rep=user).order_by("name")
    return Customer.objects.none()


def contract_next_invoice_number(*, milestone: PaymentMilestone) -> str:
    """A suggested invoice number for a milestone: the contract number and its sequence."""
    return f"{milestone.contract.number}-{milestone.sequence:02d}"


def contract_count_by_status(*, user: User) -> dict[str, int]:
    """How many contracts of each status the user may see."""
    rows = (
        scope_for_user(Contract.objects.all(), user)
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return dict(rows)
