"""Group robots of WeCom, DingTalk and Feishu: registration, notices, rate-limited posting.

Notices (a morning digest, an escalation) wait in `RobotNotice` until a
message carrying them is sent. `robot_flush` takes a limiter slot under the
robot's row lock, claims the oldest waiting notices that fit one message of
the platform, posts it outside the transaction and records the answer: a
rate-limit answer (DingTalk 130101, WeCom 45009, Feishu 9499/11232) or any
failure hands the notices back and blocks the robot for a while, so the
overflow goes out batched in a later message and nothing is dropped. A
message whose poster was killed is reaped after its lease like a webhook
delivery. Every customer a message names is in its owner's scope
(`core.scoping`), checked when the notice is made and again when worded.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import scope_for_user
from integrations.models import OutboundEvent, Robot, RobotMessage, RobotNotice
from integrations.services.limiter import robot_slot_take
from integrations.services.robot_text import notice_blocks, robot_payload
from integrations.signing import dingtalk_signed_url, feishu_sign
from receivables.models import Customer

logger = logging.getLogger(__name__)

# The platforms' answers that mean "too fast": the robot is blocked for a while.
RATE_LIMIT_CODES = {
    Robot.Platform.DINGTALK: {130101},
    Robot.Platform.WECOM: {45009},
    Robot.Platform.FEISHU: {9499, 11232},
}
# How long a robot rests after a rate-limit answer (DingTalk blocks for ten minutes).
RATE_LIMIT_REST = {
    Robot.Platform.DINGTALK: timedelta(minutes=10),
    Robot.Platform.WECOM: timedelta(minutes=1),
    Robot.Platform.FEISHU: timedelta(minutes=1),
}
# Bytes of text per message (WeCom's markdown takes 4,096; the others more).
MESSAGE_BYTES = {
    Robot.Platform.WECOM: 3800,
    Robot.Platform.DINGTALK: 15000,
    Robot.Platform.FEISHU: 15000,
}
FAILURE_REST_MAX = timedelta(minutes=30)


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "ROBOT_LEASE_SECONDS", 120))


# --- Registration ------------------------------------------------------------------


def robots_for_user(*, user: AbstractBaseUser) -> QuerySet[Robot]:
    """The robots a user manages: their own; finance and managers manage every robot."""
    return scope_for_user(Robot.objects.select_related("owner").order_by("name", "pk"), user)


def _robot_validate(*, platform: str, webhook_url: str) -> None:
    if platform not in Robot.Platform.values:
        raise BusinessRuleError(_("Choose a platform."), field="platform")
    if not webhook_url.startswith("https://") and not getattr(
        settings, "ROBOT_ALLOW_HTTP", settings.DEBUG
    ):
        raise BusinessRuleError(_("The webhook URL must start with https://."), field="webhook_url")


@transaction.atomic
def robot_register(
    *,
    name: str,
    platform: str,
    webhook_url: str,
    secret: str,
    language: str,
    actor: AbstractBaseUser,
    members: Sequence[AbstractBaseUser] = (),
    send_digest: bool = True,
    send_escalations: bool = True,
) -> Robot:
    """Register a group robot owned by the actor. Only finance and managers carry other
    people's digests (a team robot); a rep's robot carries their own."""
    _robot_validate(platform=platform, webhook_url=webhook_url)
    members = list(members)
    if any(member.pk != actor.pk for member in members) and not has_role(
        actor, Role.FINANCE, Role.MANAGER
    ):
        raise BusinessRuleError(
            _("Only finance and managers can carry other people's digests."), field="members"
        )
    robot = Robot.objects.create(
        name=name.strip()[:120] or platform,
        platform=platform,
        webhook_url=webhook_url,
        secret=secret.strip(),
        language=language,
        owner=actor,
        send_digest=send_digest,
        send_escalations=send_escalations,
    )
    robot.members.set(members)
    return robot


@transaction.atomic
def robot_set_active(*, robot: Robot, active: bool, actor: AbstractBaseUser) -> Robot:
    """Turn a robot on or off (waiting notices wait; a robot turned on again resumes)."""
    if not robots_for_user(user=actor).filter(pk=robot.pk).exists():
        raise PermissionDenied
    robot = Robot.objects.select_for_update().get(pk=robot.pk)
    robot.is_active = active
    if active:
        robot.blocked_until = None
        robot.consecutive_failures = 0
    robot.save(update_fields=["is_active", "blocked_until", "consecutive_failures"])
    if active:
        transaction.on_commit(lambda: _flush_soon(robot_id=robot.pk))
    return robot


@transaction.atomic
def robot_test_message(*, robot: Robot, actor: AbstractBaseUser) -> RobotNotice:
    """Queue a test message on a robot the actor reaches and post it at once (through the
    limiter, like any message: a robot at its limit sends it when room comes)."""
    if not robots_for_user(user=actor).filter(pk=robot.pk).exists():
        raise PermissionDenied
    notice = RobotNotice.objects.create(robot=robot, kind=RobotNotice.Kind.TEST)
    transaction.on_commit(lambda: _flush_soon(robot_id=robot.pk))
    return notice


# --- Notices ------------------------------------------------------------------------


def escalation_notices_build(*, events: Sequence[OutboundEvent]) -> list[RobotNotice]:
    """Notices for the robots whose owner sees the event's customer (one read per owner)."""
    if not events:
        return []
    robots = list(
        Robot.objects.filter(is_active=True, send_escalations=True).select_related("owner")
    )
    customer_ids = {event.customer_id for event in events if event.customer_id}
    visible: dict[int, set[int]] = {}
    for owner in {robot.owner for robot in robots}:
        visible[owner.pk] = set(
            scope_for_user(Customer.objects.filter(pk__in=customer_ids), owner).values_list(
                "pk", flat=True
            )
        )
    return [
        RobotNotice(
            robot=robot,
            kind=RobotNotice.Kind.ESCALATION,
            customer_id=event.customer_id,
            params={"event_type": event.type, "event_id": str(event.event_id), **event.params},
        )
        for event in events
        for robot in robots
        if event.customer_id in visible[robot.owner_id]
    ]


def robot_digests_queue(*, as_of: date) -> list[int]:
    """Queue today's morning digest on every robot that sends one (once a day each)."""
    robots = list(
        Robot.objects.filter(is_active=True, send_digest=True).values_list("pk", flat=True)
    )
    RobotNotice.objects.bulk_create(
        [
            RobotNotice(
                robot_id=pk,
                kind=RobotNotice.Kind.DIGEST,
                as_of=as_of,
                params={"as_of": as_of.isoformat()},
            )
            for pk in robots
        ],
        ignore_conflicts=True,
    )
    return robots


# --- Posting --------------------------------------------------------------------------


@dataclass(frozen=True)
class FlushResult:
    """What one flush did: sent a message, or why not, and when to try again."""

    status: str  # sent, idle, limited, blocked, rejected, failed, inactive
    notices: int = 0
    retry_in: timedelta | None = None


Claimed = tuple[Robot, RobotMessage, list[RobotNotice], dict]


def _claim(*, robot_id: int, now: datetime) -> Claimed | FlushResult:
    """Under the robot's lock: take a limiter slot and the notices that fit one message."""
    robot = Robot.objects.select_for_update().select_related("owner").get(pk=robot_id)
    if not robot.is_active:
        return FlushResult("inactive")
    if robot.blocked_until and robot.blocked_until > now:
        return FlushResult("blocked", retry_in=robot.blocked_until - now)
    waiting = list(
        robot.notices.filter(message__isnull=True)
        .select_related("customer")
        .order_by("created_at", "pk")[: getattr(settings, "ROBOT_NOTICES_PER_MESSAGE", 60)]
    )
    if not waiting:
        return FlushResult("idle")
    with translation.override(robot.language):
        blocks = notice_blocks(robot=robot, notices=waiting)
        silent = [notice.pk for notice, text in blocks if not text]
        if len(silent) == len(blocks):
            # Every customer they named left the owner's scope: there is nothing to say.
            RobotNotice.objects.filter(pk__in=silent).delete()
            return FlushResult("idle")
        wait = robot_slot_take(robot=robot, now=now)
        if wait is not None:
            return FlushResult("limited", retry_in=wait)
        payload, carried = robot_payload(
            robot=robot, blocks=blocks, max_bytes=MESSAGE_BYTES[robot.platform]
        )
    message = RobotMessage.objects.create(robot=robot, claimed_at=now, notice_count=len(carried))
    RobotNotice.objects.filter(pk__in=[notice.pk for notice in carried]).update(message=message)
    return robot, message, carried, payload


def _post(*, robot: Robot, payload: dict) -> tuple[int | None, int | None, str]:
    """POST the payload to the robot; return (HTTP status, the platform's code, error)."""
    url = robot.webhook_url
    body = dict(payload)
    if robot.secret and robot.platform == Robot.Platform.DINGTALK:
        url = dingtalk_signed_url(
            url=url, secret=robot.secret, timestamp_ms=int(time.time() * 1000)
        )
    elif robot.secret and robot.platform == Robot.Platform.FEISHU:
        timestamp = int(time.time())
        body["timestamp"] = str(timestamp)
        body["sign"] = feishu_sign(secret=robot.secret, timestamp=timestamp)
    try:
        response = requests.post(
            url, json=body, timeout=getattr(settings, "ROBOT_TIMEOUT_SECONDS", 10)
        )
    except requests.RequestException as exc:
        return None, None, f"{type(exc).__name__}: {exc}"[:500]
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    code = answer.get("errcode", answer.get("code")) if isinstance(answer, dict) else None
    code = int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else None
    error = ""
    if response.status_code != 200 or code not in (0, None):
        error = str(answer.get("errmsg") or answer.get("msg") or response.text)[:500]
    return response.status_code, code, error


def robot_flush(*, robot_id: int) -> FlushResult:
    """Send one message of waiting notices to the robot if its limits allow."""
    now = timezone.now()
    with transaction.atomic():
        claimed = _claim(robot_id=robot_id, now=now)
    if isinstance(claimed, FlushResult):
        return claimed
    robot, message, carried, payload = claimed
    status_code, code, error = _post(robot=robot, payload=payload)
    with transaction.atomic():
        robot = Robot.objects.select_for_update().get(pk=robot.pk)
        message = RobotMessage.objects.select_for_update().get(pk=message.pk)
        if message.status != RobotMessage.Status.SENDING:
            return FlushResult("reaped")
        message.status_code = status_code
        message.errcode = code
        message.error = error
        if status_code == 200 and code in (0, None):
            message.status = RobotMessage.Status.SENT
            message.sent_at = timezone.now()
            message.save(update_fields=["status", "status_code", "errcode", "error", "sent_at"])
            robot.consecutive_failures = 0
            robot.save(update_fields=["consecutive_failures"])
            return FlushResult("sent", notices=len(carried))
        # Refused: the notices wait for a later message; the robot rests.
        message.status = RobotMessage.Status.REJECTED
        message.save(update_fields=["status", "status_code", "errcode", "error"])
        RobotNotice.objects.filter(message=message).update(message=None)
        limited = code in RATE_LIMIT_CODES[robot.platform] or status_code == 429
        if limited:
            rest = RATE_LIMIT_REST[robot.platform]
        else:
            robot.consecutive_failures += 1
            rest = min(
                FAILURE_REST_MAX, timedelta(seconds=30 * 2 ** (robot.consecutive_failures - 1))
            )
        robot.blocked_until = timezone.now() + rest
        robot.save(update_fields=["blocked_until", "consecutive_failures"])
        logger.warning("robot %s refused a message (%s %s): %s", robot.pk, status_code, code, error)
        return FlushResult("rejected" if limited else "failed", retry_in=rest)


def robot_flush_all(*, robot_id: int, max_messages: int = 50) -> list[FlushResult]:
    """Send messages while the robot has notices and room; the sweep (every 30 s) sends the
    rest once the limiter or the robot's rest allows."""
    results = []
    for _attempt in range(max_messages):
        result = robot_flush(robot_id=robot_id)
        results.append(result)
        if result.status != "sent":
            break
    return results


def _flush_soon(*, robot_id: int) -> None:
    from integrations.tasks import robot_flush_task

    robot_flush_task.delay(robot_id)


def robot_messages_reap() -> int:
    """Hand back the notices of messages whose poster died (lease expired, never answered)."""
    cutoff = timezone.now() - _lease()
    with transaction.atomic():
        stale = list(
            RobotMessage.objects.select_for_update(skip_locked=True)
            .filter(status=RobotMessage.Status.SENDING, claimed_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        RobotNotice.objects.filter(message_id__in=stale).update(message=None)
        RobotMessage.objects.filter(pk__in=stale).update(
            status=RobotMessage.Status.REJECTED, error="lease expired"
        )
    return len(stale)


def robots_with_notices() -> list[int]:
    """Active robots with notices waiting and not resting."""
    now = timezone.now()
    return sorted(
        set(
            RobotNotice.objects.filter(
                message__isnull=True,
                robot__is_active=True,
            )
            .filter(Q(robot__blocked_until__isnull=True) | Q(robot__blocked_until__lte=now))
            .values_list("robot_id", flat=True)
        )
    )
