"""Building a communication, releasing its internal channels, approving it and failing it.

Internal channels (phone-call, manager and legal tasks, the credit hold) are
written in the same transaction that releases the message (the run, or the
approval), so they happen exactly once with it. Email and letters go out
later, through `dunning.services.send`.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from core.db.rows import rows_insert
from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dunning.models import (
    CaseEvent,
    Channel,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningLevel,
    DunningPolicy,
    DunningStep,
)
from dunning.models.policy import EMAIL_CHANNELS
from dunning.services.events import case_event_create, task_created_data
from dunning.services.render import RenderError, communication_email, email_template_error
from receivables.models import Contact, CreditHoldEvent, Customer
from receivables.selectors.customers import contacts_for_mail
from receivables.services.credit import credit_hold_domain_event
from receivables.services.customers import customer_lock


def manager_for_escalation() -> AbstractBaseUser | None:
    """The manager who receives escalations and legal referrals (the first active one)."""
    return (
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .order_by("pk")
        .first()
    )


def recipient_role(*, channels: list[str]) -> str:
    """The contact a level writes to: the executive for executive email, else finance."""
    if Channel.EXECUTIVE_EMAIL in channels and Channel.EMAIL not in channels:
        return Contact.Role.EXECUTIVE
    return Contact.Role.FINANCE


def communication_sent_domain_event(
    *, communication: Communication, labels: list[str]
) -> DomainEvent:
    """Describe a message that went out (or was carried out) as `dunning.message.sent`."""
    return DomainEvent(
        type=EventType.DUNNING_MESSAGE_SENT,
        params={
            "communication_id": communication.pk,
            "customer_code": communication.customer.code,
            "level": communication.level,
            "currency": communication.currency,
            "channels": list(communication.channels),
            "items": labels,
            "business_date": communication.business_date.isoformat(),
        },
        customer_id=communication.customer_id,
    )


def communication_release(
    *, communication: Communication, case: CollectionCase | None = None
) -> None:
    """Carry out the internal channels of a message that may go out, then settle email-less ones.

    A message without any email channel is complete once its tasks and hold
    exist; one that needs an address the customer lacks fails with that
    reason and becomes a call task for the rep, never a silent skip.
    """
    customer = communication.customer
    as_of = communication.business_date
    steps = list(communication.steps.select_related("invoice", "instalment__agreement"))
    channels = set(communication.channels)
    if case is None:
        case = CollectionCase.objects.filter(
            customer=customer, status=CollectionCase.Status.OPEN
        ).first()
    titles = _task_titles(customer=customer, items=[step.item_label for step in steps])
    for channel in (Channel.PHONE_TASK, Channel.MANAGER_TASK, Channel.LEGAL_TASK):
        if channel in channels:
            kind, params = titles[channel]
            _task_create(
                communication=communication,
                case=case,
                kind=kind,
                assignee=customer.sales_rep
                if channel == Channel.PHONE_TASK
                else manager_for_escalation(),
                params=params,
                due_date=as_of,
            )
    if Channel.CREDIT_HOLD in channels:
        _credit_hold(
            communication=communication, case=case, items=[step.item_label for step in steps]
        )
    needs_email = bool(channels & EMAIL_CHANNELS)
    if not needs_email and Channel.LETTER not in channels:
        communication.status = Communication.Status.SENT
        communication.sent_at = timezone.now()
        communication.save(update_fields=["status", "sent_at", "updated_at"])
        case_event_create(
            customer=customer,
            case=case,
            kind=CaseEvent.Kind.COMMUNICATION_SENT,
            data={
                "communication": communication.pk,
                "level": communication.level,
                "items": [step.item_label for step in steps],
            },
        )
        domain_events_announce(
            events=[
                communication_sent_domain_event(
                    communication=communication, labels=[step.item_label for step in steps]
                )
            ]
        )
    elif needs_email and not communication.recipient_email and Channel.LETTER not in channels:
        communication_fail_missing_address(communication=communication, case=case)


def _task_create(
    *,
    communication: Communication,
    case: CollectionCase | None,
    kind: str,
    assignee: AbstractBaseUser | None,
    params: dict,
    due_date: date,
) -> CollectionTask:
    task = CollectionTask.objects.create(
        kind=kind,
        customer=communication.customer,
        case=case,
        assignee=assignee,
        communication=communication,
        params=params,
        due_date=due_date,
    )
    case_event_create(
        customer=communication.customer,
        case=case,
        kind=CaseEvent.Kind.TASK_CREATED,
        data=task_created_data(task),
    )
    return task


def _credit_hold(
    *, communication: Communication, case: CollectionCase | None, items: list[str]
) -> None:
    from receivables.services.credit import customer_hold

    event = customer_hold(
        customer=communication.customer,
        actor=None,
        reason=CreditHoldEvent.dunning_reason("legal_referral", items=items),
        source=CreditHoldEvent.Source.DUNNING,
    )
    case_event_create(
        customer=communication.customer,
        case=case,
        kind=CaseEvent.Kind.CREDIT_HOLD,
        data={"communication": communication.pk, "hold_event": event.pk if event else None},
    )


def communication_fail(
    *, communication: Communication, reason: str, detail: str = ""
) -> Communication:
    """End a message in `failed` with its reason, visible on the case timeline."""
    communication.status = Communication.Status.FAILED
    communication.failure_reason = reason
    communication.failure_detail = detail[:2000]
    communication.save(update_fields=["status", "failure_reason", "failure_detail", "updated_at"])
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_FAILED,
        data={
            "communication": communication.pk,
            "level": communication.level,
            "reason": reason,
            "detail": detail[:500],
        },
    )
    return communication


def communication_fail_missing_address(
    *, communication: Communication, case: CollectionCase | None = None
) -> None:
    """No email address on file: fail the email and give the rep a task to make contact."""
    customer = communication.customer
    steps = list(communication.steps.select_related("invoice", "instalment__agreement"))
    _task_create(
        communication=communication,
        case=case,
        kind=CollectionTask.Kind.CALL,
        assignee=customer.sales_rep,
        params=_missing_address_params(
            communication=communication,
            items=[step.item_label for step in steps],
            letter=bool(communication.letter_pdf),
        ),
        due_date=communication.business_date,
    )
    communication_fail(
        communication=communication,
        reason=Communication.FailureReason.MISSING_ADDRESS,
        detail="",  # the reason says it all, in the reader's language
    )


def _communication_lock(*, pk: int) -> Communication:
    return Communication.objects.select_for_update().select_related("customer").get(pk=pk)


@transaction.atomic
def communication_approve(
    *,
    communication: Communication,
    actor: AbstractBaseUser,
    approved_at: datetime | None = None,
) -> Communication:
    """Finance approves a message held for approval: it is released and queued for sending.

    `approved_at` defaults to now; the demo passes the past moment it replays.
    """
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(_("Only finance can approve dunning messages."))
    # The customer before the message (the lock order of the money services, which
    # cancel messages): releasing a legal referral locks the customer again for its hold.
    customer_lock(pk=communication.customer_id)
    communication = _communication_lock(pk=communication.pk)
    if communication.status != Communication.Status.AWAITING_APPROVAL:
        raise BusinessRuleError(_("This message is not waiting for approval."))
    communication.status = Communication.Status.PENDING
    communication.approved_by = actor
    communication.approved_at = approved_at or timezone.now()
    # It goes out today: the email and the letter are dated today, so the customer
    # gets the policy's full days to pay (dunning.policy.communication_letter_date).
    _rerender_email(communication=communication)
    communication.save(
        update_fields=["status", "approved_by", "approved_at", "subject", "body", "updated_at"]
    )
    try:
        communication_letter_store(communication=communication)
    except Exception as error:  # DemandLetterError and rendering failures: approval is refused
        raise BusinessRuleError(
            _("The letter cannot be rendered: %(reason)s") % {"reason": error}
        ) from error
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_APPROVED,
        actor=actor,
        data={"communication": communication.pk, "level": communication.level},
    )
    communication_release(communication=communication)
    return communication


def _rerender_email(*, communication: Communication) -> None:
    """Render the subject and body as of the message's letter date (before it is sent)."""
    try:
        email = communication_email(communication=communication)
    except RenderError as error:
        raise BusinessRuleError(
            _("The letter cannot be rendered: %(reason)s") % {"reason": error}
        ) from error
    if email is not None:
        communication.subject, communication.body = email


def communication_letter_store(*, communication: Communication) -> Communication:
    """Render the message's demand letter and store it on the message, once (call it locked).

    The stored PDF is the letter from then on: the preview, the download and the
    email attachment all read it, so what finance approved is what goes out.
    Raises `DemandLetterError` when the letter cannot be made.
    """
    # Imported here: WeasyPrint loads with the first letter, not with every worker.
    from dunning.letters import demand_letter_render

    if Channel.LETTER not in communication.channels or communication.letter_pdf:
        return communication
    pdf = demand_letter_render(communication=communication)
    communication.letter_pdf.save("letter.pdf", ContentFile(pdf), save=False)
    communication.save(update_fields=["letter_pdf", "updated_at"])
    return communication


@transaction.atomic
def communication_letter_ensure(*, communication_id: int) -> Communication:
    """Store the letter of a released message that the send sweep has not reached yet."""
    communication = _communication_lock(pk=communication_id)
    if communication.status == Communication.Status.PENDING:
        communication_letter_store(communication=communication)
    return communication


@transaction.atomic
def communication_reject(
    *, communication: Communication, actor: AbstractBaseUser, reason: str
) -> Communication:
    """Finance refuses a message held for approval: it is cancelled with the reason."""
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(_("Only finance can refuse dunning messages."))
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(_("Write why the message is refused."), field="reason")
    communication = _communication_lock(pk=communication.pk)
    if communication.status != Communication.Status.AWAITING_APPROVAL:
        raise BusinessRuleError(_("This message is not waiting for approval."))
    if not communication.subject:
        # What finance refused stays on the message, as it read (a broken template
        # does not stop a refusal).
        try:
            email = communication_email(communication=communication)
        except RenderError:
            email = None
        if email is not None:
            communication.subject, communication.body = email
    communication.status = Communication.Status.CANCELLED
    communication.failure_reason = Communication.FailureReason.REJECTED
    communication.failure_detail = reason
    communication.approved_by = actor
    communication.approved_at = timezone.now()
    communication.save(
        update_fields=[
            *("status", "failure_reason", "failure_detail", "approved_by", "approved_at"),
            *("subject", "body", "updated_at"),
        ]
    )
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_CANCELLED,
        actor=actor,
        data={
            "communication": communication.pk,
            "level": communication.level,
            "refused": True,
            TYPED_KEY: reason,
        },
    )
    return communication


# --- The daily run's messages, built for a whole chunk at once ---------------


@dataclass(frozen=True, slots=True)
class BatchStep:
    """What the messages, their tasks and timeline read of a step the run just inserted
    (read as rows: the first run's 85,000 steps as model instances cost seconds)."""

    pk: int
    customer_id: int
    level: str
    currency: str
    outstanding: Decimal
    batch: uuid.UUID
    item_label: str


@dataclass(slots=True)
class NewMessage:
    """A message the run writes as a row (`rows_insert`); the fields of `Communication` it
    sets, the others take their defaults. Read as a message where one is described."""

    COLUMNS: ClassVar = (
        *("run_id", "business_date", "customer_id", "level", "currency", "channels"),
        *("language", "recipient_name", "recipient_email", "total_amount", "status"),
        *("failure_reason", "failure_detail", "sent_at"),
    )

    run_id: int | None
    business_date: date
    customer: Customer
    level: str
    currency: str
    channels: list[str]
    language: str
    recipient_name: str
    recipient_email: str
    total_amount: Decimal
    status: str
    failure_reason: str = ""
    failure_detail: str = ""
    sent_at: datetime | None = None
    pk: int | None = None

    @property
    def customer_id(self) -> int:
        return self.customer.pk


@dataclass(slots=True)
class NewTask:
    """A task the run writes as a row (`rows_insert`), read by `task_created_data` as a task."""

    COLUMNS: ClassVar = (
        *("kind", "customer_id", "case_id", "assignee_id", "params", "due_date"),
        "communication_id",
    )

    kind: str
    customer_id: int
    case_id: int | None
    assignee_id: int | None
    params: dict
    due_date: date
    communication_id: int | None = None
    pk: int | None = None


def _records_insert(model: type, records: list[NewMessage] | list[NewTask]) -> None:
    """Write the records as rows of the model, one statement, and give each its key."""
    if not records:
        return
    columns = type(records[0]).COLUMNS
    rows = [[getattr(record, name) for name in columns] for record in records]
    for record, pk in zip(records, rows_insert(model, columns, rows), strict=True):
        record.pk = pk


def _task_titles(*, customer: Customer, items: list[str]) -> dict[str, tuple[str, dict]]:
    """Per internal channel: the kind of the task the ladder gives it and its parameters."""
    params = {"customer": customer.name, "items": items}
    return {
        Channel.PHONE_TASK: (CollectionTask.Kind.CALL, {"what": "call", **params}),
        Channel.MANAGER_TASK: (
            CollectionTask.Kind.MANAGER_ESCALATION,
            {"what": "escalate", **params},
        ),
        Channel.LEGAL_TASK: (CollectionTask.Kind.LEGAL_REFERRAL, {"what": "legal", **params}),
    }


def _missing_address_params(
    *, communication: Communication, items: list[str], letter: bool = False
) -> dict:
    """The no-email call task: worded at display time (`dunning.events`)."""
    return {
        "what": "no_email",
        "details": "no_email",
        "customer": communication.customer.name,
        "items": items,
        "level": communication.level,
        "contact": "executive" if Channel.EXECUTIVE_EMAIL in communication.channels else "finance",
        "letter": letter,
    }


def communications_build_many(
    *,
    run_id: int | None,
    as_of: date,
    policy: DunningPolicy,
    groups: list[tuple[Customer, DunningLevel, str, list[BatchStep]]],
    case_ids: dict[int, int],
) -> list[NewMessage]:
    """Create the messages of many (customer, level, currency) groups with a fixed number of
    statements, with the result that building each group's message on its own would give.
    The groups hold every step of one batch (a chunk of the run); the messages are returned
    as the rows written.

    The steps carry their items' labels; `case_ids` holds each customer's open case. Contacts,
    the escalation manager, messages, step links, tasks, credit holds and the
    timeline are each read or written once for all groups.
    """
    if not groups:
        return []
    customer_ids = {customer.pk for customer, _level, _currency, _steps in groups}
    contacts = contacts_for_mail(customer_ids=customer_ids)
    internal = {Channel.MANAGER_TASK, Channel.LEGAL_TASK}
    needs_manager = any(internal & set(level.channels) for _c, level, _cu, _s in groups)
    manager = manager_for_escalation() if needs_manager else None
    manager_id = manager.pk if manager else None
    now = timezone.now()
    communications: list[NewMessage] = []
    plans: list[dict] = []
    template_errors: dict[tuple[str, str], str] = {}
    for customer, level, currency, steps in groups:
        channels = list(level.channels)
        contact = contacts.get((customer.pk, recipient_role(channels=channels)))
        communication = NewMessage(
            run_id=run_id,
            business_date=as_of,
            customer=customer,
            level=level.code,
            currency=currency,
            channels=channels,
            language=customer.language,
            recipient_name=contact.name if contact else "",
            recipient_email=contact.email if contact else "",
            total_amount=sum(step.outstanding for step in steps),
            status=(
                Communication.Status.AWAITING_APPROVAL
                if level.requires_approval
                else Communication.Status.PENDING
            ),
        )
        labels = [step.item_label for step in steps]
        plan = {
            "level": level,
            "steps": steps,
            "labels": labels,
            # Releasing reads the message's steps back in their model order (`pk`).
            "released_items_list": [
                label
                for _pk, label in sorted(zip([step.pk for step in steps], labels, strict=True))
            ],
            "tasks": [],
        }
        if level.sends_email:
            # The text is rendered when the message goes out; a template that is missing
            # or broken fails the message now, before its tasks and hold are released.
            key = (level.code, communication.language)
            if key not in template_errors:
                template_errors[key] = email_template_error(
                    level=level, language=communication.language
                )
            if template_errors[key]:
                communication.status = Communication.Status.FAILED
                communication.failure_reason = Communication.FailureReason.RENDER_ERROR
                communication.failure_detail = template_errors[key][:2000]
                plan["fail_detail"] = template_errors[key]
        if communication.status == Communication.Status.PENDING:
            plan["released"] = True
            released = plan["released_items_list"]
            titles = _task_titles(customer=customer, items=released)
            for channel in (Channel.PHONE_TASK, Channel.MANAGER_TASK, Channel.LEGAL_TASK):
                if channel in channels:
                    kind, params = titles[channel]
                    phone = channel == Channel.PHONE_TASK
                    plan["tasks"].append(
                        NewTask(
                            kind=kind,
                            customer_id=customer.pk,
                            case_id=case_ids.get(customer.pk),
                            assignee_id=customer.sales_rep_id if phone else manager_id,
                            params=params,
                            due_date=as_of,
                        )
                    )
            plan["hold"] = Channel.CREDIT_HOLD in channels
            needs_email = bool(set(channels) & EMAIL_CHANNELS)
            if not needs_email and Channel.LETTER not in channels:
                communication.status = Communication.Status.SENT
                communication.sent_at = now
                plan["sent"] = True
            elif (
                needs_email and not communication.recipient_email and Channel.LETTER not in channels
            ):
                communication.status = Communication.Status.FAILED
                communication.failure_reason = Communication.FailureReason.MISSING_ADDRESS
                communication.failure_detail = ""
                plan["missing_address"] = True
                plan["tasks"].append(
                    NewTask(
                        kind=CollectionTask.Kind.CALL,
                        customer_id=customer.pk,
                        case_id=case_ids.get(customer.pk),
                        assignee_id=customer.sales_rep_id,
                        params=_missing_address_params(communication=communication, items=released),
                        due_date=as_of,
                    )
                )
        communications.append(communication)
        plans.append(plan)
    _records_insert(Communication, communications)
    # Each step joins the one new message of its customer, level and currency: one UPDATE
    # whatever the number of steps (a CASE per step cost seconds to build and to plan).
    keys = {(c.customer_id, c.level, c.currency) for c in communications}
    if len(keys) != len(communications) or any(
        (step.customer_id, step.level, step.currency) != (c.customer_id, c.level, c.currency)
        for c, plan in zip(communications, plans, strict=True)
        for step in plan["steps"]
    ):
        raise ValueError("one group per customer, level and currency, of its own steps")
    # The groups hold every step of one batch: filtering on it spares a list of their ids.
    steps_total = sum(len(plan["steps"]) for plan in plans)
    (batch,) = {step.batch for plan in plans for step in plan["steps"]}
    linked = DunningStep.objects.filter(batch=batch).update(
        communication_id=Subquery(
            Communication.objects.filter(
                pk__any_of=[c.pk for c in communications],
                customer_id=OuterRef("customer_id"),
                level=OuterRef("level"),
                currency=OuterRef("currency"),
            ).values("pk")[:1]
        )
    )
    if linked != steps_total:
        raise ValueError("the groups must hold every step of their batch")
    tasks = []
    for communication, plan in zip(communications, plans, strict=True):
        for task in plan["tasks"]:
            task.communication_id = communication.pk
            tasks.append(task)
    _records_insert(CollectionTask, tasks)
    # The legal credit hold: each customer once, unless already on hold.
    held: dict[int, CreditHoldEvent | None] = {}
    to_hold: list[Customer] = []
    hold_events: list[CreditHoldEvent] = []
    for communication, plan in zip(communications, plans, strict=True):
        customer = communication.customer
        if not plan.get("hold") or customer.pk in held:
            if plan.get("hold"):
                plan["hold_event"] = None
            continue
        if customer.credit_status == Customer.CreditStatus.ON_HOLD:
            held[customer.pk] = plan["hold_event"] = None
            continue
        customer.credit_status = Customer.CreditStatus.ON_HOLD
        customer.updated_at = now
        to_hold.append(customer)
        event = CreditHoldEvent(
            customer=customer,
            action=CreditHoldEvent.Action.HOLD,
            source=CreditHoldEvent.Source.DUNNING,
            actor=None,
            reason=CreditHoldEvent.dunning_reason(
                "legal_referral", items=plan["released_items_list"]
            ),
        )
        hold_events.append(event)
        held[customer.pk] = plan["hold_event"] = event
    if to_hold:
        bulk_update_with_history(to_hold, Customer, ["credit_status", "updated_at"])
        CreditHoldEvent.objects.bulk_create(hold_events)
    events: list[tuple[int, int | None, str, dict]] = []
    for communication, plan in zip(communications, plans, strict=True):
        customer = communication.customer
        case_id = case_ids.get(customer.pk)
        level = plan["level"]
        labels = plan["labels"]

        def event(kind: str, data: dict, *, case_id=case_id, customer=customer) -> None:
            events.append((customer.pk, case_id, kind, data))

        event(
            CaseEvent.Kind.COMMUNICATION_QUEUED,
            {
                "communication": communication.pk,
                "level": level.code,
                "currency": communication.currency,
                "items": labels,
                "status": (
                    Communication.Status.AWAITING_APPROVAL
                    if level.requires_approval
                    else Communication.Status.PENDING
                ),
            },
        )
        if "fail_detail" in plan:
            event(
                CaseEvent.Kind.COMMUNICATION_FAILED,
                {
                    "communication": communication.pk,
                    "level": communication.level,
                    "reason": communication.failure_reason,
                    "detail": plan["fail_detail"][:500],
                },
            )
            continue
        if not plan.get("released"):
            continue
        for task in plan["tasks"]:
            if task.params.get("what") == "no_email":
                continue  # the missing-address task, written with its failure below
            event(CaseEvent.Kind.TASK_CREATED, task_created_data(task))
        if plan.get("hold"):
            hold_event = plan["hold_event"]
            event(
                CaseEvent.Kind.CREDIT_HOLD,
                {
                    "communication": communication.pk,
                    "hold_event": hold_event.pk if hold_event else None,
                },
            )
        if plan.get("sent"):
            event(
                CaseEvent.Kind.COMMUNICATION_SENT,
                {
                    "communication": communication.pk,
                    "level": communication.level,
                    "items": plan["released_items_list"],
                },
            )
        elif plan.get("missing_address"):
            task = plan["tasks"][-1]
            event(CaseEvent.Kind.TASK_CREATED, task_created_data(task))
            event(
                CaseEvent.Kind.COMMUNICATION_FAILED,
                {
                    "communication": communication.pk,
                    "level": communication.level,
                    "reason": communication.failure_reason,
                    "detail": communication.failure_detail[:500],
                },
            )
    rows_insert(CaseEvent, ("customer_id", "case_id", "kind", "data"), events)
    domain_events_announce(
        events=[credit_hold_domain_event(hold=hold) for hold in hold_events]
        + [
            communication_sent_domain_event(
                communication=communication,
                labels=plan["labels"],
            )
            for communication, plan in zip(communications, plans, strict=True)
            if plan.get("sent")
        ]
    )
    return communications
