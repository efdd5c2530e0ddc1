"""Ageing of receivables as of a date, computed in the database.

As of a date D: invoices issued on or before D (never cancelled ones),
each open for its amount less the allocations of posted payments dated on or
before D and its credit notes dated on or before D; bucketed by days past due
(D - due date): `current` (<= 0), `1-30`, `31-60`, `61-90`, `90+`.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce

from core.money import money_quantize
from core.scoping import scope_for_user
from receivables.models import CreditNote, Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.invoices import MONEY_FIELD, ZERO

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
KEYS = (*BUCKETS, "total")
HALF_CENT = Decimal("0.005")


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


def _open_as_of(as_of: date):
    """Expression: the invoice's amount less what was paid or credited up to as_of."""
    allocated = (
        PaymentAllocation.objects.filter(
            invoice=OuterRef("pk"),
            payment__status=Payment.Status.POSTED,
            payment__payment_date__lte=as_of,
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    credited = (
        CreditNote.objects.filter(invoice=OuterRef("pk"), issue_date__lte=as_of)
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        F("amount")
        - Coalesce(Subquery(allocated, output_field=MONEY_FIELD), ZERO)
        - Coalesce(Subquery(credited, output_field=MONEY_FIELD), ZERO)
    )


def _bucket_conditions(as_of: date) -> dict[str, Q]:
    """Days past due as due-date ranges, so that no date arithmetic runs in SQL."""
    day = timedelta(days=1)
    return {
        "current": Q(due_date__gte=as_of),
        "1-30": Q(due_date__lt=as_of, due_date__gte=as_of - 30 * day),
        "31-60": Q(due_date__lt=as_of - 30 * day, due_date__gte=as_of - 60 * day),
        "61-90": Q(due_date__lt=as_of - 60 * day, due_date__gte=as_of - 90 * day),
        "90+": Q(due_date__lt=as_of - 90 * day),
    }


def _aggregates(as_of: date) -> dict[str, Sum]:
    open_amount = _open_as_of(as_of)
    aggregates = {
        _alias(bucket): Sum(
            Case(When(condition, then=open_amount), default=ZERO, output_field=MONEY_FIELD),
            output_field=MONEY_FIELD,
        )
        for bucket, condition in _bucket_conditions(as_of).items()
    }
    aggregates["total"] = Sum(open_amount, output_field=MONEY_FIELD)
    return aggregates


def _alias(bucket: str) -> str:
    return "bucket_" + bucket.replace("-", "_").replace("+", "_plus")


def _cents(value: Decimal | None) -> Decimal:
    # SQLite sums decimals through floats: round every aggregate to cents, and
    # let a float residue such as -5.6E-17 come out as 0.00, not -0.00.
    amount = money_quantize(value or 0)
    return amount.copy_abs() if amount.is_zero() else amount


def _amounts(row: dict[str, object]) -> dict[str, Decimal]:
    amounts = {bucket: _cents(row[_alias(bucket)]) for bucket in BUCKETS}
    amounts["total"] = _cents(row["total"])
    return amounts


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
    """
    invoices = ageing_invoices(
        as_of=as_of, currency=currency, rep=rep, user=user, customer=customer
    )
    aggregates = _aggregates(as_of)
    rows = (
        invoices.order_by()
        .values("customer_id", "customer__code", "customer__name")
        .annotate(**aggregates)
        # Half a cent, not zero: a float residue of a settled customer is no balance.
        .filter(total__gte=HALF_CENT)
        .order_by("customer__code")
    )
    totals = invoices.order_by().aggregate(**aggregates)
    return AgeingReport(
        as_of=as_of,
        currency=currency,
        totals=_amounts(totals),
        customers=[
            AgeingRow(
                customer_id=row["customer_id"],
                code=row["customer__code"],
                name=row["customer__name"],
                amounts=_amounts(row),
            )
            for row in rows
        ],
    )


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
