"""Ageing of receivables as of a date, computed in the database.

As of a date D: invoices issued on or before D (never cancelled ones),
each open for its amount less the allocations of posted payments dated on or
before D and its credit notes dated on or before D; bucketed by days past due
(D - due date): `current` (<= 0), `1-30`, `31-60`, `61-90`, `90+`.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, F, QuerySet, Sum, When

from core.scoping import scope_for_user
from receivables.models import Customer, Invoice
from receivables.selectors.balances import (
    BUCKETS,
    KEYS,
    MONEY_FIELD,
    ZERO,
    allocations_as_of,
    bucket_q,
    cents,
    credit_notes_as_of,
)

__all__ = ["BUCKETS", "KEYS", "AgeingReport", "AgeingRow", "ageing_report", "customer_ageing"]


@dataclass(frozen=True)
class AgeingRow:
    customer_id: int
    code: str
    name: str
    amounts: dict[str, Decimal]


@dataclass(frozen=True)
class AgeingReport:
    as_of: date
    currency: str
    totals: dict[str, Decimal]
    customers: list[AgeingRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The machine format of DESIGN.md: amounts as strings with two decimals."""
        return {
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "totals": {key: f"{self.totals[key]:.2f}" for key in KEYS},
            "customers": [
                {"code": row.code, "name": row.name}
                | {key: f"{row.amounts[key]:.2f}" for key in KEYS}
                for row in self.customers
            ],
        }


def _alias(bucket: str) -> str:
    return "bucket_" + bucket.replace("-", "_").replace("+", "_plus")


def _sums_by_customer(
    queryset: QuerySet,
    *,
    as_of: date,
    customer: str,
    due: str,
    extra: tuple[str, ...] = (),
    order: str | None = None,
) -> list[dict[str, object]]:
    """Sum `amount` per customer and bucket of the due date: one grouped query."""
    aggregates = {
        _alias(bucket): Sum(
            Case(
                When(bucket_q(bucket, as_of=as_of, due=due), then=F("amount")),
                default=ZERO,
                output_field=MONEY_FIELD,
            ),
            output_field=MONEY_FIELD,
        )
        for bucket in BUCKETS
    }
    return list(
        queryset.order_by()
        .values(customer, *extra)
        .annotate(**aggregates)
        .order_by(order or customer)
    )


def ageing_invoices(
    *,
    as_of: date,
    currency: str,
    rep: AbstractBaseUser | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    customer: Customer | None = None,
) -> QuerySet[Invoice]:
    """The invoices that count in the ageing as of the date, in scope."""
    # A cancelled invoice is void from the start (issued by mistake); what
    # lowers a real invoice from a date on is a credit note.
    queryset = Invoice.objects.filter(issue_date__lte=as_of, currency=currency).exclude(
        status=Invoice.Status.CANCELLED
    )
    if user is not None:
        queryset = scope_for_user(queryset, user)
    if rep is not None:
        queryset = queryset.filter(customer__sales_rep=rep)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    return queryset


def ageing_report(
    *,
    as_of: date,
    currency: str,
    rep: AbstractBaseUser | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    customer: Customer | None = None,
) -> AgeingReport:
    """Age the open receivables in one currency as of the date, per customer and in total.

    `rep` keeps one sales rep's customers; `user` keeps what the user may see.
    Customers with nothing open as of the date are left out.

    Three grouped aggregates run in the database, per customer and bucket:
    invoiced amounts, allocations of posted payments dated up to as_of, and
    credit notes dated up to as_of; each customer's buckets are the first
    less the other two. (Per-invoice correlated subqueries were 27 times
    slower than bare SQL on PostgreSQL.)
    """
    invoices = ageing_invoices(
        as_of=as_of, currency=currency, rep=rep, user=user, customer=customer
    )
    invoiced = _sums_by_customer(
        invoices,
        as_of=as_of,
        customer="customer_id",
        due="due_date",
        extra=("customer__code", "customer__name"),
        order="customer__code",
    )
    paid = _sums_by_customer(
        allocations_as_of(as_of=as_of).filter(invoice__in=invoices.values("pk")),
        as_of=as_of,
        customer="invoice__customer_id",
        due="invoice__due_date",
    )
    credited = _sums_by_customer(
        credit_notes_as_of(as_of=as_of).filter(invoice__in=invoices.values("pk")),
        as_of=as_of,
        customer="invoice__customer_id",
        due="invoice__due_date",
    )
    reductions: dict[int, list[dict[str, object]]] = {}
    for row in [*paid, *credited]:
        reductions.setdefault(row["invoice__customer_id"], []).append(row)
    rows = []
    for row in invoiced:
        amounts = {}
        for bucket in BUCKETS:
            alias = _alias(bucket)
            less = sum(
                (cents(other[alias]) for other in reductions.get(row["customer_id"], [])),
                Decimal("0.00"),
            )
            amounts[bucket] = cents(cents(row[alias]) - less)
        amounts["total"] = sum((amounts[bucket] for bucket in BUCKETS), Decimal("0.00"))
        if amounts["total"] > 0:
            rows.append(
                AgeingRow(
                    customer_id=row["customer_id"],
                    code=row["customer__code"],
                    name=row["customer__name"],
                    amounts=amounts,
                )
            )
    totals = {key: sum((row.amounts[key] for row in rows), Decimal("0.00")) for key in KEYS}
    return AgeingReport(as_of=as_of, currency=currency, totals=totals, customers=rows)


def customer_ageing(*, customer: Customer, as_of: date) -> dict[str, Decimal]:
    """The customer's ageing buckets and total as of the date, in its currency."""
    return ageing_report(as_of=as_of, currency=customer.currency, customer=customer).totals


def ageing_currencies(
    *, user: AbstractBaseUser | AnonymousUser | None = None, as_of: date | None = None
) -> list[str]:
    """The currencies that have invoices (issued by as_of, when given), in scope."""
    queryset = Invoice.objects.all()
    if user is not None:
        queryset = scope_for_user(queryset, user)
    if as_of is not None:
        queryset = queryset.filter(issue_date__lte=as_of)
    return list(queryset.order_by("currency").values_list("currency", flat=True).distinct())
