"""Delivery status of our emails, from the provider's tracking webhooks (django-anymail).

Anymail normalises each provider's events (delivered, bounced, complained,
opened …) and sends its `tracking` signal; `delivery_event_receive` finds the
dunning message or the statement the event is about, by the metadata we sent
with it or the provider's message id stored at send (or our own Message-ID),
and moves its delivery state forward, never back (an `opened` that arrives
before its `delivered` stays opened). A bounce flags the contact's address,
creates one task for the rep to fix it (done by itself when the contact's email
is changed), and fails the statement so it shows on the finance desk to be sent
again. Events repeat (providers retry): each effect happens once.
"""

import logging
import uuid

from anymail.signals import AnymailTrackingEvent, EventType
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from dunning.models import CaseEvent, CollectionTask, Communication, DeliveryState
from dunning.services.cases import collection_task_complete
from dunning.services.events import case_event_create
from dunning.services.tasks import collection_task_create, collection_task_open_exists
from receivables.models import Contact, Customer
from receivables.selectors.customers import email_bounced
from receivables.services.customers import contacts_mark_bounced
from statements.models import Statement
from statements.services.runs import statement_fail

logger = logging.getLogger(__name__)

STATES = {
    EventType.QUEUED: DeliveryState.QUEUED,
    EventType.SENT: DeliveryState.QUEUED,
    EventType.DEFERRED: DeliveryState.DEFERRED,
    EventType.DELIVERED: DeliveryState.DELIVERED,
    EventType.OPENED: DeliveryState.OPENED,
    EventType.CLICKED: DeliveryState.CLICKED,
    EventType.BOUNCED: DeliveryState.BOUNCED,
    EventType.REJECTED: DeliveryState.REJECTED,
    EventType.FAILED: DeliveryState.REJECTED,
    EventType.COMPLAINED: DeliveryState.COMPLAINED,
}
# A state only moves up this order; the failures end it.
RANK = {
    DeliveryState.UNKNOWN: 0,
    DeliveryState.QUEUED: 1,
    DeliveryState.DEFERRED: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.OPENED: 4,
    DeliveryState.CLICKED: 5,
    DeliveryState.COMPLAINED: 6,
    DeliveryState.REJECTED: 7,
    DeliveryState.BOUNCED: 8,
}
UNDELIVERED = frozenset({DeliveryState.BOUNCED, DeliveryState.REJECTED})
COMMUNICATION_KEY = "huikuan_communication"
STATEMENT_KEY = "huikuan_statement"


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _message_id_uuid(message_id: str, *, prefix: str = "") -> uuid.UUID | None:
    """The UUID inside one of our Message-IDs (`<uuid@domain>`, `<statement-uuid@domain>`)."""
    local = message_id.strip().strip("<>").split("@", 1)[0]
    if prefix:
        if not local.startswith(prefix):
            return None
        local = local.removeprefix(prefix)
    return _uuid(local)


def _find(
    model: type[Communication] | type[Statement],
    event: AnymailTrackingEvent,
    *,
    key: str,
    prefix: str,
) -> Communication | Statement | None:
    queryset = model.objects.select_for_update().select_related("customer")
    metadata = event.metadata or {}
    if (found := _uuid(metadata.get(key))) is not None:
        return queryset.filter(message_id=found).first()
    message_id = (event.message_id or "").strip()
    if not message_id:
        return None
    if (row := queryset.filter(provider_message_id=message_id).first()) is not None:
        return row
    if (found := _message_id_uuid(message_id, prefix=prefix)) is not None:
        return queryset.filter(message_id=found).first()
    return None


def delivery_event_receive(
    sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object
) -> None:
    """Anymail's tracking signal: record the event on the message or statement it is about."""
    delivery_event_record(event=event, esp_name=esp_name)


@transaction.atomic
def delivery_event_record(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """Move the delivery state of the message or statement the event names; on a bounce,
    flag the contact and ask the rep to fix the address. Return what it matched."""
    state = STATES.get(event.event_type)
    if state is None:
        return "ignored"
    row = _find(Statement, event, key=STATEMENT_KEY, prefix="statement-")
    if row is None:
        row = _find(Communication, event, key=COMMUNICATION_KEY, prefix="")
    if row is None:
        logger.info(
            "%s %s event for unknown message %s", esp_name, event.event_type, event.message_id
        )
        return "unknown"
    if RANK[state] <= RANK[DeliveryState(row.delivery_state)]:
        return "repeat"
    row.delivery_state = state
    row.delivery_state_at = event.timestamp or timezone.now()
    row.save(update_fields=["delivery_state", "delivery_state_at", "updated_at"])
    if state in UNDELIVERED:
        _bounced(row=row, event=event, esp_name=esp_name)
    return "statement" if isinstance(row, Statement) else "communication"


def _bounced(*, row: Communication | Statement, event: AnymailTrackingEvent, esp_name: str) -> None:
    customer: Customer = row.customer
    email = (event.recipient or row.recipient_email or "").strip()
    is_statement = isinstance(row, Statement)
    reference = {"statement": row.pk} if is_statement else {"communication": row.pk}
    if email:
        contacts_mark_bounced(customer_id=customer.pk, email=email, at=timezone.now())
    case_event_create(
        customer=customer,
        kind=CaseEvent.Kind.EMAIL_BOUNCED,
        data={
            **reference,
            "email": email,
            "event": event.event_type,
            "reject_reason": event.reject_reason or "",
            "provider": esp_name,
        },
    )
    params = {"email": email}
    if email and not collection_task_open_exists(
        customer=customer, kind=CollectionTask.Kind.FIX_CONTACT_EMAIL, params=params
    ):
        collection_task_create(
            customer=customer,
            kind=CollectionTask.Kind.FIX_CONTACT_EMAIL,
            params={**params, **reference},
            due_date=timezone.localdate(),
            communication=None if is_statement else row,
            label=email,
        )
    if is_statement and row.status == Statement.Status.SENT:
        statement_fail(
            statement=row,
            reason=Statement.FailureReason.BOUNCE,
            detail=(event.mta_response or event.description or event.event_type or "")[:2000],
        )


def fix_contact_email_tasks_close(
    *, contact: Contact, old_email: str, actor: AbstractBaseUser | None
) -> list[CollectionTask]:
    """The contact's email changed: the open tasks to fix the bounced old address are done
    (by who changed it), unless another contact of the customer still has it bounced."""
    if actor is None or not old_email:
        return []
    if email_bounced(customer_id=contact.customer_id, email=old_email):
        return []
    tasks = list(
        CollectionTask.objects.filter(
            customer_id=contact.customer_id,
            kind=CollectionTask.Kind.FIX_CONTACT_EMAIL,
            status=CollectionTask.Status.OPEN,
            params__email__iexact=old_email.strip(),
        ).order_by("pk")
    )
    return [collection_task_complete(task=task, actor=actor) for task in tasks]
