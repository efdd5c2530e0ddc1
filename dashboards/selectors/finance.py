"""Finance's desk: every queue finance works, as counts and first rows.

Each queue is one query (its first rows, with the full count beside them), so
the desk costs the same whatever the size of the book.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet, Sum, Window

from core.scoping import scope_for_user
from dashboards.selectors.common import User, cents
from dunning.models import Communication
from dunning.selectors import dispute_list_open, letter_list_awaiting_approval
from receivables.models import Customer, Invoice, Payment
from receivables.selectors.credit import credit_assessment_list_pending
from receivables.selectors.invoices import payments_holding_credit, payments_with_allocated

DESK_ROWS = 5
UNALLOCATED_WINDOW_DAYS = 180


@dataclass
class Queue:
    """One queue of the desk: its first rows, its size and, for money queues, totals."""

    key: str
    rows: list
    count: int
    totals: list[tuple[str, object]] = field(default_factory=list)


def queue_first_rows(key: str, queryset: QuerySet, *, limit: int) -> Queue:
    """The first rows of a queue and its size, which comes with them (a window count): one
    query per queue whatever the size of the book."""
    rows = list(queryset.annotate(queue_size=Window(Count("pk")))[:limit])
    return Queue(key=key, rows=rows, count=rows[0].queue_size if rows else 0)


def unallocated_payments(
    *, user: User, as_of: date, days: int = UNALLOCATED_WINDOW_DAYS
) -> QuerySet[Payment]:
    """Posted payments of the last days with money not yet allocated to invoices, oldest first.

    Read through the partial index of payments holding credit; older credit shows
    on the customer's page and in the payment list.
    """
    return payments_with_allocated(
        payments_holding_credit(
            scope_for_user(
                Payment.objects.filter(payment_date__gt=as_of - timedelta(days=days)),
                user,
            )
        ).select_related("customer")
    ).order_by("payment_date", "pk")


def invoices_awaiting_receipt(*, user: User) -> QuerySet[Invoice]:
    """Open invoices delivered but whose receipt the customer has not confirmed, oldest first."""
    return (
        scope_for_user(Invoice.objects.select_related("customer"), user)
        .filter(
            status=Invoice.Status.OPEN,
            delivered_at__isnull=False,
            receipt_confirmed_at__isnull=True,
        )
        .order_by("delivered_at", "pk")
    )


def invoices_not_delivered(*, user: User) -> QuerySet[Invoice]:
    """Open invoices with no proof of delivery yet, oldest issue first."""
    return (
        scope_for_user(Invoice.objects.select_related("customer"), user)
        .filter(status=Invoice.Status.OPEN, delivered_at__isnull=True)
        .order_by("issue_date", "pk")
    )


def customers_on_hold(*, user: User) -> QuerySet[Customer]:
    """Customers on credit hold, by name."""
    return scope_for_user(
        Customer.objects.filter(credit_status=Customer.CreditStatus.ON_HOLD).select_related(
            "sales_rep"
        ),
        user,
    ).order_by("name", "pk")


def recent_payments(*, user: User, as_of: date, days: int = 7) -> QuerySet[Payment]:
    """Payments recorded for the last days, newest first."""
    return (
        scope_for_user(Payment.objects.select_related("customer", "recorded_by"), user)
        .filter(payment_date__gt=as_of - timedelta(days=days))
        .order_by("-payment_date", "-pk")
    )


def failed_communications(*, user: User) -> QuerySet[Communication]:
    """Dunning messages undelivered (failed, not handled by phone), newest first."""
    return scope_for_user(
        Communication.objects.filter(
            status=Communication.Status.FAILED, handled_at__isnull=True
        ).select_related("customer"),
        user,
    ).order_by("-business_date", "-pk")


def approved_communications_waiting(*, user: User) -> QuerySet[Communication]:
    """Messages waiting for the sender that finance approved or the mail server delayed."""
    return scope_for_user(
        Communication.objects.filter(status=Communication.Status.PENDING)
        .filter(Q(approved_at__isnull=False) | ~Q(failure_detail=""))
        .select_related("customer"),
        user,
    ).order_by("business_date", "pk")


def finance_desk(*, user: User, as_of: date, limit: int = DESK_ROWS) -> dict[str, Queue]:
    """The queues of finance's desk, keyed by name."""
    unallocated = unallocated_payments(user=user, as_of=as_of)
    unallocated_queue = queue_first_rows("unallocated", unallocated, limit=limit)
    unallocated_queue.totals = [
        (row["currency"], cents(row["total"]))
        for row in unallocated.order_by()
        .values("currency")
        .annotate(total=Sum("unallocated"))
        .order_by("currency")
    ]
    return {
        "credit": queue_first_rows(
            "credit", scope_for_user(credit_assessment_list_pending(), user), limit=limit
        ),
        "letters": queue_first_rows(
            "letters", scope_for_user(letter_list_awaiting_approval(), user), limit=limit
        ),
        "payments": queue_first_rows(
            "payments", recent_payments(user=user, as_of=as_of), limit=limit
        ),
        "unallocated": unallocated_queue,
        "receipt": queue_first_rows("receipt", invoices_awaiting_receipt(user=user), limit=limit),
        "undelivered": queue_first_rows(
            "undelivered", invoices_not_delivered(user=user), limit=limit
        ),
        "disputes": queue_first_rows(
            "disputes", scope_for_user(dispute_list_open(), user), limit=limit
        ),
        "holds": queue_first_rows("holds", customers_on_hold(user=user), limit=limit),
        "failed": queue_first_rows("failed", failed_communications(user=user), limit=limit),
        "outgoing": queue_first_rows(
            "outgoing", approved_communications_waiting(user=user), limit=limit
        ),
    }
