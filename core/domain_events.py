"""Announce domain events (a payment recorded, a dispute opened, ...) to whoever listens.

The apps that make the change (`receivables`, `dunning`) import nothing of
the app that publishes events outward (`integrations`), so it registers a
listener here in its `AppConfig.ready()`, as `dunning` does for balance
changes. An event is a type and its parameters (ids, codes, amounts as
strings, ISO dates): never a finished sentence. Announcing happens inside
the transaction that made the change, so an event is written (by the
listener, to its outbox) exactly when the change commits.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """The event types a webhook can subscribe to."""

    INVOICE_PAID = "invoice.paid", _("Invoice paid")
    INVOICE_OVERDUE = "invoice.overdue", _("Invoice overdue")
    PAYMENT_RECORDED = "payment.recorded", _("Payment recorded")
    PAYMENT_REVERSED = "payment.reversed", _("Payment reversed")
    DUNNING_MESSAGE_SENT = "dunning.message.sent", _("Dunning message sent")
    DUNNING_CASE_ESCALATED = "dunning.case.escalated", _("Collection case escalated")
    PROMISE_BROKEN = "promise.broken", _("Promise to pay broken")
    DISPUTE_OPENED = "dispute.opened", _("Dispute opened")
    CREDIT_HOLD_PLACED = "credit.hold.placed", _("Credit hold placed")


@dataclass(frozen=True)
class DomainEvent:
    """One occurrence: its type, its JSON-ready parameters and the customer it concerns."""

    type: str
    params: dict = field(default_factory=dict)
    customer_id: int | None = None


DomainEventListener = Callable[[Sequence[DomainEvent]], None]

_listeners: list[DomainEventListener] = []
# Per listener that says so, the event types it would keep right now.
_wants: dict[DomainEventListener, Callable[[], set[str]]] = {}


def domain_event_listener_register(
    *, listener: DomainEventListener, wants: Callable[[], set[str]] | None = None
) -> None:
    """Call the listener with every batch of events (registering twice is harmless).

    `wants`, when given, tells which types the listener would keep right now; without
    it the listener wants every type.
    """
    if listener not in _listeners:
        _listeners.append(listener)
    if wants is not None:
        _wants[listener] = wants


def domain_event_types_wanted() -> set[str]:
    """The event types some listener would keep now: a caller about to describe thousands
    of events of one type asks first, and describes none that nobody keeps."""
    wanted: set[str] = set()
    for listener in list(_listeners):
        if listener not in _wants:
            return set(EventType.values)
        wanted |= _wants[listener]()
    return wanted


def domain_events_announce(*, events: Sequence[DomainEvent]) -> None:
    """Tell every listener, in the caller's transaction, that these events happened."""
    events = list(events)
    if not events:
        return
    for event in events:
        if event.type not in EventType.values:
            raise ValueError(f"unknown event type {event.type!r}")
    if not transaction.get_connection().in_atomic_block:
        # The outbox row must commit with the change, or an event could be lost or invented.
        raise RuntimeError("announce domain events inside the transaction that made them")
    for listener in list(_listeners):
        listener(events)
