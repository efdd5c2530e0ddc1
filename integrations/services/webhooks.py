"""Webhook subscriptions and their deliveries: signed, retried with back-off, at least once.

A delivery is claimed under a lease (`delivering`, `claimed_at`) in a short
transaction, posted outside any transaction, and its outcome recorded in
another (one insert of attempts, one update per kind of outcome). The sender
renews the lease while a batch is in flight; a worker killed mid-post leaves
the row `delivering` with a lease nobody renews, and the beat sweep
(`webhook_deliveries_reap`) puts it back to pending once it has expired, so it
is posted again: receivers dedupe on the event id. Each subscription's
deliveries are posted a batch at a time in threads, and a task that used its
time budget queues itself again behind the others, so a slow receiver delays
only itself; failures back off exponentially, and a subscription that fails
too many times in a row is disabled.
"""

import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import certifi
import urllib3
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
    """How long a claim holds without news: the sender renews it every third of it."""
    return timedelta(seconds=_setting("WEBHOOK_LEASE_SECONDS", 30))


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
    # The time budget ran out with deliveries still due.
    more: bool = False


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


_pools: dict[int, urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


def _http() -> urllib3.PoolManager:
    """The process's connection pools (one per receiver, kept alive, shared by the threads).

    urllib3 rather than requests: a delivery is one POST, and requests' per-call work (proxy
    lookups in the environment, hooks, cookie jars) cost more CPU than the post itself.
    Keyed by process: a pool made before a prefork worker forks is not shared with its child.
    """
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(pid)
            if pool is None:
                pool = _pools[pid] = urllib3.PoolManager(
                    num_pools=64,
                    maxsize=_setting("WEBHOOK_CONCURRENCY", 16),
                    block=False,
                    retries=False,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=certifi.where(),
                )
    return pool


def _timeout() -> urllib3.Timeout:
    """A short connect timeout (a receiver that is down fails fast and backs off), a longer read."""
    return urllib3.Timeout(
        connect=_setting("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3),
        read=_setting("WEBHOOK_TIMEOUT_SECONDS", 10),
    )


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
        response = _http().request(
            "POST",
            subscription.url,
            body=body,
            headers=headers,
            timeout=_timeout(),
            retries=False,
            redirect=False,
        )
        status_code = response.status
        if not 200 <= status_code < 300:
            error = response.data[:200].decode(errors="replace")
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
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
    """Write the attempts and their outcomes; count failures in a row, disable past the limit.

    A constant number of statements per batch: the attempts in one insert, and one update per
    kind of outcome (delivered with a status code, retrying after so many attempts, failed),
    not one per delivery.
    """
    max_attempts = _setting("WEBHOOK_MAX_ATTEMPTS", 12)
    threshold = _setting("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
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
        # (status, status code, error, attempts for the back-off) -> delivery ids
        groups: dict[tuple[str, int | None, str, int], list[int]] = defaultdict(list)
        for outcome in sorted(outcomes, key=lambda outcome: outcome.started_at):
            if outcome.succeeded:
                status = WebhookDelivery.Status.DELIVERED
                subscription.consecutive_failures = 0
                summary.delivered.append(outcome.delivery_id)
            else:
                subscription.consecutive_failures += 1
                if outcome.attempt >= max_attempts:
                    status = WebhookDelivery.Status.FAILED
                    summary.failed.append(outcome.delivery_id)
                else:
                    status = WebhookDelivery.Status.PENDING
                    summary.retrying.append(outcome.delivery_id)
            attempts = outcome.attempt if status == WebhookDelivery.Status.PENDING else 0
            groups[(status, outcome.status_code, outcome.error, attempts)].append(
                outcome.delivery_id
            )
        for (status, status_code, error, attempts), ids in groups.items():
            values: dict[str, object] = {
                "status": status,
                "last_status_code": status_code,
                "last_error": error,
            }
            if status == WebhookDelivery.Status.DELIVERED:
                values["delivered_at"] = now
            elif status == WebhookDelivery.Status.PENDING:
                values["next_attempt_at"] = now + retry_delay(attempts=attempts)
            WebhookDelivery.objects.filter(pk__in=ids).update(**values)
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
    """Post the subscription's due deliveries, a batch at a time, until none is due or the
    time budget is spent; `more` then says whether some are still due (the task queues itself
    again behind the other subscribers' tasks, so a slow receiver never holds a worker for
    long). While a batch is in flight its lease is renewed, so the lease can be short and a
    killed worker's deliveries go out again soon, however slow the receiver."""
    concurrency = _setting("WEBHOOK_CONCURRENCY", 16)
    budget = budget_seconds if budget_seconds is not None else _setting("WEBHOOK_TASK_BUDGET", 10)
    batch = concurrency * _setting("WEBHOOK_BATCH_ROUNDS", 4)
    deadline = time.monotonic() + budget
    summary = DeliverySummary()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        while True:
            if time.monotonic() >= deadline:
                summary.more = True
                break
            rows = _claim(subscription_id=subscription_id, limit=batch)
            if not rows:
                break
            outcomes = _post_all(pool, rows)
            _record(subscription_id=subscription_id, outcomes=outcomes, summary=summary)
            if summary.disabled:
                break
    return summary


def _post_all(pool: ThreadPoolExecutor, rows: list[WebhookDelivery]) -> list[Outcome]:
    """Post the claimed rows in the pool, renewing their lease every third of it meanwhile."""
    futures = [pool.submit(_post, row) for row in rows]
    every = max(lease().total_seconds() / 3, 0.1)
    while True:
        _done, pending = wait(futures, timeout=every)
        if not pending:
            return [future.result() for future in futures]
        lease_renew([row.pk for row in rows])


def lease_renew(ids: Sequence[int]) -> int:
    """Extend the lease of deliveries still being posted (one update)."""
    return WebhookDelivery.objects.filter(
        pk__in=list(ids), status=WebhookDelivery.Status.DELIVERING
    ).update(claimed_at=timezone.now())


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
