"""Receivables positions per business date: computed from history, or read from snapshots.

`receivables_positions` is the one computation, grouped per currency and
sales rep in the database (three queries for a date, whatever the size of the
book); the snapshot service stores what it returns and `snapshot_positions`
reads it back for the history figures of the dashboard.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from dashboards.models import ReceivablesSnapshot, ReceivablesSnapshotDay
from dashboards.selectors.common import (
    MONEY_FIELD,
    DashboardFilters,
    User,
    cents,
    effective_rep_id,
    month_start,
    scoped,
)
from receivables.models import Invoice
from receivables.selectors.balances import (
    ZERO_AMOUNT,
    allocations_as_of,
    bucket_q,
    credit_notes_as_of,
)


@dataclass(frozen=True)
class Position:
    """Receivables at the end of a day, the part not yet due, and the month's sales so far."""

    receivables: Decimal
    current: Decimal
    month_sales: Decimal


def receivables_positions(*, as_of: date) -> dict[tuple[str, int], Position]:
    """Receivables of each (currency, sales rep) at the end of the date (three grouped queries).

    The ageing's rule: invoices issued by the date (cancelled ones void), less
    posted payments dated and credit notes issued by it; `current` is what is
    not yet due (the ageing's `current` bucket).
    """
    invoices = Invoice.objects.filter(issue_date__lte=as_of).exclude(
        status=Invoice.Status.CANCELLED
    )

    def grouped(queryset: QuerySet, prefix: str, *, sales: bool = False) -> dict:
        aggregates = {
            "total": Sum("amount", output_field=MONEY_FIELD),
            "current": Sum(
                "amount",
                filter=bucket_q("current", as_of=as_of, due=f"{prefix}due_date"),
                output_field=MONEY_FIELD,
            ),
        }
        if sales:
            aggregates["sales"] = Sum(
                "amount",
                filter=Q(issue_date__gte=month_start(as_of)),
                output_field=MONEY_FIELD,
            )
        keys = (f"{prefix}currency", f"{prefix}customer__sales_rep_id")
        return {
            (row[keys[0]], row[keys[1]]): row
            for row in queryset.order_by().values(*keys).annotate(**aggregates)
        }

    issued = grouped(invoices, "", sales=True)
    paid = grouped(
        allocations_as_of(as_of=as_of).filter(invoice__in=invoices.values("pk")),
        "invoice__",
    )
    credited = grouped(
        credit_notes_as_of(as_of=as_of).filter(invoice__in=invoices.values("pk")),
        "invoice__",
    )
    empty = {"total": None, "current": None}
    return {
        key: Position(
            receivables=cents(
                cents(row["total"])
                - cents(paid.get(key, empty)["total"])
                - cents(credited.get(key, empty)["total"])
            ),
            current=cents(
                cents(row["current"])
                - cents(paid.get(key, empty)["current"])
                - cents(credited.get(key, empty)["current"])
            ),
            month_sales=cents(row["sales"]),
        )
        for key, row in issued.items()
    }


@dataclass(frozen=True)
class SnapshotHistory:
    """What the snapshots say for some dates in the scope, and which dates they cover."""

    positions: dict[date, Position]
    covered: frozenset[date]


def snapshot_positions(
    *, user: User, filters: DashboardFilters, days: list[date]
) -> SnapshotHistory:
    """The stored positions of the dates in the user's scope and the filters (two queries).

    A date is covered when its snapshot was taken; a covered date without a
    row in the scope had no receivables.
    """
    covered = frozenset(
        ReceivablesSnapshotDay.objects.filter(business_date__in=days).values_list(
            "business_date", flat=True
        )
    )
    if not covered:
        return SnapshotHistory(positions={}, covered=covered)
    rows = (
        scoped(
            ReceivablesSnapshot.objects.filter(
                business_date__in=covered, currency=filters.currency
            ),
            user=user,
            rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
        )
        .order_by()
        .values("business_date")
        .annotate(
            receivables=Sum("receivables"),
            current=Sum("current_receivables"),
            sales=Sum("month_sales"),
        )
    )
    zero = Position(receivables=ZERO_AMOUNT, current=ZERO_AMOUNT, month_sales=ZERO_AMOUNT)
    positions = dict.fromkeys(covered, zero)
    for row in rows:
        positions[row["business_date"]] = Position(
            receivables=cents(row["receivables"]),
            current=cents(row["current"]),
            month_sales=cents(row["sales"]),
        )
    return SnapshotHistory(positions=positions, covered=covered)
