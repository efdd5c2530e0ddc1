"""Collection cases: the overdue reason and its path, calls, follow-ups, dunning pauses.

The daily run opens a case for each customer with overdue items and closes
it once nothing is overdue (`dunning.services.run`). Here the people working
the case record what they learn: why the customer is late, every contact
attempt and its outcome, and when dunning pauses. Every write is refused for
a user outside the customer's scope, takes the customer lock first (the lock
order of the receivables services), and writes a timeline event with its actor.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import scope_for_user
from dunning.models import CaseEvent, CollectionCase, CollectionTask
from dunning.services.events import case_event_create, task_created_data
from receivables.models import Customer
from receivables.services.customers import customer_lock

NOTE_MAX_LENGTH = 2000
FOLLOW_UP_DAYS = 3
PAUSE_MAX_DAYS = 180


class CallOutcome(models.TextChoices):
    REACHED = "reached", gettext_lazy("Reached the customer")
    LEFT_MESSAGE = "left_message", gettext_lazy("Left a message")
    NO_ANSWER = "no_answer", gettext_lazy("No answer")
    WRONG_NUMBER = "wrong_number", gettext_lazy("Wrong number")
    REFUSED = "refused", gettext_lazy("Refused to talk")


# --- Guards shared by the collection services --------------------------------


def ensure_may_work_customer(*, actor: AbstractBaseUser, customer: Customer) -> None:
    """Refuse a user outside the customer's scope (another rep's customer, or no role)."""
    if not scope_for_user(Customer.objects.filter(pk=customer.pk), actor).exists():
        raise BusinessRuleError(_("You cannot work on this customer's collections."))


def ensure_finance(*, actor: AbstractBaseUser, action: str) -> None:
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(_("Only finance can %(action)s.") % {"action": action})


def clean_note(value: str | None, *, field: str, required: bool, message: str = "") -> str:
    """Strip a free-text note; refuse it empty (when required) or too long."""
    note = (value or "").strip()
    if required and not note:
        raise BusinessRuleError(message or _("Write a note."), field=field)
    if len(note) > NOTE_MAX_LENGTH:
        raise BusinessRuleError(
            _("Keep the note under %(count)s characters.") % {"count": NOTE_MAX_LENGTH},
            field=field,
        )
    return note


def case_open_get(*, customer: Customer) -> CollectionCase | None:
    """The customer's open case, if the run opened one."""
    return CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).first()


# A customer's open case first ("open" sorts before "closed" descending), else the last closed.
LATEST_FIRST = ("-status", "-opened_on", "-pk")


def case_latest_get(*, customer: Customer) -> CollectionCase | None:
    """The customer's open case, else the one closed last (for the timeline)."""
    return CollectionCase.objects.filter(customer=customer).order_by(*LATEST_FIRST).first()


def cases_latest_get(*, customer_ids: Iterable[int]) -> dict[int, CollectionCase]:
    """`case_latest_get` for many customers (one query): customer pk to its case."""
    latest: dict[int, CollectionCase] = {}
    for case in CollectionCase.objects.filter(customer_id__in=set(customer_ids)).order_by(
        "customer_id", *LATEST_FIRST
    ):
        latest.setdefault(case.customer_id, case)
    return latest


def case_reason_suggest(
    *, case: CollectionCase | None, reason: str, actor: AbstractBaseUser | None
) -> None:
    """Record the reason on an open case whose reason is still unknown (a dispute, a plan)."""
    if case is None or case.status != CollectionCase.Status.OPEN:
        return
    if case.overdue_reason != CollectionCase.OverdueReason.UNKNOWN:
        return
    case.overdue_reason = reason
    case.save(update_fields=["overdue_reason", "updated_at"])
    case_event_create(
        customer=case.customer,
        case=case,
        kind=CaseEvent.Kind.CASE_UPDATED,
        actor=actor,
        data={"overdue_reason": reason, "previous": CollectionCase.OverdueReason.UNKNOWN},
    )


def _case_lock(*, case: CollectionCase) -> CollectionCase:
    customer_lock(pk=case.customer_id)
    locked = (
        CollectionCase.objects.select_for_update(of=("self",))
        .select_related("customer", "owner")
        .get(pk=case.pk)
    )
    if locked.status != CollectionCase.Status.OPEN:
        raise BusinessRuleError(_("This case is closed."))
    return locked


def _follow_up_task(
    *, case: CollectionCase, due_date: date, params: dict, note: str, actor: AbstractBaseUser
) -> CollectionTask:
    """A follow-up task, worded from `params` when read; `note` is what the actor typed."""
    params = {"customer": case.customer.name, **params}
    task = CollectionTask.objects.create(
        kind=CollectionTask.Kind.FOLLOW_UP,
        customer=case.customer,
        case=case,
        assignee=case.owner,
        params=params,
        details=note,
        due_date=due_date,
    )
    case_event_create(
        customer=case.customer,
        case=case,
        kind=CaseEvent.Kind.TASK_CREATED,
        actor=actor,
        data=task_created_data(task),
    )
    return task


# --- Overdue reason ----------------------------------------------------------


@transaction.atomic
def collection_case_set_reason(
    *,
    case: CollectionCase,
    reason: str,
    note: str = "",
    actor: AbstractBaseUser,
    as_of: date,
) -> CollectionCase:
    """Record why the customer is late; a process delay gets a follow-up task for the owner.

    A dispute is then recorded on its items (`dispute_open`), cash-flow trouble
    leads to a supplementary agreement (`agreement_propose`).
    """
    ensure_may_work_customer(actor=actor, customer=case.customer)
    if reason not in CollectionCase.OverdueReason.values:
        raise BusinessRuleError(_("Choose an overdue reason."), field="overdue_reason")
    note = clean_note(note, field="note", required=False)
    case = _case_lock(case=case)
    previous = case.overdue_reason
    if previous == reason and not note:
        raise BusinessRuleError(
            _("The overdue reason is already %(reason)s.")
            % {"reason": case.get_overdue_reason_display()},
            field="overdue_reason",
        )
    case.overdue_reason = reason
    if note:
        case.notes = f"{case.notes}\n{note}".strip() if case.notes else note
    case.save(update_fields=["overdue_reason", "notes", "updated_at"])
    case_event_create(
        customer=case.customer,
        case=case,
        kind=CaseEvent.Kind.CASE_UPDATED,
        actor=actor,
        data={"overdue_reason": reason, "previous": previous, "note": note},
    )
    if reason == CollectionCase.OverdueReason.PROCESS_DELAY and previous != reason:
        _follow_up_task(
            case=case,
            due_date=as_of + timedelta(days=FOLLOW_UP_DAYS),
            params={"what": "follow_up", "details": "follow_up"},
            note="",
            actor=actor,
        )
    return case


# --- Contact attempts --------------------------------------------------------


@dataclass(frozen=True)
class CallLogged:
    event: CaseEvent
    completed_task: CollectionTask | None
    follow_up: CollectionTask | None


@transaction.atomic
def collection_case_log_call(
    *,
    case: CollectionCase,
    outcome: str,
    note: str = "",
    contact_name: str = "",
    actor: AbstractBaseUser,
    as_of: date,
    task: CollectionTask | None = None,
    follow_up_on: date | None = None,
) -> CallLogged:
    """Log a call and its outcome on the timeline; optionally close a task, plan a follow-up."""
    ensure_may_work_customer(actor=actor, customer=case.customer)
    if outcome not in CallOutcome.values:
        raise BusinessRuleError(_("Choose the outcome of the call."), field="outcome")
    note = clean_note(
        note,
        field="note",
        required=outcome == CallOutcome.REACHED,
        message=_("Write what the customer said."),
    )
    contact_name = (contact_name or "").strip()[:120]
    if follow_up_on is not None and follow_up_on < as_of:
        raise BusinessRuleError(
            _("A follow-up cannot be planned in the past."), field="follow_up_on"
        )
    case = _case_lock(case=case)
    if task is not None:
        task = CollectionTask.objects.select_for_update().get(pk=task.pk)
        if task.customer_id != case.customer_id:
            raise BusinessRuleError(_("That task belongs to another customer."), field="task")
        if task.status != CollectionTask.Status.OPEN:
            raise BusinessRuleError(_("That task is already closed."), field="task")
    event = case_event_create(
        customer=case.customer,
        case=case,
        kind=CaseEvent.Kind.CONTACT_ATTEMPT,
        actor=actor,
        data={
            "channel": "phone",
            "outcome": outcome,
            "contact": contact_name,
            "note": note,
            "as_of": as_of.isoformat(),
        },
    )
    if task is not None:
        task.status = CollectionTask.Status.DONE
        # The outcome is what the actor typed; the call's result stays a code in params.
        task.outcome = note
        task.params = {**task.params, "outcome": outcome}
        task.completed_by = actor
        task.completed_at = timezone.now()
        task.save(update_fields=["status", "outcome", "params", "completed_by", "completed_at"])
        case_event_create(
            customer=case.customer,
            case=case,
            kind=CaseEvent.Kind.TASK_COMPLETED,
            actor=actor,
            data={
                "task": task.pk,
                "kind": task.kind,
                "task_params": task.params,
                "title": task.title,
                "outcome": outcome,
            },
        )
    follow_up = None
    if follow_up_on is not None:
        follow_up = _follow_up_task(
            case=case,
            due_date=follow_up_on,
            params={"what": "call_again"},
            note=note,
            actor=actor,
        )
    return CallLogged(event=event, completed_task=task, follow_up=follow_up)


@transaction.atomic
def collection_task_complete(
    *, task: CollectionTask, actor: AbstractBaseUser, note: str = ""
) -> CollectionTask:
    """Mark an open task done (e.g. the demand letter printed and mailed), with the actor's note.

    The timeline row keeps the task and the note as parameters, worded when shown.
    """
    task = CollectionTask.objects.select_for_update().select_related("customer").get(pk=task.pk)
    if task.status != CollectionTask.Status.OPEN:
        raise BusinessRuleError(_("That task is already closed."))
    note = (note or "").strip()[:500]
    task.status = CollectionTask.Status.DONE
    task.outcome = note
    task.completed_by = actor
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "outcome", "completed_by", "completed_at"])
    case_event_create(
        customer=task.customer,
        case=task.case,
        kind=CaseEvent.Kind.TASK_COMPLETED,
        actor=actor,
        data={
            "task": task.pk,
            "task_kind": task.kind,
            "communication": task.communication_id,
            "note": note,
        },
    )
    return task


# --- Dunning pause -----------------------------------------------------------


def _ensure_may_pause(actor: AbstractBaseUser) -> None:
    if not has_role(actor, Role.FINANCE, Role.MANAGER):
        raise BusinessRuleError(_("Only finance or a manager can pause dunning."))


@transaction.atomic
def customer_dunning_pause(
    *, customer: Customer, until: date, reason: str, actor: AbstractBaseUser, as_of: date
) -> Customer:
    """Pause every reminder and letter to the customer through `until`, for a stated reason."""
    _ensure_may_pause(actor)
    reason = clean_note(reason, field="reason", required=True, message=_("Say why dunning pauses."))
    if len(reason) > Customer._meta.get_field("dunning_pause_reason").max_length:
        raise BusinessRuleError(_("Keep the reason under 200 characters."), field="reason")
    if until < as_of:
        raise BusinessRuleError(_("The pause must end today or later."), field="until")
    if until > as_of + timedelta(days=PAUSE_MAX_DAYS):
        raise BusinessRuleError(
            _("A pause lasts at most %(days)s days; agree a plan for longer.")
            % {"days": PAUSE_MAX_DAYS},
            field="until",
        )
    customer = customer_lock(pk=customer.pk)
    customer.dunning_paused_until = until
    customer.dunning_pause_reason = reason
    customer._history_user = actor
    customer._change_reason = "dunning paused"
    customer.save(update_fields=["dunning_paused_until", "dunning_pause_reason", "updated_at"])
    case_event_create(
        customer=customer,
        kind=CaseEvent.Kind.DUNNING_PAUSED,
        actor=actor,
        data={"until": until.isoformat(), TYPED_KEY: reason},
    )
    return customer


@transaction.atomic
def customer_dunning_resume(*, customer: Customer, actor: AbstractBaseUser) -> Customer:
    """End a dunning pause now; the next run picks the customer up again."""
    _ensure_may_pause(actor)
    customer = customer_lock(pk=customer.pk)
    if customer.dunning_paused_until is None:
        raise BusinessRuleError(_("Dunning is not paused for this customer."))
    previous = customer.dunning_paused_until
    customer.dunning_paused_until = None
    customer.dunning_pause_reason = ""
    customer._history_user = actor
    customer._change_reason = "dunning resumed"
    customer.save(update_fields=["dunning_paused_until", "dunning_pause_reason", "updated_at"])
    case_event_create(
        customer=customer,
        kind=CaseEvent.Kind.DUNNING_RESUMED,
        actor=actor,
        data={"previous_until": previous.isoformat()},
    )
    return customer
