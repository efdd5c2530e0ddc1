"""Thin Celery tasks over the integrations services: the database decides, Celery carries.

`events_fan_out_task` runs after an event's transaction commits; the
`integrations_sweep_task` (beat, every 30 s) recovers from the database
whatever a lost task or a killed worker left: events not fanned out,
deliveries and robot messages whose lease expired, deliveries and notices
due. `robot_digests_task` (beat, each working morning) queues the digests.
"""

import logging
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from dunning.calendar import is_working_day
from integrations.services.outbox import events_fan_out
from integrations.services.robots import (
    robot_digests_queue,
    robot_flush_all,
    robot_messages_reap,
    robots_with_notices,
)
from integrations.services.webhooks import (
    webhook_deliveries_reap,
    webhook_deliveries_send,
    webhook_subscriptions_due,
)

logger = logging.getLogger(__name__)


@shared_task(
    name="integrations.tasks.events_fan_out_task",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
)
def events_fan_out_task(ids: list[int] | None = None) -> dict[str, int]:
    """Fan committed events out to deliveries and robot notices, then dispatch them."""
    result = events_fan_out(ids=ids)
    for pk in result.subscription_ids:
        webhook_deliver_task.delay(pk)
    for pk in result.robot_ids:
        robot_flush_task.delay(pk)
    return {
        "events": result.events,
        "subscriptions": len(result.subscription_ids),
        "robots": len(result.robot_ids),
    }


@shared_task(
    name="integrations.tasks.webhook_deliver_task", soft_time_limit=3 * 60, time_limit=4 * 60
)
def webhook_deliver_task(subscription_id: int) -> dict[str, int]:
    """Post a subscription's due deliveries for a short time budget, then queue itself again
    behind the other subscribers' tasks if more are due: a slow receiver takes its turns
    instead of holding a worker, and the fast ones are not kept waiting behind it."""
    summary = webhook_deliveries_send(subscription_id=subscription_id)
    if summary.more:
        webhook_deliver_task.delay(subscription_id)
    return {
        "delivered": len(summary.delivered),
        "retrying": len(summary.retrying),
        "failed": len(summary.failed),
        "disabled": int(summary.disabled),
    }


@shared_task(name="integrations.tasks.robot_flush_task", soft_time_limit=2 * 60, time_limit=3 * 60)
def robot_flush_task(robot_id: int) -> dict[str, object]:
    """Post a robot's waiting notices as far as its rate limit allows."""
    results = robot_flush_all(robot_id=robot_id)
    return {"messages": sum(1 for result in results if result.status == "sent")}


@shared_task(
    name="integrations.tasks.integrations_sweep_task", soft_time_limit=3 * 60, time_limit=4 * 60
)
def integrations_sweep_task() -> dict[str, int]:
    """Recover from the database: fan out, reap expired leases, dispatch what is due."""
    fanned = 0
    while True:
        result = events_fan_out()
        if not result.events:
            break
        fanned += result.events
    reaped = webhook_deliveries_reap()
    robots_reaped = robot_messages_reap()
    subscriptions = webhook_subscriptions_due()
    for pk in subscriptions:
        webhook_deliver_task.delay(pk)
    robots = robots_with_notices()
    for pk in robots:
        robot_flush_task.delay(pk)
    return {
        "fanned_out": fanned,
        "reaped": reaped,
        "robot_messages_reaped": robots_reaped,
        "subscriptions": len(subscriptions),
        "robots": len(robots),
    }


@shared_task(
    name="integrations.tasks.robot_digests_task", soft_time_limit=5 * 60, time_limit=6 * 60
)
def robot_digests_task(as_of: str | None = None) -> dict[str, object]:
    """Queue the morning digest on every robot (working days only) and post them."""
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    if not is_working_day(business_date):
        return {"as_of": business_date.isoformat(), "robots": 0}
    robots = robot_digests_queue(as_of=business_date)
    for pk in robots:
        robot_flush_task.delay(pk)
    return {"as_of": business_date.isoformat(), "robots": len(robots)}
