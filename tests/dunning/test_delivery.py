"""Delivery reliability on one database: the gap counts carried-out rungs only, the desk's
actions, and leases recovered by the sweep from the database alone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from core.exceptions import BusinessRuleError
from dunning.models import (
    CaseEvent,
    CollectionTask,
    Communication,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    LevelCode,
)
from dunning.services.communications import communication_approve
from dunning.services.delivery import communication_mark_handled, communication_retry
from dunning.services.run import run_dunning
from dunning.services.send import communications_claim, communications_send
from dunning.tasks import dunning_run_task, dunning_send_pending_task
from tests.dunning.mail_backends import FlakyBackend
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def levels(invoice) -> set[str]:
    return set(DunningStep.objects.filter(invoice=invoice).values_list("level", flat=True))


def undelivered_reminder(settings, clock) -> Communication:
    """A reminder whose mail server failed past the retry window."""
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    settings.DUNNING_SEND_RETRY_WINDOW = timedelta(minutes=30)
    FlakyBackend.failures = 100
    customer = dunning_customer()
    due_invoice(customer=customer, due=D)
    run_dunning(as_of=D + timedelta(days=1))
    communication = Communication.objects.get(level=LevelCode.REMINDER)
    while communication.status != Communication.Status.FAILED:
        communications_send()
        clock.shift(timedelta(minutes=10))
        communication.refresh_from_db()
    FlakyBackend.failures = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return communication


# --- The gap counts only rungs that were carried out ------------------------------------


def test_an_unsent_rung_holds_the_ladder_until_its_message_goes_out(clock, settings):
    # Given a reminder fired on D+1 that the mail server did not take
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    FlakyBackend.failures = 100
    invoice = due_invoice(customer=dunning_customer(), due=D)
    run_dunning(as_of=D + timedelta(days=1))
    communications_send()

    # When the demand-letter day comes, the reminder is still not out
    run_dunning(as_of=D + timedelta(days=15))

    # Then the ladder does not climb
    assert levels(invoice) == {LevelCode.REMINDER}

    # When the reminder is finally delivered, the next run climbs
    FlakyBackend.failures = 0
    clock.shift(timedelta(hours=2))
    assert len(communications_send().sent) == 1
    run_dunning(as_of=D + timedelta(days=16))
    assert levels(invoice) == {LevelCode.REMINDER, LevelCode.DEMAND_LETTER}


def test_a_rung_handled_by_phone_or_whose_task_is_done_counts_as_reached(clock, settings):
    communication = undelivered_reminder(settings, clock)
    invoice = communication.steps.get().invoice
    run_dunning(as_of=D + timedelta(days=15))
    assert levels(invoice) == {LevelCode.REMINDER}

    communication_mark_handled(
        communication=communication, actor=FinanceUserFactory(), note="Called Ms Li, pays Friday"
    )
    run_dunning(as_of=D + timedelta(days=16))

    assert levels(invoice) == {LevelCode.REMINDER, LevelCode.DEMAND_LETTER}
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.COMMUNICATION_HANDLED)
    assert event.typed_note == "Called Ms Li, pays Friday"
    assert event.actor is not None


def test_the_reminder_call_task_done_lets_the_ladder_climb(clock, settings):
    communication = undelivered_reminder(settings, clock)
    invoice = communication.steps.get().invoice
    CollectionTask.objects.filter(
        communication=communication, kind=CollectionTask.Kind.CALL
    ).update(status=CollectionTask.Status.DONE)

    run_dunning(as_of=D + timedelta(days=15))

    assert levels(invoice) == {LevelCode.REMINDER, LevelCode.DEMAND_LETTER}


# --- Desk actions ----------------------------------------------------------------------


def test_only_finance_retries_or_marks_handled_and_a_note_is_required(clock, settings):
    communication = undelivered_reminder(settings, clock)
    rep = SalesRepFactory()

    with pytest.raises(BusinessRuleError):
        communication_retry(communication=communication, actor=rep)
    with pytest.raises(BusinessRuleError):
        communication_mark_handled(communication=communication, actor=rep, note="called")
    with pytest.raises(BusinessRuleError):
        communication_mark_handled(communication=communication, actor=FinanceUserFactory(), note="")


def test_marked_handled_leaves_the_desk_and_cannot_be_retried(client, clock, settings):
    communication = undelivered_reminder(settings, clock)
    client.force_login(FinanceUserFactory())
    desk = reverse("dashboards:finance_desk")
    assert 'data-testid="count-failed">1<' in client.get(desk).content.decode()

    response = client.post(
        reverse("dashboards:communication_handled", args=[communication.pk]),
        {"note": "Reached their accountant by phone"},
    )

    assert response.status_code == 302
    assert 'data-testid="count-failed">0<' in client.get(desk).content.decode()
    communication.refresh_from_db()
    assert communication.handled_at is not None
    assert not communication.is_retryable
    client.post(reverse("dashboards:communication_retry", args=[communication.pk]))
    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED
    assert mail.outbox == []


def test_another_reps_message_is_404_on_the_desk_actions(client, clock, settings):
    communication = undelivered_reminder(settings, clock)
    client.force_login(FinanceUserFactory())
    rep = SalesRepFactory()
    client.force_login(rep)

    for name in ("communication_retry", "communication_send_now", "communication_handled"):
        response = client.post(reverse(f"dashboards:{name}", args=[communication.pk]))
        assert response.status_code in (403, 404)
    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED


def test_send_now_sends_an_approved_letter_at_once(
    client, clock, django_capture_on_commit_callbacks
):
    # Given an approved demand letter that would wait for the next sweep
    clock.move_to(datetime(2026, 3, 17, 9, 0, tzinfo=SHANGHAI))
    customer = dunning_customer()
    due_invoice(customer=customer, due=D)
    run_dunning(as_of=D + timedelta(days=1))
    communications_send()
    run_dunning(as_of=D + timedelta(days=15))
    letter = Communication.objects.get(level=LevelCode.DEMAND_LETTER)
    finance = FinanceUserFactory()
    communication_approve(communication=letter, actor=finance)
    mail.outbox.clear()
    client.force_login(finance)
    page = client.get(reverse("dashboards:finance_desk")).content.decode()
    send_now = reverse("dashboards:communication_send_now", args=[letter.pk])
    assert send_now in page

    # When finance presses "send now"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(send_now)

    # Then it went out at once
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == Communication.Status.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].attachments


def test_the_desk_costs_a_bounded_number_of_queries_with_many_messages(
    client, clock, settings, django_assert_max_num_queries
):
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    FlakyBackend.failures = 1000
    for number in range(15):
        due_invoice(customer=dunning_customer(code=f"Q-{number}"), due=D)
    run_dunning(as_of=D + timedelta(days=1))
    for _ in range(15):
        communications_send()  # each sweep stops at the first failure
    client.force_login(FinanceUserFactory())

    with django_assert_max_num_queries(30):
        page = client.get(reverse("dashboards:finance_desk")).content.decode()

    assert 'data-testid="count-outgoing">15<' in page


# --- Leases, recovered from the database ---------------------------------------------------


def test_a_chunk_nobody_works_on_is_dispatched_again_once_its_lease_expires(
    clock, django_capture_on_commit_callbacks
):
    # Given a run planned and dispatched, but its chunk's task lost (a Redis
    # that forgot its queue): the dispatch went nowhere
    due_invoice(customer=dunning_customer(), due=D)
    dunning_run_task(as_of="2026-03-03")  # on-commit dispatch not run: the message is lost
    run = DunningRun.objects.get()
    assert run.status == DunningRun.Status.RUNNING
    chunk = run.chunks.get()
    assert chunk.claimed_at is not None

    # When the sweep runs within the lease, it leaves the chunk alone
    assert dunning_send_pending_task()["chunks_redispatched"] == 0

    # When the lease has expired, the sweep hands the chunk out again
    clock.shift(timedelta(minutes=4))
    with django_capture_on_commit_callbacks(execute=True):
        answer = dunning_send_pending_task()

    assert answer["chunks_redispatched"] == 1
    chunk.refresh_from_db()
    assert chunk.status == DunningRunChunk.Status.DONE
    run.refresh_from_db()
    assert run.status == DunningRun.Status.COMPLETED
    communication = Communication.objects.get()
    assert communication.status == Communication.Status.SENT
    assert len(mail.outbox) == 1


def test_a_run_whose_chunks_are_done_is_finished_by_the_sweep(clock):
    due_invoice(customer=dunning_customer(), due=D)
    dunning_run_task(as_of="2026-03-03")
    chunk = DunningRunChunk.objects.get()
    from dunning.services.run import dunning_chunk_process

    dunning_chunk_process(chunk_id=chunk.pk)  # the worker died before finishing the run
    assert DunningRun.objects.get().status == DunningRun.Status.RUNNING

    assert dunning_send_pending_task()["runs_finished"] == 1
    assert DunningRun.objects.get().status == DunningRun.Status.COMPLETED


def test_a_message_whose_lease_expired_in_sending_goes_out_once(clock):
    due_invoice(customer=dunning_customer(), due=D)
    run_dunning(as_of=D + timedelta(days=1))
    communications_claim()  # claimed, then the worker died

    assert dunning_send_pending_task()["reaped"] == 0
    clock.shift(timedelta(minutes=4))
    answer = dunning_send_pending_task()

    assert answer["reaped"] == 1
    assert answer["sent"] == 1
    assert len(mail.outbox) == 1
    assert Communication.objects.get().attempts == 2


def test_a_rung_whose_message_was_cancelled_does_not_hold_the_item_forever(clock):
    # Given a reminder cancelled at send time because the invoice was paid
    invoice = due_invoice(customer=dunning_customer(), due=D)
    run_dunning(as_of=D + timedelta(days=1))
    reminder = Communication.objects.get()
    reminder.status = Communication.Status.CANCELLED
    reminder.failure_reason = Communication.FailureReason.SETTLED
    reminder.save()

    # When the item is due again later (the payment was reversed), the
    # reminder level cannot fire twice, so the ladder goes on from it
    run_dunning(as_of=D + timedelta(days=15))

    assert levels(invoice) == {LevelCode.REMINDER, LevelCode.DEMAND_LETTER}
