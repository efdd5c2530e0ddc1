"""Sending: claim, re-check at send time, stable Message-ID, retries, failures, reaper, letters."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionTask, Communication, DunningLevel, LevelCode
from dunning.services import send as send_module
from dunning.services.communications import communication_approve, communication_reject
from dunning.services.run import run_dunning
from dunning.services.send import (
    communication_deliver,
    communications_claim,
    communications_reap,
    communications_send,
)
from dunning.tasks import dunning_run_task
from tests.dunning.mail_backends import FlakyBackend
from tests.factories.cases import ContractFactory, DisputeFactory, invoice_under_contract
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy, pay
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date(2026, 3, 2)
RUN_DAY = D + timedelta(days=1)


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


@pytest.fixture
def clock():
    """Real time stands at 08:00 on the morning of the run day."""
    with time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def reminder_for(*invoices_amounts: str, **customer_fields) -> Communication:
    customer = dunning_customer(**customer_fields)
    for position, amount in enumerate(invoices_amounts or ("1000.00",)):
        due_invoice(customer=customer, due=D, amount=amount, number=f"R-{customer.pk}-{position}")
    run_dunning(as_of=RUN_DAY)
    return Communication.objects.get(customer=customer, level=LevelCode.REMINDER)


def test_a_pending_message_is_sent_once_with_its_stable_message_id(clock):
    communication = reminder_for()
    assert communication.subject == ""  # rendered and stored when it goes out

    first = communications_send()
    second = communications_send()

    communication.refresh_from_db()
    assert first.sent == [communication.pk]
    assert second.sent == []
    assert communication.status == Communication.Status.SENT
    assert communication.sent_at is not None
    assert communication.attempts == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap@customer.example"]
    assert message.extra_headers["Message-ID"] == f"<{communication.message_id}@huikuan.localhost>"
    assert message.subject == communication.subject != ""
    assert message.body.startswith(communication.body.rstrip("\n"))
    assert "1,000.00" in communication.body
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.COMMUNICATION_SENT).count() == 1


def test_a_payment_between_run_and_send_cancels_the_message_and_its_call_task(clock):
    communication = reminder_for()
    invoice = communication.steps.get().invoice

    # The payment itself cancels the message and closes its task (dunning.services.follow)
    pay(invoice=invoice, amount="1000.00", on=RUN_DAY)

    communication.refresh_from_db()
    assert communication.status == Communication.Status.CANCELLED
    assert communication.failure_reason == Communication.FailureReason.SETTLED
    task = CollectionTask.objects.get(communication=communication)
    assert task.status == CollectionTask.Status.CANCELLED
    assert task.closed_reason == "paid"
    # and the sender has nothing left to claim
    summary = communications_send()
    assert summary.cancelled == []
    assert summary.sent == []
    assert mail.outbox == []


def test_a_partly_settled_message_lists_only_what_is_still_due(clock):
    communication = reminder_for("1000.00", "2000.00")
    paid_step, open_step = communication.steps.order_by("invoice__number")
    pay(invoice=paid_step.invoice, amount="1000.00", on=RUN_DAY)

    communications_send()

    communication.refresh_from_db()
    paid_step.refresh_from_db()
    assert communication.status == Communication.Status.SENT
    assert paid_step.excluded_reason == "paid"
    assert len(mail.outbox) == 1
    assert open_step.invoice.number in mail.outbox[0].body
    assert paid_step.invoice.number not in mail.outbox[0].body
    assert str(communication.total_amount) == "2000.00"


def test_a_dispute_or_pause_opened_before_sending_stops_the_message(clock):
    disputed = reminder_for()
    DisputeFactory(customer=disputed.customer, invoices=[disputed.steps.get().invoice])
    paused = reminder_for()
    paused.customer.dunning_paused_until = RUN_DAY + timedelta(days=30)
    paused.customer.save()

    summary = communications_send()

    assert sorted(summary.cancelled) == sorted([disputed.pk, paused.pk])
    assert mail.outbox == []


def test_smtp_down_the_message_waits_and_is_retried_then_sent_once(clock, settings):
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    FlakyBackend.failures = 2
    communication = reminder_for()

    first = communications_send()
    communication.refresh_from_db()
    assert first.retrying == [communication.pk]
    assert communication.status == Communication.Status.PENDING
    assert communication.next_attempt_at == datetime(2026, 3, 3, 8, 1, tzinfo=SHANGHAI)
    assert "SMTPServerDisconnected" in communication.failure_detail
    assert communications_send().retrying == []  # not due again yet

    clock.shift(timedelta(minutes=1, seconds=1))
    assert communications_send().retrying == [communication.pk]
    clock.shift(timedelta(minutes=2, seconds=1))
    assert communications_send().sent == [communication.pk]

    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENT
    assert communication.attempts == 3
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == communication.email_message_id


def test_smtp_failing_every_time_ends_failed_with_the_reason(clock, settings):
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    settings.DUNNING_SEND_MAX_ATTEMPTS = 3
    FlakyBackend.failures = 10
    communication = reminder_for()

    for _ in range(3):
        communications_send()
        clock.shift(timedelta(hours=1))

    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.SMTP_ERROR
    assert communication.attempts == 3
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.COMMUNICATION_FAILED).count() == 1


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("RefusingBackend", Communication.FailureReason.BAD_ADDRESS),
        ("BouncingBackend", Communication.FailureReason.BOUNCE),
    ],
)
def test_permanent_refusals_fail_at_once_with_their_reason(clock, settings, backend, reason):
    settings.EMAIL_BACKEND = f"tests.dunning.mail_backends.{backend}"
    communication = reminder_for()

    summary = communications_send()

    communication.refresh_from_db()
    assert summary.failed == [communication.pk]
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == reason
    assert communication.attempts == 1


def test_a_4xx_answer_is_retried(clock, settings):
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.GreylistingBackend"
    communication = reminder_for()

    summary = communications_send()

    communication.refresh_from_db()
    assert summary.retrying == [communication.pk]
    assert communication.status == Communication.Status.PENDING


def test_claimed_messages_cannot_be_claimed_twice(clock):
    communication = reminder_for()

    first = communications_claim()
    second = communications_claim()

    assert first.claimed == [communication.pk]
    assert second.claimed == []
    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENDING


def test_the_reaper_returns_a_message_left_in_sending_and_it_goes_out_once(clock):
    communication = reminder_for()
    communications_claim()  # the worker claimed it, then died before sending

    assert communications_reap() == 0  # not stuck long enough yet
    clock.shift(timedelta(minutes=16))
    assert communications_reap() == 1
    summary = communications_send()

    communication.refresh_from_db()
    assert summary.sent == [communication.pk]
    assert communication.status == Communication.Status.SENT
    assert communication.attempts == 2
    assert len(mail.outbox) == 1


def test_a_message_stuck_too_often_fails_with_a_reason(clock, settings):
    settings.DUNNING_SEND_MAX_ATTEMPTS = 1
    communication = reminder_for()
    communications_claim()
    clock.shift(timedelta(hours=1))

    communications_reap()

    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.STUCK


def test_deliver_ignores_a_message_that_is_not_claimed(clock):
    communication = reminder_for()

    assert communication_deliver(communication_id=communication.pk) == "pending"
    assert mail.outbox == []


def _demand_letter(invoice_factory) -> Communication:
    run_dunning(as_of=RUN_DAY)
    communications_send()  # the reminder went out, so the ladder climbs
    run_dunning(as_of=D + timedelta(days=15))
    return Communication.objects.get(level=LevelCode.DEMAND_LETTER)


def test_an_approved_demand_letter_is_rendered_stored_and_attached(clock):
    clock.move_to(datetime(2026, 3, 17, 9, 0, tzinfo=SHANGHAI))
    customer = dunning_customer()
    contract = ContractFactory(customer=customer)
    invoice_under_contract(contract=contract, due_date=D, issue_date=D - timedelta(days=30))
    letter = _demand_letter(None)
    assert letter.pk not in communications_send().sent  # it waits for approval
    mail.outbox.clear()

    communication_approve(communication=letter, actor=FinanceUserFactory())
    summary = communications_send()

    letter.refresh_from_db()
    assert summary.sent == [letter.pk]
    assert letter.letter_pdf.name.startswith("letters/")
    assert letter.letter_pdf.read().startswith(b"%PDF")
    (message,) = mail.outbox
    (attachment,) = message.attachments
    assert attachment[2] == "application/pdf"
    assert attachment[1].startswith(b"%PDF")
    assert CollectionTask.objects.filter(
        communication=letter, kind=CollectionTask.Kind.FOLLOW_UP
    ).exists()


def test_a_letter_that_fails_to_render_fails_visibly_and_the_others_still_go(clock, monkeypatch):
    clock.move_to(datetime(2026, 3, 17, 9, 0, tzinfo=SHANGHAI))
    broken = dunning_customer()
    due_invoice(customer=broken, due=D)
    healthy = dunning_customer()
    due_invoice(customer=healthy, due=D + timedelta(days=14))
    run_dunning(as_of=RUN_DAY)
    assert len(communications_send().sent) == 1  # the first customer's reminder
    mail.outbox.clear()
    # A letter level without approval: the sender renders the letter (an approved
    # one was rendered, or refused, at approval).
    DunningLevel.objects.filter(code=LevelCode.DEMAND_LETTER).update(requires_approval=False)
    run_dunning(as_of=D + timedelta(days=15))
    letter = Communication.objects.get(level=LevelCode.DEMAND_LETTER)

    def explode(*, communication):
        raise RuntimeError("font missing")

    monkeypatch.setattr(send_module, "letter_render", explode)
    summary = communications_send()

    letter.refresh_from_db()
    assert letter.status == Communication.Status.FAILED
    assert letter.failure_reason == Communication.FailureReason.RENDER_ERROR
    assert "font missing" in letter.failure_detail
    assert summary.failed == [letter.pk]
    assert len(summary.sent) == 1  # the second customer's reminder
    assert len(mail.outbox) == 1


def test_only_finance_approves_or_refuses_and_a_refusal_needs_a_reason(clock):
    clock.move_to(datetime(2026, 3, 17, 9, 0, tzinfo=SHANGHAI))
    due_invoice(customer=dunning_customer(), due=D)
    letter = _demand_letter(None)
    finance = FinanceUserFactory()

    with pytest.raises(BusinessRuleError):
        communication_approve(communication=letter, actor=SalesRepFactory())
    with pytest.raises(BusinessRuleError):
        communication_reject(communication=letter, actor=finance, reason=" ")
    communication_reject(communication=letter, actor=finance, reason="Customer called, paying")

    letter.refresh_from_db()
    assert letter.status == Communication.Status.CANCELLED
    assert letter.failure_reason == Communication.FailureReason.REJECTED
    # What finance refused, as it read.
    assert letter.subject
    assert "1,000.00" in letter.body
    with pytest.raises(BusinessRuleError):
        communication_approve(communication=letter, actor=finance)


def test_a_missing_template_fails_the_message_at_the_run_before_its_call_task(clock):
    DunningLevel.objects.filter(code=LevelCode.REMINDER).update(email_template="dunning/nowhere")
    customer = dunning_customer()
    due_invoice(customer=customer, due=D)

    run_dunning(as_of=RUN_DAY)

    reminder = Communication.objects.get(customer=customer)
    assert reminder.status == Communication.Status.FAILED
    assert reminder.failure_reason == Communication.FailureReason.RENDER_ERROR
    assert "dunning/nowhere" in reminder.failure_detail
    assert not CollectionTask.objects.filter(communication=reminder).exists()
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.COMMUNICATION_FAILED).count() == 1
    assert communications_send().sent == []


def test_a_message_whose_level_stopped_emailing_fails_instead_of_going_out_blank(clock):
    communication = reminder_for()
    assert communication.subject == ""
    DunningLevel.objects.filter(code=LevelCode.REMINDER).update(channels=["phone_task"])

    summary = communications_send()

    communication.refresh_from_db()
    assert summary.failed == [communication.pk]
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.RENDER_ERROR
    assert "sends no email" in communication.failure_detail
    assert mail.outbox == []


def test_the_beat_task_runs_the_ladder_and_sends(clock, django_capture_on_commit_callbacks):
    reminder_customer = dunning_customer(code="C-BEAT")
    due_invoice(customer=reminder_customer, due=D)

    with django_capture_on_commit_callbacks(execute=True):
        answer = dunning_run_task(as_of="2026-03-03")

    assert answer["as_of"] == "2026-03-03"
    assert answer["chunks"] == 1
    communication = Communication.objects.get(customer=reminder_customer)
    assert communication.status == Communication.Status.SENT
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run_task(as_of="2026-03-03")
    assert Communication.objects.count() == 1
    assert len(mail.outbox) == 1
