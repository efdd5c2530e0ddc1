"""Finance's actions on messages: send an undelivered one again, send an approved one now,
record one as handled by phone. Each locks the message and writes a timeline row."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dunning.models import CaseEvent, Communication
from dunning.services.communications import recipient_role
from dunning.services.events import case_event_create
from receivables.selectors.customers import contacts_for_mail, email_bounced


def _require_finance(actor: AbstractBaseUser) -> None:
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(_("Only finance can act on undelivered messages."))


# Undelivered because of the address: sent again to the address the contact has now.
ADDRESS_FAILURES = (
    Communication.FailureReason.BOUNCE,
    Communication.FailureReason.BOUNCED_ADDRESS,
)


def _recipient_refresh(communication: Communication) -> None:
    """Point the message at the contact mail goes to today (the address it had, when the
    role has no contact with one); refuse while that address is flagged bounced (the rep's
    task to fix it is open), as sending would."""
    role = recipient_role(channels=list(communication.channels))
    contact = contacts_for_mail(customer_ids=[communication.customer_id]).get(
        (communication.customer_id, role)
    )
    if contact is not None:
        communication.recipient_name = contact.name
        communication.recipient_email = contact.email
    if email_bounced(customer_id=communication.customer_id, email=communication.recipient_email):
        raise BusinessRuleError(
            _(
                "The address bounced and no contact has a new one yet: "
                "fix the contact's email first."
            )
        )


@transaction.atomic
def communication_retry(*, communication: Communication, actor: AbstractBaseUser) -> Communication:
    """Finance sends an undelivered message again now, with a fresh retry window."""
    _require_finance(actor)
    communication = (
        Communication.objects.select_for_update()
        .select_related("customer")
        .get(pk=communication.pk)
    )
    if not communication.is_retryable:
        raise BusinessRuleError(_("This message cannot be sent again."))
    previous = communication.failure_reason
    previous_attempts = communication.attempts
    previous_recipient = communication.recipient_email
    if previous in ADDRESS_FAILURES:
        _recipient_refresh(communication)
    communication.status = Communication.Status.PENDING
    communication.failure_reason = ""
    communication.next_attempt_at = None
    communication.first_attempt_at = None
    communication.attempts = 0
    communication.save(
        update_fields=[
            "status",
            "failure_reason",
            "next_attempt_at",
            "first_attempt_at",
            "attempts",
            "recipient_name",
            "recipient_email",
            "updated_at",
        ]
    )
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_RETRIED,
        actor=actor,
        data={
            "communication": communication.pk,
            "level": communication.level,
            "previous_reason": previous,
            "previous_attempts": previous_attempts,
            # The address that failed, when the message now goes to another.
            **(
                {
                    "previous_recipient": previous_recipient,
                    "recipient": communication.recipient_email,
                }
                if previous_recipient != communication.recipient_email
                else {}
            ),
        },
    )
    _send_on_commit(communication.pk)
    return communication


@transaction.atomic
def communication_send_now(
    *, communication: Communication, actor: AbstractBaseUser
) -> Communication:
    """Finance sends an approved (pending) message now instead of at the next sweep."""
    _require_finance(actor)
    communication = (
        Communication.objects.select_for_update()
        .select_related("customer")
        .get(pk=communication.pk)
    )
    if communication.status != Communication.Status.PENDING:
        raise BusinessRuleError(_("This message is not waiting to be sent."))
    communication.next_attempt_at = None
    communication.save(update_fields=["next_attempt_at", "updated_at"])
    _send_on_commit(communication.pk)
    return communication


@transaction.atomic
def communication_mark_handled(
    *, communication: Communication, actor: AbstractBaseUser, note: str
) -> Communication:
    """Finance records that an undelivered message was handled by phone; it leaves the desk."""
    _require_finance(actor)
    note = (note or "").strip()
    if not note:
        raise BusinessRuleError(_("Write what was agreed on the phone."), field="note")
    communication = (
        Communication.objects.select_for_update()
        .select_related("customer")
        .get(pk=communication.pk)
    )
    if communication.status != Communication.Status.FAILED or communication.handled_at:
        raise BusinessRuleError(_("Only an undelivered message can be marked handled."))
    communication.handled_by = actor
    communication.handled_at = timezone.now()
    communication.save(update_fields=["handled_by", "handled_at", "updated_at"])
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_HANDLED,
        actor=actor,
        data={"communication": communication.pk, "level": communication.level, "note": note},
    )
    return communication


def _send_on_commit(pk: int) -> None:
    from dunning.tasks import communications_send_task

    transaction.on_commit(lambda: communications_send_task.delay([pk]))
