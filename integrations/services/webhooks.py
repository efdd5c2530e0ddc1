"""Webhook subscriptions and their deliveries: signed, retried with back-off, at least once.

A delivery is claimed under a lease (`delivering`, `claimed_at`) in a short
transaction, posted outside any transaction, and its outcome recorded in
another. A worker killed mid-post leaves the row `delivering`; the beat
sweep (`webhook_deliveries_reap`) puts it back to pending once the lease has
expired, so it is posted again: receivers dedupe on the event id. Each
subscription's deliveries are posted a few at a time in threads, so a slow
receiver delays only itself; failures back off exponentially, and a
subscription that fails too many times in a row is disabled.
"""

import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.domain_events import EventType
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from integrations.models import (
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from integrations.signing import SIGNATURE_HEADER, webhook_secret_new, webhook_signature

logger = logging.getLogger(__name__)

USER_AGENT = "Huikuan-Webhooks/1"


def _setting(name: str, default):
    return getattr(settings, name, default)


def ensure_webhook_admin(actor: AbstractBaseUser) -> None:
    """Only finance (and admins) manage webhook subscriptions."""
    if not has_role(actor, Role.FINANCE):
        raise PermissionDenied


def _event_types_clean(event_types: Sequence[str]) -> list[str]:
    chosen = sorted(set(event_types))
    if not chosen:
        raise BusinessRuleError(_("Choose at least one event type."), field="event_types")
    unknown = [value for value in chosen if value not in EventType.values]
    if unknown:
        raise BusinessRuleError(
            _("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)},
            field="event_types",
        )
    return chosen


@transaction.atomic
def webhook_subscription_create(
    *, name: str, url: str, event_types: Sequence[str], actor: AbstractBaseUser
) -> WebhookSubscription:
    """Subscribe a URL to event types; the new secret is on the returned object (shown once)."""
    ensure_webhook_admin(actor)
    if not url.startswith(("https://", "http://")):
        raise BusinessRuleError(_("The URL must start with https:// or http://."), field="url")
    return WebhookSubscription.objects.create(
        name=name.strip()[:120] or url[:120],
        url=url,
        event_types=_event_types_clean(event_types),
        secret=webhook_secret_new(),
        created_by=actor,
    )


@transaction.atomic
def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    name: str,
    url: str,
    event_types: Sequence[str],
    actor: AbstractBaseUser,
) -> WebhookSubscription:
    """Change a subscription's name, URL and event types (its secret stays)."""
    ensure_webhook_admin(actor)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if not url.startswith(("https://", "http://")):
        raise BusinessRuleError(_("The URL must start with https:// or http://."), field="url")
    subscription.name = name.strip()[:120] or url[:120]
    subscription.url = url
    subscription.event_types = _event_types_clean(event_types)
    subscription.save(update_fields=["name", "url", "event_types"])
    return subscription


@transaction.atomic
def webhook_subscription_set_active(
    *, subscription: WebhookSubscription, active: bool, actor: AbstractBaseUser
) -> WebhookSubscription:
    """Turn a subscription on (its failure count starts again) or off by hand."""
    ensure_webhook_admin(actor)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.is_active = active
    if active:
        subscription.consecutive_failures = 0
        subscription.disabled_at = None
        subscription.disabled_reason = ""
    else:
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = WebhookSubscription.DisabledReason.MANUAL
    subscription.save(
        update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"]
    )
    if active:
        _dispatch_on_commit([subscription.pk])
    return subscription


@transaction.atomic
def webhook_subscription_rotate_secret(
    *, subscription: WebhookSubscription, actor: AbstractBaseUser
) -> WebhookSubscription:
    """Give the subscription a new secret (shown once); the old one stops signing at once."""
    ensure_webhook_admin(actor)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.secret = webhook_secret_new()
    subscription.save(update_fields=["secret"])
    return subscription


@transaction.atomic
def webhook_delivery_replay(
    *, delivery: WebhookDelivery, actor: AbstractBaseUser
) -> WebhookDelivery:
    """Post the event to the subscriber again, now (a new attempt in the log)."""
    ensure_webhook_admin(actor)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.DELIVERING:
        raise BusinessRuleError(_("The delivery is being posted right now; wait a moment."))
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    _dispatch_on_commit([delivery.subscription_id])
    return delivery


def _dispatch_on_commit(subscription_ids: Sequence[int]) -> None:
    def dispatch() -> None:
        from integrations.tasks import webhook_deliver_task

        for pk in subscription_ids:
            webhook_deliver_task.delay(pk)

    transaction.on_commit(dispatch)


# --- Delivery ------------------------------------------------------------------


def lease() -> timedelta:
    return timedelta(seconds=_setting("WEBHOOK_LEASE_SECONDS", 120))


def retry_delay(*, attempts: int) -> timedelta:
    """Exponential back-off: base x 2^(attempts-1), capped."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    cap = _setting("WEBHOOK_RETRY_MAX_SECONDS", 6 * 60 * 60)
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    attempt: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliverySummary:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    disabled: bool = False


def _claim(*, subscription_id: int, limit: int) -> list[WebhookDelivery]:
    """Lease due deliveries of an active subscription (rows other workers hold are skipped)."""
    with transaction.atomic():
        subscription = WebhookSubscription.objects.filter(
            pk=subscription_id, is_active=True
        ).first()
        if subscription is None:
            return []
        now = timezone.now()
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(
                subscription_id=subscription_id,
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=WebhookDelivery.Status.DELIVERING,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
        events = OutboundEvent.objects.in_bulk([row.event_id for row in rows])
        for row in rows:
            row.attempts += 1
            row.event = events[row.event_id]
            row.subscription = subscription
        return rows


def webhook_body(event: OutboundEvent) -> bytes:
    """The JSON body of an event, byte for byte what is signed."""
    return json.dumps(event.payload(), ensure_ascii=False, separators=(",", ":")).encode()


_sessions = threading.local()


def _session() -> requests.Session:
    """One HTTP session per thread: connections to a receiver are kept alive and reused."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


def _post(delivery: WebhookDelivery) -> Outcome:
    """POST one delivery (no database access: runs in a thread)."""
    subscription = delivery.subscription
    body = webhook_body(delivery.event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Huikuan-Event-Id": str(delivery.event.event_id),
        "Huikuan-Event-Type": delivery.event.type,
        SIGNATURE_HEADER: webhook_signature(
            secret=subscription.secret, timestamp=timestamp, body=body
        ),
    }
    started_at = timezone.now()
    started = time.monotonic()
    status_code = None
    error = ""
    try:
        response = _session().post(
            subscription.url,
            data=body,
            headers=headers,
            timeout=_setting("WEBHOOK_TIMEOUT_SECONDS", 10),
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = response.text[:200]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    latency_ms = int((time.monotonic() - started) * 1000)
    return Outcome(
        delivery_id=delivery.pk,
        attempt=delivery.attempts,
        started_at=started_at,
        status_code=status_code,
        latency_ms=latency_ms,
        error=error,
    )


def _record(*, subscription_id: int, outcomes: list[Outcome], summary: DeliverySummary) -> None:
    """Write the attempts and their outcomes; count failures in a row, disable past the limit."""
    max_attempts = _setting("WEBHOOK_MAX_ATTEMPTS", 12)
    threshold = _setting("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        deliveries = WebhookDelivery.objects.select_for_update().in_bulk(
            [outcome.delivery_id for outcome in outcomes]
        )
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    delivery_id=outcome.delivery_id,
                    attempt=outcome.attempt,
                    started_at=outcome.started_at,
                    status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms,
                    error=outcome.error,
                    succeeded=outcome.succeeded,
                )
                for outcome in outcomes
            ]
        )
        now = timezone.now()
        changed = []
        for outcome in sorted(outcomes, key=lambda outcome: outcome.started_at):
            delivery = deliveries[outcome.delivery_id]
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.succeeded:
                delivery.status = WebhookDelivery.Status.DELIVERED
                delivery.delivered_at = now
                subscription.consecutive_failures = 0
                summary.delivered.append(delivery.pk)
            else:
                subscription.consecutive_failures += 1
                if delivery.attempts >= max_attempts:
                    delivery.status = WebhookDelivery.Status.FAILED
                    summary.failed.append(delivery.pk)
                else:
                    delivery.status = WebhookDelivery.Status.PENDING
                    delivery.next_attempt_at = now + retry_delay(attempts=delivery.attempts)
                    summary.retrying.append(delivery.pk)
            changed.append(delivery)
        WebhookDelivery.objects.bulk_update(
            changed,
            ["status", "delivered_at", "next_attempt_at", "last_status_code", "last_error"],
        )
        if subscription.is_active and subscription.consecutive_failures >= threshold:
            subscription.is_active = False
            subscription.disabled_at = now
            subscription.disabled_reason = WebhookSubscription.DisabledReason.FAILURES
            summary.disabled = True
            logger.warning(
                "webhook subscription %s disabled after %s failures in a row",
                subscription.pk,
                subscription.consecutive_failures,
            )
        subscription.save(
            update_fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason"]
        )


def webhook_deliveries_send(
    *, subscription_id: int, budget_seconds: float | None = None
) -> DeliverySummary:
    """Post the subscription's due deliveries, a few at a time, until none is due or the
    time budget is spent (the rest waits for the next task or the sweep)."""
    concurrency = _setting("WEBHOOK_CONCURRENCY", 16)
    budget = budget_seconds if budget_seconds is not None else _setting("WEBHOOK_TASK_BUDGET", 60)
    deadline = time.monotonic() + budget
    summary = DeliverySummary()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        while time.monotonic() < deadline:
            rows = _claim(subscription_id=subscription_id, limit=concurrency * 8)
            if not rows:
                break
            outcomes = list(pool.map(_post, rows))
            _record(subscription_id=subscription_id, outcomes=outcomes, summary=summary)
            if summary.disabled:
                break
    return summary


def webhook_deliveries_reap() -> int:
    """Put deliveries whose lease expired (a killed worker) back to pending, to post again."""
    cutoff = timezone.now() - lease()
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.DELIVERING, claimed_at__lt=cutoff
    ).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now())


def webhook_subscriptions_due() -> list[int]:
    """Active subscriptions with a delivery due now."""
    return sorted(
        set(
            WebhookDelivery.objects.filter(
                subscription__is_active=True,
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=timezone.now(),
            ).values_list("subscription_id", flat=True)
        )
    )
