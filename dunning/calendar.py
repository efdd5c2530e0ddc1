"""Working days of the business calendar (`settings.BUSINESS_CALENDAR_COUNTRY`).

The `holidays` package knows each country's public holidays and, for China,
the weekend days that are made-up working days (调休), so a Saturday can be a
working day and a Wednesday a day off.
"""

from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.conf import settings


@lru_cache(maxsize=8)
def _country_calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def business_calendar(*, country: str | None = None) -> holidays.HolidayBase:
    """Return the holiday calendar of the configured (or given) country."""
    return _country_calendar(country or settings.BUSINESS_CALENDAR_COUNTRY)


def is_working_day(day: date, *, country: str | None = None) -> bool:
    """Whether the day is a working day (weekday that is no holiday, or a make-up day)."""
    return business_calendar(country=country).is_working_day(day)


def working_days_before(due: date, n: int, *, country: str | None = None) -> date:
    """Return the n-th working day before `due` (CN: 2026-10-12, 3 → 2026-10-08)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return business_calendar(country=country).get_nth_working_day(due, -n)


def pre_due_last_due_date(*, as_of: date, working_days: int, country: str | None = None) -> date:
    """Return the latest due date whose pre-due day (n working days before) is on or before as_of.

    The pre-due day grows with the due date, so the items due a pre-due
    reminder on `as_of` are exactly those with as_of < due <= this date; the
    run can then select them in the database with a plain date range.
    """
    last = as_of
    candidate = as_of + timedelta(days=1)
    while working_days_before(candidate, working_days, country=country) <= as_of:
        last = candidate
        candidate += timedelta(days=1)
    return last


def nth_working_day_of_month(*, year: int, month: int, n: int, country: str | None = None) -> date:
    """Return the month's n-th working day (CN, 2026-10, 1 → 2026-10-08, after the holiday)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day_before = date(year, month, 1) - timedelta(days=1)
    return business_calendar(country=country).get_nth_working_day(day_before, n)
