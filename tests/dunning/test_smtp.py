"""The sender against real local SMTP servers: an outage delays messages, never drops them.

Servers run in this process (aiosmtpd, raw sockets); time is simulated with
time_machine; the sweep is the real beat task.
"""

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from dunning.models import CaseEvent, Communication, LevelCode
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from dunning.tasks import dunning_send_pending_task
from tests.dunning.mail_backends import PaymentLandsBackend
from tests.dunning.smtp_servers import free_port, raw_server, smtp_sink
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
    with time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


@pytest.fixture
def smtp(settings):
    """Point Django's SMTP backend at a local port; return a function that sets the port."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1

    def point_at(port: int) -> None:
        settings.EMAIL_PORT = port

    return point_at


def reminders(count: int) -> list[Communication]:
    for number in range(count):
        customer = dunning_customer(code=f"S-{number:03d}")
        due_invoice(customer=customer, due=D, number=f"S-{number:03d}-1")
    run_dunning(as_of=RUN_DAY)
    found = list(Communication.objects.filter(level=LevelCode.REMINDER).order_by("pk"))
    assert len(found) == count
    return found


def statuses() -> set[str]:
    return set(Communication.objects.values_list("status", flat=True))


def test_a_refusing_server_ends_each_attempt_with_its_reason_and_backs_off(clock, smtp, settings):
    # Given three pending reminders and a server that answers 421 and hangs up
    settings.DUNNING_SEND_MAX_ATTEMPTS = 3
    first, *others = reminders(3)
    with raw_server("refuse") as server:
        smtp(server.port)

        # When the sender runs, then again each time the back-off allows
        summary = communications_send()

        # Then one attempt found the server refusing; the batch stopped there
        assert summary.retrying == [first.pk]
        assert len(server.connections) == 1
        first.refresh_from_db()
        assert first.status == Communication.Status.PENDING
        assert "421" in first.failure_detail
        assert first.next_attempt_at == first.first_attempt_at + timedelta(minutes=1)
        # and the others wait untouched for the next sweep
        assert all(Communication.objects.get(pk=other.pk).attempts == 0 for other in others)

        # back-off doubles: 1, then 2 minutes; the third attempt is the last
        clock.shift(timedelta(seconds=59))
        assert first.pk not in communications_send(ids=[first.pk]).retrying
        clock.shift(timedelta(seconds=1))
        assert communications_send(ids=[first.pk]).retrying == [first.pk]
        first.refresh_from_db()
        assert first.next_attempt_at - timezone_now() == timedelta(minutes=2)
        clock.shift(timedelta(minutes=2))
        assert communications_send(ids=[first.pk]).failed == [first.pk]

    first.refresh_from_db()
    assert first.status == Communication.Status.FAILED
    assert first.failure_reason == Communication.FailureReason.SMTP_ERROR
    assert "421" in first.failure_detail
    assert first.attempts == 3


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_a_server_that_drops_the_connection_is_retried_and_shown_on_the_desk(clock, smtp, client):
    (communication,) = reminders(1)
    with raw_server("drop") as server:
        smtp(server.port)
        summary = dunning_send_pending_task()

    assert summary["retrying"] == 1
    communication.refresh_from_db()
    assert communication.status == Communication.Status.PENDING
    assert "SMTPServerDisconnected" in communication.failure_detail

    client.force_login(FinanceUserFactory())
    page = client.get(reverse("dashboards:finance_desk")).content.decode()
    assert 'data-testid="count-outgoing">1<' in page
    assert "SMTPServerDisconnected" in page


def test_a_blackhole_server_costs_one_timeout_not_one_per_message(clock, smtp):
    # Given ten pending reminders and a server that accepts and never answers
    reminders(10)
    with raw_server("blackhole") as server:
        smtp(server.port)

        started = time.perf_counter()
        summary = dunning_send_pending_task()
        elapsed = time.perf_counter() - started

        # Then the sweep gave up after one timeout (EMAIL_TIMEOUT = 1 s)
        assert elapsed < 5
        assert len(server.connections) == 1
    assert summary["retrying"] == 1
    assert statuses() == {Communication.Status.PENDING}
    timed_out = Communication.objects.get(attempts=1)
    assert "timed out" in timed_out.failure_detail


def test_a_server_absent_for_an_hour_delivers_every_message_once_when_it_returns(clock, smtp):
    # Given the day's reminders and no mail server on the configured port
    communications = reminders(8)
    port = free_port()
    smtp(port)

    # When the beat sweeps every minute through an hour of outage
    for _minute in range(60):
        dunning_send_pending_task()
        clock.shift(timedelta(minutes=1))
    assert statuses() == {Communication.Status.PENDING}  # delayed, none dropped
    assert Communication.objects.filter(failure_detail__contains="Connection refused").exists()

    # and the server comes back
    with smtp_sink(port) as (sink, _):
        back_at = timezone_now()
        while statuses() != {Communication.Status.SENT}:
            assert timezone_now() - back_at <= timedelta(minutes=31), "not all sent in time"
            dunning_send_pending_task()
            clock.shift(timedelta(minutes=1))

    # Then every message arrived exactly once, with its own stable Message-ID
    expected = sorted(c.email_message_id for c in communications)
    assert sorted(sink.message_ids) == expected
    assert not Communication.objects.filter(failure_reason__gt="").exists()


def test_past_the_retry_window_a_message_is_undelivered_on_the_desk_and_a_retry_sends_it_once(
    clock, smtp, settings, django_capture_on_commit_callbacks
):
    # Given a retry window of two hours and a server down for three
    settings.DUNNING_SEND_RETRY_WINDOW = timedelta(hours=2)
    (communication,) = reminders(1)
    port = free_port()
    smtp(port)
    for _step in range(36):
        dunning_send_pending_task()
        clock.shift(timedelta(minutes=5))

    # Then the message is undelivered, with its reason, on finance's desk
    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.SMTP_ERROR
    assert "ConnectionRefusedError" in communication.failure_detail
    finance = FinanceUserFactory()
    desk = Client(enforce_csrf_checks=True)
    desk.force_login(finance)
    page = desk.get(reverse("dashboards:finance_desk")).content.decode()
    assert 'data-testid="count-failed">1<' in page
    assert "Mail server kept failing" in page
    assert "ConnectionRefusedError" in page
    retry_url = reverse("dashboards:communication_retry", args=[communication.pk])
    assert retry_url in page

    # A POST without the CSRF token is refused; a sales rep may not retry
    assert desk.post(retry_url).status_code == 403
    rep = Client()
    rep.force_login(SalesRepFactory())
    assert rep.post(retry_url).status_code in (403, 404)

    # When the server is back and finance retries from the desk
    with smtp_sink(port) as (sink, _):
        token = desk.cookies["csrftoken"].value
        with django_capture_on_commit_callbacks(execute=True):
            response = desk.post(retry_url, {"csrfmiddlewaretoken": token})
        assert response.status_code == 302
        # a second click finds nothing to retry and sends nothing
        with django_capture_on_commit_callbacks(execute=True):
            desk.post(retry_url, {"csrfmiddlewaretoken": token})
        dunning_send_pending_task()

    # Then it went out once, and the timeline says who sent it again
    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENT
    assert sink.message_ids == [communication.email_message_id]
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.COMMUNICATION_RETRIED)
    assert event.actor == finance
    assert event.data["previous_reason"] == Communication.FailureReason.SMTP_ERROR


def test_a_payment_recorded_after_the_sender_started_stops_the_later_messages(
    clock, smtp, settings
):
    # Given two reminders, and the second customer's payment recorded right
    # after the first message went out (while the sender is mid-run)
    first, second = reminders(2)
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.PaymentLandsBackend"
    invoice = second.steps.get().invoice
    PaymentLandsBackend.after_first = lambda: pay(invoice=invoice, amount="1000.00", on=RUN_DAY)
    with smtp_sink() as (sink, port):
        smtp(port)
        summary = communications_send()

    # Then the payment itself cancelled the second message, in its own transaction (work
    # follows the money), before the sender came to claim it: only the first went out
    assert summary.sent == [first.pk]
    assert summary.cancelled == []
    second.refresh_from_db()
    assert (second.status, second.failure_reason) == (
        Communication.Status.CANCELLED,
        Communication.FailureReason.SETTLED,
    )
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.COMMUNICATION_CANCELLED)
    assert (event.data["communication"], event.data["reason"]) == (second.pk, "paid")
    assert sink.message_ids == [first.email_message_id]
