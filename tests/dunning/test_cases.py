"""Collection cases: overdue reason and its path, calls on the timeline, dunning pauses."""

from datetime import date, timedelta

import pytest

from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionCase, CollectionTask, Communication
from dunning.services.cases import (
    CallOutcome,
    collection_case_log_call,
    collection_case_set_reason,
    customer_dunning_pause,
    customer_dunning_resume,
)
from dunning.services.run import run_dunning
from tests.factories.cases import CollectionCaseFactory, overdue_invoice
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


AS_OF = date(2026, 3, 2)


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def case(rep):
    customer = CustomerFactory(sales_rep=rep)
    overdue_invoice(customer=customer, due=date(2026, 2, 1))
    return CollectionCaseFactory(customer=customer, owner=rep, opened_on=date(2026, 2, 2))


def events(case, kind):
    return list(CaseEvent.objects.filter(customer=case.customer, kind=kind))


def test_the_run_opens_one_case_per_customer_with_overdue_items_and_closes_it_when_paid(rep):
    # Given a customer with an overdue invoice and a finance contact
    customer = CustomerFactory(sales_rep=rep)
    ContactFactory(customer=customer)
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 27))

    # When the run goes, twice
    run_dunning(as_of=AS_OF)
    run_dunning(as_of=AS_OF + timedelta(days=1))

    # Then one open case, owned by the customer's rep
    case = CollectionCase.objects.get(customer=customer)
    assert case.status == CollectionCase.Status.OPEN
    assert case.owner == rep
    assert case.overdue_reason == CollectionCase.OverdueReason.UNKNOWN

    # When the invoice is paid and the run goes again, the case closes
    from tests.factories.cases import pay_invoice

    pay_invoice(invoice=invoice, amount="1000.00", on=AS_OF + timedelta(days=1))
    run_dunning(as_of=AS_OF + timedelta(days=2))
    case.refresh_from_db()
    assert case.status == CollectionCase.Status.CLOSED


def test_process_delay_gets_a_follow_up_task_for_the_owner(case, rep):
    # When the rep records an internal process delay
    collection_case_set_reason(
        case=case,
        reason=CollectionCase.OverdueReason.PROCESS_DELAY,
        note="Invoice stuck in their approval flow",
        actor=rep,
        as_of=AS_OF,
    )

    # Then the reason is on the case and the timeline, and a follow-up is planned
    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.PROCESS_DELAY
    assert "approval flow" in case.notes
    [updated] = events(case, CaseEvent.Kind.CASE_UPDATED)
    assert updated.actor == rep
    assert updated.data["previous"] == CollectionCase.OverdueReason.UNKNOWN
    task = CollectionTask.objects.get(case=case, kind=CollectionTask.Kind.FOLLOW_UP)
    assert task.assignee == rep
    assert task.due_date == AS_OF + timedelta(days=3)
    assert events(case, CaseEvent.Kind.TASK_CREATED)


def test_cash_flow_reason_makes_no_task(case, rep):
    collection_case_set_reason(
        case=case, reason=CollectionCase.OverdueReason.CASH_FLOW, actor=rep, as_of=AS_OF
    )

    assert not CollectionTask.objects.filter(case=case).exists()


@pytest.mark.parametrize(
    ("reason", "message"),
    [("weather", "Choose an overdue reason"), (CollectionCase.OverdueReason.UNKNOWN, "already")],
)
def test_bad_reason_is_refused_and_nothing_written(case, rep, reason, message):
    with pytest.raises(BusinessRuleError, match=message):
        collection_case_set_reason(case=case, reason=reason, actor=rep, as_of=AS_OF)

    assert not CaseEvent.objects.filter(customer=case.customer).exists()


def test_another_rep_cannot_touch_the_case(case):
    intruder = SalesRepFactory()

    with pytest.raises(BusinessRuleError, match="cannot work on this customer"):
        collection_case_set_reason(
            case=case,
            reason=CollectionCase.OverdueReason.CASH_FLOW,
            actor=intruder,
            as_of=AS_OF,
        )
    with pytest.raises(BusinessRuleError, match="cannot work on this customer"):
        collection_case_log_call(
            case=case, outcome=CallOutcome.NO_ANSWER, actor=intruder, as_of=AS_OF
        )

    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.UNKNOWN
    assert not CaseEvent.objects.exists()


def test_a_closed_case_takes_no_more_updates(case, rep):
    case.status = CollectionCase.Status.CLOSED
    case.save()

    with pytest.raises(BusinessRuleError, match="closed"):
        collection_case_log_call(case=case, outcome=CallOutcome.NO_ANSWER, actor=rep, as_of=AS_OF)


def test_finance_and_managers_may_work_any_case(case):
    for user in (FinanceUserFactory(), ManagerFactory()):
        collection_case_log_call(case=case, outcome=CallOutcome.NO_ANSWER, actor=user, as_of=AS_OF)

    assert len(events(case, CaseEvent.Kind.CONTACT_ATTEMPT)) == 2


def test_a_call_is_logged_with_outcome_closes_its_task_and_plans_a_follow_up(case, rep):
    # Given the run's phone-call task for the rep
    task = CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=case.customer,
        case=case,
        assignee=rep,
        title="Call about INV-1",
        due_date=AS_OF,
    )

    # When the rep logs the call
    logged = collection_case_log_call(
        case=case,
        outcome=CallOutcome.REACHED,
        note="AP says the payment run is on Friday",
        contact_name="Ms Qian",
        actor=rep,
        as_of=AS_OF,
        task=task,
        follow_up_on=date(2026, 3, 6),
    )

    # Then the timeline has the attempt with its outcome and actor
    attempt = logged.event
    assert attempt.kind == CaseEvent.Kind.CONTACT_ATTEMPT
    assert attempt.actor == rep
    assert attempt.case == case
    assert attempt.data["outcome"] == CallOutcome.REACHED
    assert attempt.data["contact"] == "Ms Qian"
    assert "Friday" in attempt.typed_note
    # the task is done, a follow-up planned
    task.refresh_from_db()
    assert task.status == CollectionTask.Status.DONE
    assert task.completed_by == rep
    assert logged.follow_up.due_date == date(2026, 3, 6)
    assert logged.follow_up.assignee == rep
    assert events(case, CaseEvent.Kind.TASK_COMPLETED)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "shouted"}, "outcome"),
        ({"outcome": CallOutcome.REACHED, "note": " "}, "what the customer said"),
        (
            {"outcome": CallOutcome.NO_ANSWER, "follow_up_on": AS_OF - timedelta(days=1)},
            "past",
        ),
        ({"outcome": CallOutcome.NO_ANSWER, "note": "x" * 2001}, "under 2000"),
    ],
)
def test_bad_call_logs_are_refused_and_nothing_written(case, rep, kwargs, message):
    with pytest.raises(BusinessRuleError, match=message):
        collection_case_log_call(case=case, actor=rep, as_of=AS_OF, **kwargs)

    assert not CaseEvent.objects.exists()
    assert not CollectionTask.objects.exists()


def test_a_task_of_another_customer_cannot_be_closed_by_a_call(case, rep):
    other_task = CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=CustomerFactory(sales_rep=rep),
        title="Other",
        due_date=AS_OF,
    )

    with pytest.raises(BusinessRuleError, match="another customer"):
        collection_case_log_call(
            case=case, outcome=CallOutcome.NO_ANSWER, actor=rep, as_of=AS_OF, task=other_task
        )

    other_task.refresh_from_db()
    assert other_task.status == CollectionTask.Status.OPEN
    assert not CaseEvent.objects.exists()


# --- Dunning pause -----------------------------------------------------------


def test_finance_pauses_dunning_with_a_reason_and_the_run_respects_it(rep):
    # Given a customer with an overdue invoice
    finance = FinanceUserFactory()
    customer = CustomerFactory(sales_rep=rep)
    ContactFactory(customer=customer)
    overdue_invoice(customer=customer, due=date(2026, 2, 27))

    # When finance pauses dunning until 03-10
    customer_dunning_pause(
        customer=customer,
        until=date(2026, 3, 10),
        reason="CFO on leave, agreed by phone",
        actor=finance,
        as_of=AS_OF,
    )

    # Then the customer carries the pause, the timeline shows it, the run sends nothing
    customer.refresh_from_db()
    assert customer.dunning_paused_until == date(2026, 3, 10)
    assert customer.dunning_pause_reason == "CFO on leave, agreed by phone"
    paused = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.DUNNING_PAUSED)
    assert paused.actor == finance
    run_dunning(as_of=AS_OF)
    assert not Communication.objects.filter(customer=customer).exists()

    # When finance resumes it, the next run reminds
    customer_dunning_resume(customer=customer, actor=finance)
    customer.refresh_from_db()
    assert customer.dunning_paused_until is None
    run_dunning(as_of=AS_OF + timedelta(days=1))
    assert Communication.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    ("until", "reason", "message"),
    [
        (AS_OF - timedelta(days=1), "Leave", "today or later"),
        (AS_OF + timedelta(days=181), "Leave", "at most 180 days"),
        (AS_OF + timedelta(days=5), "  ", "Say why"),
        (AS_OF + timedelta(days=5), "x" * 201, "under 200"),
    ],
)
def test_bad_pauses_are_refused(until, reason, message):
    customer = CustomerFactory()

    with pytest.raises(BusinessRuleError, match=message):
        customer_dunning_pause(
            customer=customer, until=until, reason=reason, actor=ManagerFactory(), as_of=AS_OF
        )

    customer.refresh_from_db()
    assert customer.dunning_paused_until is None
    assert not CaseEvent.objects.exists()


def test_a_rep_cannot_pause_dunning():
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)

    with pytest.raises(BusinessRuleError, match="finance or a manager"):
        customer_dunning_pause(
            customer=customer, until=date(2026, 3, 9), reason="Asked", actor=rep, as_of=AS_OF
        )
    with pytest.raises(BusinessRuleError, match="finance or a manager"):
        customer_dunning_resume(customer=customer, actor=rep)


def test_resume_without_a_pause_is_refused():
    with pytest.raises(BusinessRuleError, match="not paused"):
        customer_dunning_resume(customer=CustomerFactory(), actor=FinanceUserFactory())


def test_every_new_task_is_on_the_timeline_alike_whoever_made_it(case, rep):
    """The run's phone task, its no-email call and a rep's follow-up: one shape of row, worded
    with the task's due date."""
    from core.events import render
    from dunning.services.events import task_created_data

    collection_case_set_reason(
        case=case, reason=CollectionCase.OverdueReason.PROCESS_DELAY, actor=rep, as_of=AS_OF
    )
    run_dunning(as_of=AS_OF)  # the reminder's phone task; no finance contact: a call instead

    tasks = CollectionTask.objects.filter(customer=case.customer)
    assert sorted(task.params["what"] for task in tasks) == ["call", "follow_up", "no_email"]
    rows = {row.data["task"]: row for row in events(case, CaseEvent.Kind.TASK_CREATED)}
    for task in tasks:
        assert rows[task.pk].data == task_created_data(task)
        assert task.due_date.strftime("%Y") in render("task_created", rows[task.pk].data)
