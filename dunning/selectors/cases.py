"""Reads for the collection screens: cases, timelines, approval queues, scoped look-ups."""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Count,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import customer_oldest_overdue_due, customer_overdue_amount
from core.scoping import get_in_scope_or_404, scope_for_user
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    Dispute,
    PromiseToPay,
)
from dunning.policy import policy_tolerance_expression
from receivables.models import Customer, Invoice

User = AbstractBaseUser | AnonymousUser


# --- Cases and timeline ------------------------------------------------------


def collection_case_list(
    *, user: User, as_of: date, status: str | None = CollectionCase.Status.OPEN
) -> QuerySet[CollectionCase]:
    """Cases the user may see, with what the customer owes past due and since when (an
    approved plan's instalments rather than the invoices it replaced)."""
    tolerance = policy_tolerance_expression()
    open_tasks = CollectionTask.objects.filter(
        customer=OuterRef("customer"), status=CollectionTask.Status.OPEN
    ).order_by()
    cases = CollectionCase.objects.select_related("customer", "owner").annotate(
        overdue_total=customer_overdue_amount(as_of=as_of, tolerance=tolerance, ref="customer"),
        oldest_due=customer_oldest_overdue_due(as_of=as_of, tolerance=tolerance, ref="customer"),
        open_task_count=Coalesce(
            Subquery(open_tasks.values("customer").annotate(n=Count("pk")).values("n")[:1]),
            Value(0),
        ),
    )
    if status:
        cases = cases.filter(status=status)
    return scope_for_user(cases, user).order_by("status", "oldest_due", "pk")


def collection_case_get(*, user: User, pk: int) -> CollectionCase:
    """One case the user may see, or the 404 a missing one answers."""
    return get_in_scope_or_404(
        CollectionCase.objects.select_related("customer", "owner", "customer__sales_rep"),
        user,
        pk=pk,
    )


def customer_open_case_relation() -> FilteredRelation:
    """A customer's open case as a relation to annotate and `select_related` (at most one:
    the model's constraint), so a customer query brings its open case along."""
    return FilteredRelation(
        "collection_cases", condition=Q(collection_cases__status=CollectionCase.Status.OPEN)
    )


def collection_case_open_for_customer(*, customer: Customer) -> CollectionCase | None:
    """The customer's open case, if any."""
    return CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).first()


def customer_timeline(*, customer: Customer, limit: int = 200) -> list[CaseEvent]:
    """The customer's collection events, newest first, with their actors."""
    return list(
        CaseEvent.objects.filter(customer=customer)
        .select_related("actor", "case")
        .order_by("-created_at", "-pk")[:limit]
    )


def case_task_list_open(*, customer: Customer) -> QuerySet[CollectionTask]:
    """The customer's open collection tasks, soonest first."""
    return (
        CollectionTask.objects.filter(customer=customer, status=CollectionTask.Status.OPEN)
        .select_related("assignee")
        .order_by("due_date", "pk")
    )


def customer_dispute_list(*, customer: Customer) -> QuerySet[Dispute]:
    """The customer's disputes with their invoices, open first."""
    return (
        Dispute.objects.filter(customer=customer)
        .select_related("opened_by", "resolved_by")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
    )


def customer_promise_list(*, customer: Customer) -> QuerySet[PromiseToPay]:
    """The customer's promises to pay with their invoices, open first."""
    return (
        PromiseToPay.objects.filter(customer=customer)
        .select_related("recorded_by")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
    )


def customer_agreement_list(*, customer: Customer) -> QuerySet[SupplementaryAgreement]:
    """The customer's supplementary agreements with instalments and replaced invoices."""
    return _agreements_with_details(SupplementaryAgreement.objects.filter(customer=customer))


def customer_communication_list(*, customer: Customer, limit: int = 50) -> list[Communication]:
    """The customer's latest dunning messages (letters among them), newest first."""
    return list(
        Communication.objects.filter(customer=customer)
        .select_related("approved_by")
        .order_by("-business_date", "-pk")[:limit]
    )


def communication_get(*, user: User, pk: int) -> Communication:
    """One communication the user may see, or 404."""
    return get_in_scope_or_404(
        Communication.objects.select_related("customer", "customer__sales_rep", "approved_by"),
        user,
        pk=pk,
    )


# --- Queues ------------------------------------------------------------------


def letter_list_awaiting_approval() -> QuerySet[Communication]:
    """Messages (demand letters above all) waiting for finance approval, oldest first."""
    return (
        Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL)
        .select_related("customer", "customer__sales_rep")
        .order_by("business_date", "pk")
    )


def _agreements_with_details(
    queryset: QuerySet[SupplementaryAgreement],
) -> QuerySet[SupplementaryAgreement]:
    return queryset.select_related(
        "customer", "customer__sales_rep", "contract", "proposed_by", "decided_by"
    ).prefetch_related(
        Prefetch("instalments", queryset=AgreementInstalment.objects.order_by("sequence")),
        Prefetch("invoices", queryset=Invoice.objects.order_by("due_date", "number")),
    )


def agreement_list_pending() -> QuerySet[SupplementaryAgreement]:
    """Supplementary agreements proposed and waiting for a manager, oldest first."""
    return _agreements_with_details(
        SupplementaryAgreement.objects.filter(status=SupplementaryAgreement.Status.PROPOSED)
    ).order_by("created_at", "pk")


def agreement_get(*, user: User, pk: int) -> SupplementaryAgreement:
    """One agreement the user may see, or 404."""
    return get_in_scope_or_404(
        _agreements_with_details(SupplementaryAgreement.objects.all()), user, pk=pk
    )


def dispute_list_open() -> QuerySet[Dispute]:
    """Open disputes waiting for finance to resolve them, oldest first."""
    return (
        Dispute.objects.filter(status=Dispute.Status.OPEN)
        .select_related("customer", "customer__sales_rep", "opened_by")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
        .order_by("opened_on", "pk")
    )


def dispute_get(*, user: User, pk: int) -> Dispute:
    """One dispute the user may see, or 404."""
    return get_in_scope_or_404(
        Dispute.objects.select_related(
            "customer", "customer__sales_rep", "opened_by"
        ).prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number"))),
        user,
        pk=pk,
    )


def customer_get(*, user: User, pk: int) -> Customer:
    """One customer the user may see, or 404."""
    return get_in_scope_or_404(Customer.objects.select_related("sales_rep"), user, pk=pk)
