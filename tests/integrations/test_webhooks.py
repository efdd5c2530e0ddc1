"""Webhook deliveries against a real local receiver: signed, retried, disabled, replayed, swept."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.domain_events import EventType
from integrations.models import OutboundEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from integrations.services import webhooks
from integrations.services.outbox import events_fan_out
from integrations.services.webhooks import (
    webhook_delivery_replay,
    webhook_subscription_create,
    webhook_subscription_set_active,
)
from integrations.tasks import integrations_sweep_task
from tests.factories.dunning import due_invoice, dunning_customer, pay
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def finance():
    return FinanceUserFactory()


def subscribe(finance, url: str, types=(EventType.PAYMENT_RECORDED,)) -> WebhookSubscription:
    return webhook_subscription_create(name="ERP", url=url, event_types=types, actor=finance)


def record_payment(capture=None, amount: str = "1000.00"):
    """Record a payment; with `capture`, what follows its commit runs (else the sweep's job)."""
    invoice = due_invoice(customer=dunning_customer(), due=D, amount="1000.00")
    if capture is None:
        pay(invoice=invoice, amount=amount, on=D)
    else:
        with capture(execute=True):
            pay(invoice=invoice, amount=amount, on=D)
    return invoice


def test_a_payment_reaches_the_subscriber_signed_with_its_event_id(
    fake, finance, django_capture_on_commit_callbacks
):
    subscription = subscribe(finance, fake.route("/erp", kind="webhook"))
    fake.routes["/erp"].secret = subscription.secret

    with time_machine.travel(NOON, tick=True):
        record_payment(django_capture_on_commit_callbacks)

    (received,) = fake.requests_to("/erp")
    assert received.signature_ok
    body = received.json()
    event = OutboundEvent.objects.get(type=EventType.PAYMENT_RECORDED)
    assert body == {
        "id": str(event.event_id),
        "type": "payment.recorded",
        "created": int(event.created_at.timestamp()),
        "data": event.params,
    }
    assert received.headers["huikuan-event-id"] == str(event.event_id)
    assert received.headers["huikuan-signature"].startswith("t=")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code == 200
    assert attempt.succeeded
    assert attempt.attempt == 1


def test_only_subscribed_types_go_to_active_subscribers(
    fake, finance, django_capture_on_commit_callbacks
):
    paid = subscribe(finance, fake.route("/paid", kind="webhook"), types=[EventType.INVOICE_PAID])
    fake.routes["/paid"].secret = paid.secret
    off = subscribe(finance, fake.route("/off", kind="webhook"), types=list(EventType.values))
    webhook_subscription_set_active(subscription=off, active=False, actor=finance)

    with time_machine.travel(NOON, tick=True):
        record_payment(django_capture_on_commit_callbacks)

    assert [item.json()["type"] for item in fake.requests_to("/paid")] == ["invoice.paid"]
    assert fake.requests_to("/off") == []


def test_a_failing_receiver_backs_off_and_is_disabled_after_failures_in_a_row(
    fake, finance, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    subscription = subscribe(finance, fake.route("/down", kind="webhook", status=500))
    fake.routes["/down"].secret = subscription.secret

    with time_machine.travel(NOON, tick=False) as clock:
        record_payment(django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.next_attempt_at == NOON + timedelta(seconds=10)
        # Nothing is due before the back-off ends
        integrations_sweep_task()
        assert len(fake.requests_to("/down")) == 1
        clock.move_to(NOON + timedelta(seconds=11))
        integrations_sweep_task()
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == NOON + timedelta(seconds=11 + 20)
        clock.move_to(NOON + timedelta(seconds=32))
        integrations_sweep_task()

    assert len(fake.requests_to("/down")) == 3
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason == WebhookSubscription.DisabledReason.FAILURES
    assert list(
        WebhookAttempt.objects.order_by("attempt").values_list("attempt", "status_code")
    ) == [(1, 500), (2, 500), (3, 500)]
    # Disabled: the delivery waits, nothing more is posted
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        integrations_sweep_task()
    assert len(fake.requests_to("/down")) == 3

    # Turned on again, the waiting delivery goes as soon as the receiver answers
    fake.routes["/down"].status = 200
    with (
        time_machine.travel(NOON + timedelta(hours=1), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        webhook_subscription_set_active(subscription=subscription, active=True, actor=finance)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert len({item.json()["id"] for item in fake.requests_to("/down")}) == 1


def test_replay_posts_the_same_event_again_with_a_new_attempt(
    fake, finance, django_capture_on_commit_callbacks
):
    subscription = subscribe(finance, fake.route("/erp", kind="webhook"))
    fake.routes["/erp"].secret = subscription.secret
    with time_machine.travel(NOON, tick=True):
        record_payment(django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_replay(delivery=delivery, actor=finance)

    first, second = fake.requests_to("/erp")
    assert first.json()["id"] == second.json()["id"]
    assert second.signature_ok
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_only_finance_manages_subscriptions(fake):
    rep = SalesRepFactory()
    with pytest.raises(PermissionDenied):
        webhook_subscription_create(
            name="x", url="https://example.com", event_types=["invoice.paid"], actor=rep
        )
    assert not WebhookSubscription.objects.exists()


def test_a_delivery_claimed_by_a_killed_worker_is_posted_again_after_its_lease(
    fake, finance, settings
):
    settings.WEBHOOK_LEASE_SECONDS = 60
    subscription = subscribe(finance, fake.route("/erp", kind="webhook"))
    fake.routes["/erp"].secret = subscription.secret
    with time_machine.travel(NOON, tick=False) as clock:
        record_payment()  # the event is written; its fan-out task is lost
        integrations_sweep_task()  # fans out and posts
        assert len(fake.requests_to("/erp")) == 1
        WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING)
        # A worker claims the delivery and dies before posting
        (claimed,) = webhooks._claim(subscription_id=subscription.pk, limit=10)
        integrations_sweep_task()
        assert len(fake.requests_to("/erp")) == 1  # its lease still runs
        clock.move_to(NOON + timedelta(seconds=61))
        integrations_sweep_task()

    claimed.refresh_from_db()
    assert claimed.status == WebhookDelivery.Status.DELIVERED
    ids = [json.loads(item.body)["id"] for item in fake.requests_to("/erp")]
    assert len(ids) == 2
    assert len(set(ids)) == 1  # at least once: the receiver dedupes on the id


@pytest.mark.parametrize("count", [10, 300])
def test_fan_out_takes_the_same_statements_whatever_the_number_of_events(
    finance, count, django_assert_max_num_queries
):
    for name in ("a", "b", "c"):
        subscribe(finance, f"https://{name}.example.com", types=list(EventType.values))
    OutboundEvent.objects.bulk_create(
        OutboundEvent(type=EventType.INVOICE_PAID, params={"n": n}) for n in range(count)
    )

    with django_assert_max_num_queries(9):
        result = events_fan_out()

    assert result.events == count
    assert WebhookDelivery.objects.count() == 3 * count
    assert not OutboundEvent.objects.filter(fanned_out_at__isnull=True).exists()
    assert events_fan_out().events == 0  # nothing twice


def test_the_sender_renews_its_lease_while_a_slow_receiver_answers(fake, finance, settings):
    # A lease shorter than the receiver takes: without renewal the sweep would post it twice
    settings.WEBHOOK_LEASE_SECONDS = 0.6
    subscription = subscribe(finance, fake.route("/slow", kind="webhook", delay=1.0))
    fake.routes["/slow"].secret = subscription.secret
    record_payment()
    events_fan_out()
    before = timezone.now()

    summary = webhooks.webhook_deliveries_send(subscription_id=subscription.pk)

    delivery = WebhookDelivery.objects.get()
    assert summary.delivered == [delivery.pk]
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    # Renewed at least once while the post was in flight (every third of the lease)
    assert delivery.claimed_at >= before + timedelta(seconds=0.2)
    assert len(fake.requests_to("/slow")) == 1


def test_a_task_past_its_budget_leaves_the_rest_due_and_says_so(fake, finance, settings):
    settings.WEBHOOK_CONCURRENCY = 1
    settings.WEBHOOK_BATCH_ROUNDS = 1
    subscription = subscribe(finance, fake.route("/erp", kind="webhook"))
    fake.routes["/erp"].secret = subscription.secret
    for _ in range(3):
        record_payment()
    events_fan_out()

    summary = webhooks.webhook_deliveries_send(subscription_id=subscription.pk, budget_seconds=0)

    assert summary.more
    assert summary.delivered == []
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).count() == 3
    assert webhooks.webhook_deliveries_send(subscription_id=subscription.pk).more is False
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == 3
