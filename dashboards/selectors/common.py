"""What every dashboard read shares: the filters, the scope, money expressions, month windows."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from core.money import money_quantize
from core.roles import Role, has_role
from core.scoping import scope_for_user
from receivables.models import CreditNote, Invoice, Payment, PaymentAllocation

User = AbstractBaseUser | AnonymousUser
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)
HALF_CENT = Decimal("0.005")


@dataclass(frozen=True)
class DashboardFilters:
    """The dashboard's filters: the business date, one currency, optionally one rep."""

    as_of: date
    currency: str
    rep_id: int | None = None


def effective_rep_id(*, user: User, rep_id: int | None) -> int | None:
    """A sales rep only ever sees their own book; others may narrow to any rep."""
    if has_role(user, Role.FINANCE, Role.MANAGER):
        return rep_id
    return user.pk if user.is_authenticated else None


def cents(value: Decimal | int | None) -> Decimal:
    """Round an aggregate to cents; a float residue of SQLite (-1E-17) becomes 0.00."""
    amount = money_quantize(value or 0)
    return amount.copy_abs() if amount.is_zero() else amount


def scoped(queryset: QuerySet, *, user: User, rep_id: int | None) -> QuerySet:
    """Keep what the user may see, then one rep's rows when asked."""
    queryset = scope_for_user(queryset, user)
    if rep_id is not None:
        owner_path = queryset.model.scope_owner_path
        queryset = queryset.filter(**{f"{owner_path}_id": rep_id})
    return queryset


def invoices_in_scope(*, user: User, filters: DashboardFilters) -> QuerySet[Invoice]:
    """Invoices in the currency that the user may see (of the chosen rep), cancelled ones left out.

    A cancelled invoice is void from its start, as in the ageing report.
    """
    return scoped(
        Invoice.objects.filter(currency=filters.currency).exclude(status=Invoice.Status.CANCELLED),
        user=user,
        rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
    )


def _sum_subquery(queryset: QuerySet, group: str) -> Subquery:
    return Subquery(
        queryset.order_by().values(group).annotate(total=Sum("amount")).values("total")[:1],
        output_field=MONEY_FIELD,
    )


def open_amount_as_of(*, as_of: date) -> ExpressionWrapper:
    """Expression on an invoice: its amount less posted payments dated, and credit notes
    issued, on or before as_of (the ageing report's rule)."""
    allocated = _sum_subquery(
        PaymentAllocation.objects.filter(
            invoice=OuterRef("pk"),
            payment__status=Payment.Status.POSTED,
            payment__payment_date__lte=as_of,
        ),
        "invoice",
    )
    credited = _sum_subquery(
        CreditNote.objects.filter(invoice=OuterRef("pk"), issue_date__lte=as_of), "invoice"
    )
    return ExpressionWrapper(
        F("amount") - Coalesce(allocated, ZERO) - Coalesce(credited, ZERO),
        output_field=MONEY_FIELD,
    )


@dataclass(frozen=True)
class Period:
    """A calendar month cut at the business date: [start, end]."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: date) -> date:
    return month_start(day) - timedelta(days=1)


def periods_ending(*, as_of: date, months: int = 12) -> list[Period]:
    """The last `months` calendar months, oldest first; the last one ends at as_of."""
    periods = [Period(start=month_start(as_of), end=as_of)]
    while len(periods) < months:
        end = previous_month_end(periods[0].start)
        periods.insert(0, Period(start=month_start(end), end=end))
    return periods


def bucket_bounds(bucket: str, *, as_of: date) -> tuple[date | None, date | None]:
    """Due-date range (inclusive, None for open-ended) of an ageing bucket as of the date."""
    day = timedelta(days=1)
    bounds = {
        "current": (as_of, None),
        "1-30": (as_of - 30 * day, as_of - day),
        "31-60": (as_of - 60 * day, as_of - 31 * day),
        "61-90": (as_of - 90 * day, as_of - 61 * day),
        "90+": (None, as_of - 91 * day),
    }
    return bounds[bucket]
