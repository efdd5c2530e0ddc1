"""The rep's morning: their customers with balances and case state, and today's tasks.

Every list is scoped to the user (a sales rep sees only their customers) and
bounded: a task list returns its first rows and its full count, whatever the
size of the book.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import (
    customer_oldest_overdue_due,
    customer_overdue_amount,
    instalments_overdue,
    invoice_replaced,
)
from core.scoping import scope_for_user
from dashboards.selectors.common import MONEY_FIELD, ZERO, User, cents
from dashboards.selectors.kpis import customer_rung
from dunning.models import CollectionCase, CollectionTask, Dispute, PromiseToPay
from dunning.policy import policy_active_or_default, policy_tolerance_expression, pre_due_q
from receivables.models import Contact, Customer, Invoice
from receivables.selectors.balances import invoices_open_today, overdue_q
from receivables.selectors.customers import scoped_by_customer_keys

TASK_ROWS = 8
# "Show all" of one list: enough for any rep's day, still a bounded page.
TASK_ROWS_ALL = 500
PROMISE_LOOKAHEAD_DAYS = 3
# Call-like tasks a rep works from the worklist; escalations and legal go to managers.
REP_TASK_KINDS = (
    CollectionTask.Kind.CALL,
    CollectionTask.Kind.FOLLOW_UP,
    CollectionTask.Kind.PROMISE_DUE,
    CollectionTask.Kind.DELIVERY_FAILED,
)


def customer_worklist(*, user: User, as_of: date) -> QuerySet[Customer]:
    """The user's customers with `balance` (open, in the customer's currency),
    `overdue`, `oldest_overdue_due`, `case_id`, `case_reason`, `rung` and
    `has_finance_contact`, computed in one query."""
    open_invoices = invoices_open_today(
        Invoice.objects.filter(customer=OuterRef("pk"), currency=OuterRef("currency"))
    )
    tolerance = policy_tolerance_expression()

    def total(queryset: QuerySet) -> Subquery:
        return Subquery(
            queryset.order_by()
            .values("customer")
            .annotate(total=Sum("outstanding"))
            .values("total")[:1],
            output_field=MONEY_FIELD,
        )

    open_case = CollectionCase.objects.filter(
        customer=OuterRef("pk"), status=CollectionCase.Status.OPEN
    )
    return scope_for_user(
        Customer.objects.select_related("sales_rep").annotate(
            balance=Coalesce(total(open_invoices), ZERO),
            overdue=customer_overdue_amount(as_of=as_of, tolerance=tolerance),
            oldest_overdue_due=customer_oldest_overdue_due(as_of=as_of, tolerance=tolerance),
            case_id=Subquery(open_case.values("pk")[:1]),
            case_reason=Subquery(open_case.values("overdue_reason")[:1]),
            rung=customer_rung(as_of=as_of),
            has_finance_contact=Exists(
                Contact.objects.filter(customer=OuterRef("pk"), role=Contact.Role.FINANCE)
            ),
        ),
        user,
    )


# --- Today's tasks -------------------------------------------------------------


@dataclass
class TaskList:
    """One kind of task: its first rows and how many there are in all."""

    key: str
    title: str
    hint: str
    rows: list = field(default_factory=list)
    count: int = 0


def _bounded(key: str, title, hint, queryset: QuerySet, *, limit: int) -> TaskList:
    rows = list(queryset[: limit + 1])
    count = len(rows) if len(rows) <= limit else queryset.count()
    return TaskList(key=key, title=str(title), hint=str(hint), rows=rows[:limit], count=count)


def task_calls(*, user: User, as_of: date) -> QuerySet[CollectionTask]:
    """Open calls and follow-ups due by today on the user's customers, assigned to them or to
    nobody, oldest first."""
    return (
        scope_for_user(CollectionTask.objects.all(), user)
        .filter(status=CollectionTask.Status.OPEN, kind__in=REP_TASK_KINDS, due_date__lte=as_of)
        .filter(Q(assignee=user) | Q(assignee__isnull=True))
        .select_related("customer", "case", "communication")
        .order_by("due_date", "pk")
    )


def task_promises_due(*, user: User, as_of: date) -> QuerySet[PromiseToPay]:
    """Open promises to pay falling due within a few days, or already past, soonest first."""
    return (
        scope_for_user(PromiseToPay.objects.all(), user)
        .filter(
            status=PromiseToPay.Status.OPEN,
            promised_date__lte=as_of + timedelta(days=PROMISE_LOOKAHEAD_DAYS),
        )
        .select_related("customer", "case")
        .order_by("promised_date", "pk")
    )


def task_disputes(*, user: User) -> QuerySet[Dispute]:
    """Open disputes on the user's customers, oldest first."""
    return (
        scope_for_user(Dispute.objects.all(), user)
        .filter(status=Dispute.Status.OPEN)
        .select_related("customer")
        .annotate(invoice_count=Count("invoices"))
        .order_by("opened_on", "pk")
    )


def task_missing_proof(*, user: User, as_of: date) -> QuerySet[Invoice]:
    """Open invoices without proof of delivery or without confirmation of receipt, due first."""
    return (
        scoped_by_customer_keys(Invoice.objects.all(), user=user)
        .filter(status=Invoice.Status.OPEN, issue_date__lte=as_of)
        .filter(Q(delivered_at__isnull=True) | Q(receipt_confirmed_at__isnull=True))
        .select_related("customer")
        .order_by("due_date", "number")
    )


def task_no_finance_contact(*, user: User) -> QuerySet[Customer]:
    """Customers without a finance contact: reminders have nowhere to go."""
    return (
        scope_for_user(Customer.objects.all(), user)
        .exclude(Exists(Contact.objects.filter(customer=OuterRef("pk"), role=Contact.Role.FINANCE)))
        .order_by("name", "pk")
    )


def task_pre_due(*, user: User, as_of: date) -> QuerySet[Invoice]:
    """Open invoices in the pre-due window (not yet due): confirm the payment is scheduled."""
    policy = policy_active_or_default()
    return (
        invoices_open_today(scope_for_user(Invoice.objects.all(), user))
        .filter(pre_due_q(as_of=as_of, policy=policy), outstanding__gte=policy.tolerance)
        .select_related("customer")
        .order_by("due_date", "number")
    )


def task_reason_unknown(*, user: User) -> QuerySet[CollectionCase]:
    """Open cases whose overdue reason is not known yet: ask the customer why."""
    return (
        scope_for_user(CollectionCase.objects.all(), user)
        .filter(
            status=CollectionCase.Status.OPEN,
            overdue_reason=CollectionCase.OverdueReason.UNKNOWN,
        )
        .select_related("customer")
        .order_by("opened_on", "pk")
    )


def task_plan_needed(*, user: User) -> QuerySet[CollectionCase]:
    """Open cash-flow cases with no instalment plan proposed or approved yet."""
    live_plans = SupplementaryAgreement.objects.filter(
        customer=OuterRef("customer"),
        status__in=[
            SupplementaryAgreement.Status.PROPOSED,
            SupplementaryAgreement.Status.APPROVED,
        ],
    )
    return (
        scope_for_user(CollectionCase.objects.all(), user)
        .filter(
            status=CollectionCase.Status.OPEN,
            overdue_reason=CollectionCase.OverdueReason.CASH_FLOW,
        )
        .exclude(Exists(live_plans))
        .select_related("customer")
        .order_by("opened_on", "pk")
    )


def todays_tasks(
    *, user: User, as_of: date, limit: int = TASK_ROWS, expand: str = ""
) -> list[TaskList]:
    """Today's task lists for the user, in the order a rep works them; the list named by
    `expand` shows all its rows (up to TASK_ROWS_ALL), the others their first `limit`."""
    return [
        _bounded(key, title, hint, queryset, limit=TASK_ROWS_ALL if key == expand else limit)
        for key, title, hint, queryset in _task_lists(user=user, as_of=as_of)
    ]


def _task_lists(*, user: User, as_of: date) -> list[tuple[str, object, object, QuerySet]]:
    return [
        (
            "calls",
            _("Calls to make"),
            _("Phone-call and follow-up tasks of the ladder and the cases, due by today."),
            task_calls(user=user, as_of=as_of),
        ),
        (
            "promises",
            _("Promises falling due"),
            _("Check the money arrived; record the outcome."),
            task_promises_due(user=user, as_of=as_of),
        ),
        (
            "reasons",
            _("Overdue reason to find out"),
            _("Ask the customer why they are late and record the reason."),
            task_reason_unknown(user=user),
        ),
        (
            "plans",
            _("Instalment plans to propose"),
            _("The customer has cash-flow trouble: propose an instalment plan or extension."),
            task_plan_needed(user=user),
        ),
        (
            "disputes",
            _("Disputes waiting"),
            _("Dunning of the disputed invoices is paused until the dispute is resolved."),
            task_disputes(user=user),
        ),
        (
            "pre_due",
            _("Pre-due confirmations"),
            _("Invoices falling due soon: confirm with the customer that payment is scheduled."),
            task_pre_due(user=user, as_of=as_of),
        ),
        (
            "proof",
            _("Invoices without proof of delivery or receipt"),
            _("A demand letter needs proof the invoice reached the customer."),
            task_missing_proof(user=user, as_of=as_of),
        ),
        (
            "contacts",
            _("Customers without a finance contact"),
            _("Reminders go to the finance contact: add one."),
            task_no_finance_contact(user=user),
        ),
    ]


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    open: Decimal
    overdue: Decimal
    due_soon: Decimal
    promised: Decimal


def rep_totals(*, user: User, as_of: date, due_within_days: int = 7) -> list[CurrencyTotals]:
    """Open, overdue (invoices and instalments of approved plans), due within the days and
    promised, per currency (three queries)."""
    soon = as_of + timedelta(days=due_within_days)
    tolerance = policy_tolerance_expression()
    rows = (
        invoices_open_today(scoped_by_customer_keys(Invoice.objects.all(), user=user))
        .annotate(replaced=invoice_replaced())
        .order_by()
        .values("currency")
        .annotate(
            open=Sum("outstanding"),
            overdue=Sum(
                "outstanding",
                filter=overdue_q(as_of=as_of, tolerance=tolerance) & Q(replaced=False),
            ),
            due_soon=Sum("outstanding", filter=Q(due_date__gte=as_of, due_date__lte=soon)),
        )
    )
    instalments = dict(
        instalments_overdue(
            as_of=as_of,
            tolerance=tolerance,
            queryset=scope_for_user(AgreementInstalment.objects.all(), user),
        )
        .order_by()
        .values("currency_value")
        .annotate(total=Sum("open_amount"))
        .values_list("currency_value", "total")
    )
    promised = dict(
        scope_for_user(PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN), user)
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"))
        .values_list("currency", "total")
    )
    totals = {
        row["currency"]: CurrencyTotals(
            currency=row["currency"],
            open=cents(row["open"]),
            overdue=cents(cents(row["overdue"]) + cents(instalments.get(row["currency"]))),
            due_soon=cents(row["due_soon"]),
            promised=cents(promised.pop(row["currency"], None)),
        )
        for row in rows
    }
    for currency, amount in promised.items():
        totals[currency] = CurrencyTotals(
            currency=currency,
            open=Decimal("0.00"),
            overdue=Decimal("0.00"),
            due_soon=Decimal("0.00"),
            promised=cents(amount),
        )
    return [totals[currency] for currency in sorted(totals)]
