"""Working days from the `holidays` package, CN make-up working days included."""

from datetime import date

import pytest

from dunning.calendar import is_working_day, pre_due_last_due_date, working_days_before


def test_design_example_three_working_days_before_2026_10_12():
    assert working_days_before(date(2026, 10, 12), 3) == date(2026, 10, 8)


def test_cn_make_up_saturday_is_a_working_day_and_holiday_weekdays_are_not():
    assert is_working_day(date(2026, 10, 10))  # Saturday, made up for National Day
    assert not is_working_day(date(2026, 10, 7))  # Wednesday, National Day holiday
    assert not is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert is_working_day(date(2026, 10, 9))


def test_other_countries_use_their_own_calendar(settings):
    settings.BUSINESS_CALENDAR_COUNTRY = "US"

    assert is_working_day(date(2026, 10, 10)) is False  # a Saturday in the US
    assert working_days_before(date(2026, 7, 6), 1) == date(2026, 7, 2)  # 07-03 observed


def test_working_days_before_needs_a_positive_count():
    with pytest.raises(ValueError, match="at least 1"):
        working_days_before(date(2026, 10, 12), 0)


@pytest.mark.parametrize(
    ("as_of", "last_due"),
    [
        # On 2026-10-08 items due up to 10-12 are within 3 working days.
        (date(2026, 10, 8), date(2026, 10, 12)),
        # On 2026-09-30, the three working days after are 10-08, 10-09, 10-10.
        (date(2026, 9, 30), date(2026, 10, 10)),
        # A Sunday that is no working day: nothing more falls in than on Saturday.
        (date(2026, 10, 11), date(2026, 10, 14)),
    ],
)
def test_pre_due_window_end(as_of, last_due):
    assert pre_due_last_due_date(as_of=as_of, working_days=3) == last_due
    # and it is consistent with working_days_before on both sides of the edge
    assert working_days_before(last_due, 3) <= as_of
    assert working_days_before(date.fromordinal(last_due.toordinal() + 1), 3) > as_of
