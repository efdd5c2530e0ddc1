"""The outbox: domain events become rows in the transaction of their change, then fan out.

`outbox_write` is the listener `core.domain_events` calls inside the
transaction that made the change, so an event exists exactly when its change
commits: nothing is lost if the process dies after the commit, nothing is
announced for a change that rolled back. Once committed, `events_fan_out`
turns each event into one delivery per matching webhook subscription and one
notice per robot that must hear about it at once; the beat sweep fans out
whatever a lost task left behind.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import JSONField, Value
from django.utils import timezone

from core.domain_events import DomainEvent, EventType
from core.money import money_quantize
from integrations.models import (
    OutboundEvent,
    Robot,
    RobotNotice,
    WebhookDelivery,
    WebhookSubscription,
)
from receivables.models import Invoice
from receivables.services.balance_changes import BalanceCause, BalanceChange

FAN_OUT_BATCH = 500
# The events a robot posts as soon as they happen (the rest wait for the digest).
ROBOT_ESCALATION_TYPES = (EventType.DUNNING_CASE_ESCALATED, EventType.PROMISE_BROKEN)


@dataclass
class FanOut:
    """What a fan-out created: how many events, and who has new work."""

    events: int = 0
    subscription_ids: list[int] = field(default_factory=list)
    robot_ids: list[int] = field(default_factory=list)


def event_types_wanted() -> set[str]:
    """The types someone listens to: an active subscription's, and the escalations when an
    active robot posts them (one query)."""
    subscribed = (
        WebhookSubscription.objects.filter(is_active=True)
        .values_list("event_types", flat=True)
        .order_by()
    )
    robots = Robot.objects.filter(is_active=True, send_escalations=True).annotate(
        types=Value(list(ROBOT_ESCALATION_TYPES), output_field=JSONField())
    )
    wanted: set[str] = set()
    for types in subscribed.union(
        robots.values_list("types", flat=True).order_by().distinct(), all=True
    ):
        wanted.update(types)
    return wanted


def outbox_write(events: Sequence[DomainEvent]) -> list[OutboundEvent]:
    """Write the events someone listens to in the caller's transaction (one insert) and fan
    them out after commit.

    An event of a type no active subscription or robot wants has nowhere to go: a
    subscription receives what happens after it exists. Writing only the wanted ones keeps
    a day's run of thousands of `invoice.overdue` from costing rows nobody reads.
    """
    wanted = event_types_wanted()
    rows = OutboundEvent.objects.bulk_create(
        [
            OutboundEvent(type=event.type, params=event.params, customer_id=event.customer_id)
            for event in events
            if event.type in wanted
        ]
    )
    if not rows:
        return rows
    ids = [row.pk for row in rows if row.pk is not None]

    def dispatch() -> None:
        from integrations.tasks import events_fan_out_task

        events_fan_out_task.delay(ids or None)

    transaction.on_commit(dispatch)
    return rows


def invoices_paid_announce(change: BalanceChange) -> None:
    """Write `invoice.paid` for the invoices a payment or credit note just settled (one read)."""
    if change.cause not in (BalanceCause.PAYMENT, BalanceCause.CREDIT_NOTE):
        return
    # Plain rows, not models: a bank statement settles thousands of invoices at once.
    paid = list(
        Invoice.objects.filter(pk__in=change.invoice_ids, status=Invoice.Status.PAID)
        .order_by("number")
        .values_list(
            "pk", "number", "customer_id", "customer__code", "amount", "currency", "due_date"
        )
    )
    if not paid:
        return
    outbox_write(
        [
            DomainEvent(
                type=EventType.INVOICE_PAID,
                params={
                    "invoice_id": pk,
                    "number": number,
                    "customer_code": customer_code,
                    "amount": str(money_quantize(amount)),
                    "currency": currency,
                    "due_date": due_date.isoformat(),
                    "cause": change.cause,
                },
                customer_id=customer_id,
            )
            for pk, number, customer_id, customer_code, amount, currency, due_date in paid
        ]
    )


def events_fan_out(*, ids: Sequence[int] | None = None, limit: int = FAN_OUT_BATCH) -> FanOut:
    """Create the deliveries and robot notices of events not fanned out yet, once each.

    A constant number of statements per batch: the events (locked, skipping
    rows another worker fans out), the active subscriptions, the robots, the
    inserts and one update. Deliveries are unique per (event, subscription),
    so a repeated fan-out writes nothing twice.
    """
    from integrations.services.robots import escalation_notices_build

    with transaction.atomic():
        queryset = OutboundEvent.objects.filter(fanned_out_at__isnull=True)
        if ids is not None:
            queryset = queryset.filter(pk__in=list(ids))
        events = list(
            queryset.select_for_update(skip_locked=True).order_by("created_at", "pk")[:limit]
        )
        if not events:
            return FanOut()
        subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
        now = timezone.now()
        deliveries = [
            WebhookDelivery(event=event, subscription=subscription, next_attempt_at=now)
            for event in events
            for subscription in subscriptions
            if event.type in subscription.event_types
        ]
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
        notices = escalation_notices_build(
            events=[event for event in events if event.type in ROBOT_ESCALATION_TYPES]
        )
        RobotNotice.objects.bulk_create(notices, batch_size=1000)
        OutboundEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            fanned_out_at=now
        )
        result = FanOut(
            events=len(events),
            subscription_ids=sorted({delivery.subscription_id for delivery in deliveries}),
            robot_ids=sorted({notice.robot_id for notice in notices}),
        )
    return result
