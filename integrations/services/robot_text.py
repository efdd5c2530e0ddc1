"""What a robot says, worded at send time in the robot's language, with deep links.

A block per notice: an escalation names one customer; a digest has a
section per person it carries (calls to make, promises due today, letters to
approve for finance, escalations for managers), each list capped with a
count and a link to the full page. Every query goes through the owner's
scope, so no customer outside it is ever named.
"""

import json
from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from core.roles import Role, has_role
from core.scoping import scope_for_user
from dashboards.selectors.worklist import task_calls, task_promises_due
from dunning.models import CollectionTask
from dunning.selectors.cases import letter_list_awaiting_approval
from integrations.models import Robot, RobotNotice
from receivables.models import Customer

DIGEST_ROWS = 5
ESCALATION_TASK_KINDS = (
    CollectionTask.Kind.MANAGER_ESCALATION,
    CollectionTask.Kind.LEGAL_REFERRAL,
)


def site_link(path: str) -> str:
    """An absolute deep link into the app (SITE_URL + path)."""
    return getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/") + path


def _link(robot: Robot, label: str, path: str) -> str:
    url = site_link(path)
    if robot.platform == Robot.Platform.FEISHU:
        return f"{label} {url}"
    return f"[{label}]({url})"


def _customer_label(customer: Customer) -> str:
    return f"{customer.name} ({customer.code})"


def _escalation_block(*, robot: Robot, notice: RobotNotice) -> str:
    params = notice.params
    customer = notice.customer
    name = _link(
        robot,
        _customer_label(customer),
        reverse("receivables:customer_detail", args=[customer.pk]),
    )
    if params.get("event_type") == "promise.broken":
        return _(
            "Promise broken: %(customer)s promised %(currency)s %(amount)s by %(date)s, "
            "%(paid)s paid."
        ) % {
            "customer": name,
            "currency": params.get("currency", ""),
            "amount": params.get("amount", ""),
            "date": params.get("promised_date", ""),
            "paid": params.get("paid", ""),
        }
    level = params.get("level")
    label = _("Legal referral") if level == "legal" else _("Executive escalation")
    return _("%(level)s reached: %(customer)s, %(items)s.") % {
        "level": label,
        "customer": name,
        "items": ", ".join(params.get("items", [])),
    }


def _section(*, robot: Robot, title: str, queryset: QuerySet, row, more_path: str) -> list[str]:
    rows = list(queryset[: DIGEST_ROWS + 1])
    if not rows:
        return []
    count = len(rows) if len(rows) <= DIGEST_ROWS else queryset.count()
    lines = [f"**{title} ({count})**"]
    lines.extend(f"- {row(item)}" for item in rows[:DIGEST_ROWS])
    if count > DIGEST_ROWS:
        lines.append(
            "- " + _link(robot, _("and %(count)s more") % {"count": count - DIGEST_ROWS}, more_path)
        )
    return lines


def _person_digest(*, robot: Robot, person: AbstractBaseUser, as_of: date) -> list[str]:
    owner = robot.owner

    def in_scope(queryset: QuerySet) -> QuerySet:
        # The person's own list, cut to what the robot's owner may see.
        return scope_for_user(queryset, owner)

    def customer_link(customer: Customer) -> str:
        return _link(
            robot,
            _customer_label(customer),
            reverse("receivables:customer_detail", args=[customer.pk]),
        )

    lines: list[str] = []
    lines += _section(
        robot=robot,
        title=_("Calls to make"),
        queryset=in_scope(task_calls(user=person, as_of=as_of)),
        row=lambda task: f"{customer_link(task.customer)}: {task.title}",
        more_path=reverse("dashboards:rep_home"),
    )
    lines += _section(
        robot=robot,
        title=_("Promises due today"),
        queryset=in_scope(task_promises_due(user=person, as_of=as_of)).filter(promised_date=as_of),
        row=lambda promise: (
            f"{customer_link(promise.customer)}: {promise.currency} {promise.amount}"
        ),
        more_path=reverse("dashboards:rep_home"),
    )
    if has_role(person, Role.FINANCE):
        lines += _section(
            robot=robot,
            title=_("Letters to approve"),
            queryset=in_scope(letter_list_awaiting_approval()),
            row=lambda message: f"{customer_link(message.customer)}: {message.get_level_display()}",
            more_path=reverse("dunning:letter_queue"),
        )
    if has_role(person, Role.MANAGER):
        lines += _section(
            robot=robot,
            title=_("Escalations"),
            queryset=in_scope(
                CollectionTask.objects.filter(
                    status=CollectionTask.Status.OPEN, kind__in=ESCALATION_TASK_KINDS
                )
            )
            .select_related("customer")
            .order_by("due_date", "pk"),
            row=lambda task: f"{customer_link(task.customer)}: {task.title}",
            more_path=reverse("dunning:case_list"),
        )
    return lines


def _digest_block(*, robot: Robot, notice: RobotNotice) -> str:
    as_of = date.fromisoformat(notice.params["as_of"])
    people = list(robot.members.order_by("username")) or [robot.owner]
    lines = [_("Good morning. Your collections for %(date)s:") % {"date": as_of.isoformat()}]
    for person in people:
        section = _person_digest(robot=robot, person=person, as_of=as_of)
        if len(people) > 1:
            lines.append(f"### {person.get_full_name() or person.get_username()}")
        lines.extend(section or [_("Nothing waiting.")])
    return "\n".join(lines)


def notice_blocks(*, robot: Robot, notices: Sequence[RobotNotice]) -> list[tuple[RobotNotice, str]]:
    """Word each notice; one naming a customer now outside the owner's scope says nothing."""
    customer_ids = {notice.customer_id for notice in notices if notice.customer_id}
    visible = set(
        scope_for_user(Customer.objects.filter(pk__in=customer_ids), robot.owner).values_list(
            "pk", flat=True
        )
    )
    blocks = []
    for notice in notices:
        if notice.kind == RobotNotice.Kind.DIGEST:
            blocks.append((notice, _digest_block(robot=robot, notice=notice)))
        elif notice.kind == RobotNotice.Kind.TEST:
            text = _("Test message from Huikuan: the robot %(name)s is connected.")
            blocks.append((notice, text % {"name": robot.name}))
        elif notice.customer_id in visible:
            blocks.append((notice, _escalation_block(robot=robot, notice=notice)))
        else:
            blocks.append((notice, ""))
    return blocks


def _payload(robot: Robot, text: str) -> dict:
    title = _("Huikuan collections")
    if robot.platform == Robot.Platform.WECOM:
        return {"msgtype": "markdown", "markdown": {"content": text}}
    if robot.platform == Robot.Platform.DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msg_type": "text", "content": {"text": text}}


def _size(payload: dict) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode())


def robot_payload(
    *, robot: Robot, blocks: Sequence[tuple[RobotNotice, str]], max_bytes: int
) -> tuple[dict, list[RobotNotice]]:
    """One message with as many blocks (oldest first) as fit; the first always goes (cut)."""
    carried: list[RobotNotice] = []
    parts: list[str] = []
    for notice, text in blocks:
        candidate = "\n\n".join([*parts, text]) if text else "\n\n".join(parts)
        if carried and _size(_payload(robot, candidate)) > max_bytes:
            break
        carried.append(notice)
        if text:
            parts.append(text)
    text = "\n\n".join(parts)
    while _size(_payload(robot, text)) > max_bytes:
        text = text[: int(len(text) * 0.9)]
    return _payload(robot, text), carried
