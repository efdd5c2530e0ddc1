"""Promises to pay: recorded, they pause the ladder until date + 3; kept or broken by review."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.exceptions import BusinessRuleError
from dunning.models import (
    CaseEvent,
    CollectionTask,
    DunningStep,
    LevelCode,
    PromiseToPay,
)
from dunning.services.promises import promise_review, promise_to_pay_record
from dunning.services.run import run_dunning
from tests.factories.cases import CollectionCaseFactory, overdue_invoice, pay_invoice
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 3, 2)
PROMISED = date(2026, 3, 10)


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def customer(rep):
    customer = CustomerFactory(sales_rep=rep, language="en")
    ContactFactory(customer=customer)
    return customer


@pytest.fixture
def invoice(customer):
    return overdue_invoice(customer=customer, due=date(2026, 2, 27), amount="5000.00")


def promise(customer, invoice, rep, *, amount="5000.00", on=AS_OF, promised=PROMISED):
    with time_machine.travel(morning(on), tick=False):
        return promise_to_pay_record(
            customer=customer,
            invoices=[invoice],
            amount=amount,
            promised_date=promised,
            note="AP confirmed by phone",
            actor=rep,
            as_of=on,
        )


def review(on: date):
    with time_machine.travel(morning(on), tick=False):
        return promise_review(as_of=on)


def test_rep_records_a_promise_on_the_case_timeline(customer, invoice, rep):
    case = CollectionCaseFactory(customer=customer, owner=rep)

    made = promise(customer, invoice, rep)

    assert made.status == PromiseToPay.Status.OPEN
    assert made.amount == Decimal("5000.00")
    assert made.currency == invoice.currency
    assert made.promised_date == PROMISED
    assert made.case == case
    assert made.recorded_by == rep
    assert list(made.invoices.all()) == [invoice]
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.PROMISE_MADE)
    assert event.actor == rep
    assert event.case == case
    assert event.data["promised_date"] == PROMISED.isoformat()


@pytest.mark.parametrize(
    ("amount", "promised", "message"),
    [
        ("5000.00", AS_OF - timedelta(days=1), "in the past"),
        ("0", PROMISED, "must be positive"),
        ("-10", PROMISED, "must be positive"),
        ("abc", PROMISED, "is not an amount"),
        ("5000.01", PROMISED, "more than the 5,000.00 still open"),
        ("5000.00", AS_OF + timedelta(days=61), "instalment plan or extension"),
    ],
)
def test_bad_promises_are_refused_and_nothing_written(
    customer, invoice, rep, amount, promised, message
):
    with pytest.raises(BusinessRuleError, match=message):
        promise(customer, invoice, rep, amount=amount, promised=promised)

    assert not PromiseToPay.objects.exists()
    assert not CaseEvent.objects.exists()


def test_a_promise_due_today_is_accepted(customer, invoice, rep):
    assert promise(customer, invoice, rep, promised=AS_OF).promised_date == AS_OF


def test_a_promise_for_another_customers_invoice_is_refused(customer, rep):
    stranger = overdue_invoice(customer=CustomerFactory(), due=date(2026, 2, 27))

    with pytest.raises(BusinessRuleError, match="belongs to another customer"):
        promise(customer, stranger, rep)

    assert not PromiseToPay.objects.exists()


def test_another_rep_cannot_record_a_promise(customer, invoice):
    with pytest.raises(BusinessRuleError, match="cannot work on this customer"):
        promise(customer, invoice, SalesRepFactory())


def test_one_open_promise_per_invoice(customer, invoice, rep):
    promise(customer, invoice, rep, amount="1000.00")

    with pytest.raises(BusinessRuleError, match="already has an open promise"):
        promise(customer, invoice, rep, amount="1000.00")

    assert PromiseToPay.objects.count() == 1


def test_a_kept_promise_closes_when_payments_cover_it(customer, invoice, rep):
    made = promise(customer, invoice, rep)

    # The payment that covers it keeps it at once (dunning.services.follow) ...
    pay_invoice(invoice=invoice, amount="5000.00", on=date(2026, 3, 9))

    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.KEPT
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.PROMISE_KEPT).count() == 1
    # ... and the review has nothing left to decide
    result = review(date(2026, 3, 9))
    assert result.kept == []
    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.KEPT


def test_a_payment_within_the_grace_days_keeps_the_promise(customer, invoice, rep):
    made = promise(customer, invoice, rep, amount="2000.00")
    pay_invoice(invoice=invoice, amount="2000.00", on=PROMISED + timedelta(days=3))

    review(PROMISED + timedelta(days=4))

    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.KEPT


def test_a_payment_before_the_promise_does_not_count(customer, invoice, rep):
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))
    made = promise(customer, invoice, rep, amount="2000.00")

    review(PROMISED + timedelta(days=4))

    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.BROKEN


def test_a_broken_promise_is_flagged_with_a_task_after_date_plus_grace(customer, invoice, rep):
    case = CollectionCaseFactory(customer=customer, owner=rep)
    made = promise(customer, invoice, rep)
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 10))

    # Within the grace days (through 03-13) it stays open
    assert review(date(2026, 3, 13)).open == [made.pk]
    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.OPEN

    # The day after, it is broken: flagged on the timeline and a task for the owner
    result = review(date(2026, 3, 14))
    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.BROKEN
    assert result.broken == [made.pk]
    broken = CaseEvent.objects.get(kind=CaseEvent.Kind.PROMISE_BROKEN)
    assert broken.case == case
    assert broken.data["paid"] == "1000.00"
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.PROMISE_DUE)
    assert task.assignee == rep
    assert task.due_date == date(2026, 3, 14)

    # A second review decides nothing again
    assert review(date(2026, 3, 15)).broken == []
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.PROMISE_BROKEN).count() == 1


def test_a_promise_pauses_the_ladder_until_date_plus_three_then_resumes(customer, rep):
    # Given an invoice due 02-28 promised for 03-10, and another not promised
    promised = overdue_invoice(customer=customer, due=date(2026, 2, 28))
    other = overdue_invoice(customer=customer, due=date(2026, 2, 28))
    promise(customer, promised, rep, amount="1000.00")

    # When the run goes every day through 03-13 (promised date + 3 grace days)
    day = AS_OF
    while day <= date(2026, 3, 13):
        run_dunning(as_of=day)
        day += timedelta(days=1)

    # Then only the other invoice was reminded
    assert DunningStep.objects.filter(invoice=other, level=LevelCode.REMINDER).exists()
    assert not DunningStep.objects.filter(invoice=promised).exists()

    # When the review finds it broken on 03-14, the run reminds about it again
    review(date(2026, 3, 14))
    run_dunning(as_of=date(2026, 3, 14))
    assert DunningStep.objects.get(invoice=promised, level=LevelCode.REMINDER).fired_on == date(
        2026, 3, 14
    )


def test_finance_may_record_a_promise_for_any_customer(customer, invoice):
    made = promise(customer, invoice, FinanceUserFactory())

    assert made.status == PromiseToPay.Status.OPEN


def test_the_daily_review_task_runs_review_and_thanks(customer, invoice, rep):
    from dunning.tasks import collections_review_task

    promise(customer, invoice, rep)

    with time_machine.travel(morning(date(2026, 3, 20)), tick=False):
        result = collections_review_task.delay("2026-03-20").get()

    assert result["promises_broken"] == 1
    assert result["as_of"] == "2026-03-20"


def _book_of_promises(count: int) -> dict[str, list[PromiseToPay]]:
    """`count` customers of each outcome: kept (paid in full), broken (short-paid, date
    and grace passed) and still open (promised later)."""
    rep = SalesRepFactory()
    made: dict[str, list[PromiseToPay]] = {"kept": [], "broken": [], "open": []}
    for outcome in made:
        for _ in range(count):
            customer = CustomerFactory(sales_rep=rep, language="en")
            CollectionCaseFactory(customer=customer, owner=rep)
            invoice = overdue_invoice(customer=customer, due=date(2026, 2, 27), amount="900.00")
            later = outcome == "open"
            made[outcome].append(
                promise(
                    customer,
                    invoice,
                    rep,
                    amount="500.00",
                    promised=PROMISED + timedelta(days=30) if later else PROMISED,
                )
            )
    return made


@pytest.mark.parametrize("count", [1, 6])
def test_the_review_decides_every_customer_with_the_same_statements_whatever_their_number(
    count, django_assert_max_num_queries, settings
):
    made = _book_of_promises(count)
    for promised in made["kept"] + made["broken"]:
        paid = "500.00" if promised in made["kept"] else "100.00"
        pay_invoice(invoice=promised.invoices.get(), amount=paid, on=PROMISED)
    # The full payments kept theirs at once (dunning.services.follow): open again, the
    # review decides them as it would a payment it had not heard of.
    PromiseToPay.objects.filter(pk__in=[p.pk for p in made["kept"]]).update(
        status=PromiseToPay.Status.OPEN, resolved_at=None
    )

    with django_assert_max_num_queries(30):
        result = review(PROMISED + timedelta(days=4))

    assert result.kept == sorted(p.pk for p in made["kept"])
    assert result.broken == sorted(p.pk for p in made["broken"])
    assert result.open == sorted(p.pk for p in made["open"])
    tasks = CollectionTask.objects.filter(kind=CollectionTask.Kind.PROMISE_DUE)
    assert sorted(task.customer_id for task in tasks) == sorted(
        p.customer_id for p in made["broken"]
    )
    assert all(task.case is not None and task.assignee is not None for task in tasks)
    broken_events = CaseEvent.objects.filter(kind=CaseEvent.Kind.PROMISE_BROKEN)
    assert {event.data["paid"] for event in broken_events} == {"100.00"}
    # and a rerun decides nothing twice
    again = review(PROMISED + timedelta(days=5))
    assert (again.kept, again.broken) == ([], [])
    assert tasks.count() == count
