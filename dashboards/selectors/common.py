"""What every dashboard read shares: the filters, the scope, month windows.

Money rules (open amounts, overdue, buckets) are `receivables.selectors.balances`'.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.roles import Role, has_role
from core.scoping import scope_for_user
from receivables.models import Invoice
from receivables.selectors.balances import HALF_CENT, MONEY_FIELD, ZERO, cents

__all__ = ["HALF_CENT", "MONEY_FIELD", "ZERO", "cents"]

User = AbstractBaseUser | AnonymousUser


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
