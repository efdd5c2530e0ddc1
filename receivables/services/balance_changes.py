"""Announce that invoices' open balances changed, so that the work derived from them follows.

`receivables` imports neither `contracts` nor `dunning` (the dependency rule),
so the apps that derive work from balances register a listener here in their
`AppConfig.ready()`. The money services announce every change once per
batch, inside their transaction and under their locks (customer, then
invoices in pk order): a listener's writes commit or roll back with the
payment, credit note, reversal or cancellation that caused them. The bank
statement import records its receipts through `payments_record_many`, which
announces them like any other payment.
"""

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class BalanceCause(models.TextChoices):
    """What moved the balances: a listener decides from it why its work ends or reopens."""

    PAYMENT = "payment", _("Payment")
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed")
    CREDIT_NOTE = "credit_note", _("Credit note")
    CANCELLATION = "cancellation", _("Invoice cancelled")


@dataclass(frozen=True)
class BalanceChange:
    """A batch of invoices whose stored `outstanding` or status changed, and why."""

    invoice_ids: frozenset[int]
    cause: str
    actor: AbstractBaseUser | None


BalanceListener = Callable[[BalanceChange], None]

_listeners: list[BalanceListener] = []
_immediate: list[BalanceListener] = []
_batch = threading.local()


def balance_listener_register(*, listener: BalanceListener, immediate: bool = False) -> None:
    """Call the listener with every batch of changed invoices (registering twice is harmless).

    An `immediate` listener keeps a stored figure derived from the balances (an
    instalment's open amount): it hears of every change at once, even inside
    `balance_changes_batched`, and before the other listeners, so whatever reads the
    figure next, the next receipt of a statement or the work that follows, sees it right.
    """
    listeners = _immediate if immediate else _listeners
    if listener not in listeners:
        listeners.append(listener)


def invoices_balance_changed(
    *, invoice_ids: Iterable[int], cause: str, actor: AbstractBaseUser | None
) -> None:
    """Tell every listener, in the caller's transaction, that these invoices' balances changed."""
    ids = frozenset(invoice_ids)
    if not ids:
        return
    if cause not in BalanceCause.values:
        raise ValueError(f"unknown balance cause {cause!r}")
    if not transaction.get_connection().in_atomic_block:
        # The derived work must commit with the money, never after it.
        raise RuntimeError("announce balance changes inside the transaction that made them")
    change = BalanceChange(invoice_ids=ids, cause=cause, actor=actor)
    for listener in list(_immediate):
        listener(change)
    pending = getattr(_batch, "pending", None)
    if pending is not None:
        key = (cause, getattr(actor, "pk", None))
        entry = pending.setdefault(key, (actor, set()))
        entry[1].update(ids)
        return
    _announce(change)


def _announce(change: BalanceChange) -> None:
    for listener in list(_listeners):
        listener(change)


@contextmanager
def balance_changes_batched() -> Iterator[None]:
    """Inside the block, gather the announcements and make them once per cause and actor at
    its end, in the same transaction: a bank statement that records thousands of payments
    lets the listeners follow them in one set-based pass instead of one pass a payment.

    Use it inside the transaction that moves the money; a block that raises announces
    nothing (its transaction rolls back). Nested blocks leave the announcing to the outer.
    """
    if getattr(_batch, "pending", None) is not None:
        yield
        return
    _batch.pending = {}
    try:
        yield
        pending = _batch.pending
    finally:
        _batch.pending = None
    for (cause, _actor_pk), (actor, ids) in pending.items():
        _announce(BalanceChange(invoice_ids=frozenset(ids), cause=cause, actor=actor))
