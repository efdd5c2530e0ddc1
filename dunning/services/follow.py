"""Work that follows the money: when items settle, what was derived from them ends at once.

`receivables` announces every batch of invoices whose balance changed (a
payment, applied credit, a credit note, a cancellation, a reversal; a bank
receipt is recorded as a payment) and `invoices_follow_balance`, registered in
`DunningConfig.ready`, handles it in that same transaction; `agreement_approve`
calls `items_follow` for the invoices an agreement replaces. Whatever the size
of the batch, it takes a constant number of statements (plus a few per
customer whose legal credit hold lifts or comes back, and per promise kept):

* an item is *settled* when it is no longer owed by the balance module's rule
  (`receivables.selectors.balances.owing_q`, the policy's tolerance from
  `dunning.policy`), is paid or cancelled, or an approved agreement replaces it;
* a message not yet sent whose items are all settled is cancelled with the
  reason: awaiting approval, pending (a mail-server outage keeps it pending
  for the retry window) or undelivered (failed, on the finance desk, not
  handled by phone), so the desk stops offering to send it again. A message
  being sent (`sending`, claimed by a sender) is the sender's: its re-check
  at claim time saw the items still owed; one that still has an owed item is
  left as it is: the sender's re-check drops the settled items and re-renders
  it when it goes out (`dunning.services.send.communication_recheck`);
* an open task made by a message whose items are all settled closes with the
  reason (`CollectionTask.closed_reason`);
* an open promise to pay on the items that the money settled is kept (the
  promise review's own rule; it is only ever broken by its date);
* a customer with nothing overdue any more (the one definition, that of the run:
  `contracts.selectors.instalments.customer_ids_overdue`) has its
  open case closed with the reason, with the case's other open tasks (follow-ups,
  promise checks); the legal-referral credit hold lifts when the policy says so;
  the thank-you note goes out after the commit (`dunning.services.thanks`);
* the other way round (a reversed payment), items owed again reopen the tasks
  and the case the money had closed, and the hold comes back. The ladder goes
  on from the rung each item reached: its steps were never removed, so no rung
  is sent twice and the next one follows the usual rules. Cancelled messages
  stay cancelled.

Every change is an event row with a kind and parameters (no stored sentence);
`CaseEvent.summary` words it for the reader.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import (
    customer_ids_overdue,
    instalments_as_of,
    invoice_replaced,
)
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningPolicy,
    DunningStep,
    SettlementReason,
)
from dunning.models.policy import OVERDUE_LEVELS
from dunning.policy import policy_active_or_default
from dunning.services.events import case_event_create
from dunning.services.promises import promises_keep_settled
from receivables.models import CreditHoldEvent, Customer, Invoice
from receivables.selectors.balances import invoices_open_today, owing_q
from receivables.services.balance_changes import BalanceCause, BalanceChange
from receivables.services.credit import customer_hold, customer_release

logger = logging.getLogger(__name__)

REVERSED = "payment_reversed"
NOT_YET_SENT = (Communication.Status.AWAITING_APPROVAL, Communication.Status.PENDING)
# Awaiting approval, pending (retrying included) or undelivered on the finance desk.
UNSENT_Q = Q(status__in=NOT_YET_SENT) | Q(
    status=Communication.Status.FAILED, handled_at__isnull=True
)
CAUSE_REASONS = {
    BalanceCause.PAYMENT: SettlementReason.PAID,
    BalanceCause.CREDIT_NOTE: SettlementReason.CREDITED,
    BalanceCause.CANCELLATION: SettlementReason.CANCELLED,
    BalanceCause.PAYMENT_REVERSED: REVERSED,
}


@dataclass
class FollowResult:
    """What one batch changed, by primary key."""

    cancelled_communications: list[int] = field(default_factory=list)
    closed_tasks: list[int] = field(default_factory=list)
    reopened_tasks: list[int] = field(default_factory=list)
    closed_cases: list[int] = field(default_factory=list)
    reopened_cases: list[int] = field(default_factory=list)
    holds_released: list[int] = field(default_factory=list)
    holds_restored: list[int] = field(default_factory=list)
    promises_kept: list[int] = field(default_factory=list)


def _owed_items(
    *, invoice_ids: Iterable[int], instalment_ids: Iterable[int], policy: DunningPolicy, as_of: date
) -> tuple[dict[int, str], set[int]]:
    """Of these items, those still owed today: open invoices no agreement replaces (number
    by pk) and instalments, each owing at least the tolerance."""
    invoices = dict(
        invoices_open_today(Invoice.objects.filter(pk__in=list(invoice_ids)))
        .filter(owing_q(tolerance=policy.tolerance))
        .exclude(invoice_replaced())
        .values_list("pk", "number")
    )
    instalment_ids = list(instalment_ids)
    instalments = (
        set(
            instalments_as_of(as_of=as_of)
            .filter(pk__in=instalment_ids)
            .filter(owing_q(tolerance=policy.tolerance, amount="open_amount"))
            .values_list("pk", flat=True)
        )
        if instalment_ids
        else set()
    )
    return invoices, instalments


def invoices_follow_balance(change: BalanceChange) -> None:
    """Listener for `receivables.services.balance_changes`: follow a batch of changed balances."""
    items_follow(
        invoice_ids=change.invoice_ids,
        reason=CAUSE_REASONS[change.cause],
        actor=change.actor,
        as_of=timezone.localdate(),
    )


def items_follow(
    *,
    invoice_ids: Iterable[int],
    reason: str,
    actor: AbstractBaseUser | None,
    as_of: date,
) -> FollowResult:
    """End (or, after a reversal, reopen) the work derived from these invoices, in this
    transaction: messages, tasks, the case, the legal credit hold, the thank-you note."""
    ids = sorted(set(invoice_ids))
    result = FollowResult()
    if not ids:
        return result
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("items_follow runs inside the transaction that moved the money")
    invoice_customers = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "customer_id"))
    customer_ids = sorted(set(invoice_customers.values()))
    # The lock order of the receivables services: customers in pk order (the
    # caller holds its own customer already; taking it again does not wait).
    # Every caller today moves one customer's money per transaction.
    customers = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__in=customer_ids)
        .order_by("pk")
    }
    policy = policy_active_or_default()
    instalment_ids = list(
        AgreementInstalment.objects.filter(
            agreement__status=SupplementaryAgreement.Status.APPROVED, agreement__invoices__in=ids
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    events: list[CaseEvent] = []
    open_case_ids = dict(
        CollectionCase.objects.filter(
            customer_id__in=customer_ids, status=CollectionCase.Status.OPEN
        ).values_list("customer_id", "pk")
    )
    _follow_messages_and_tasks(
        open_case_ids=open_case_ids,
        ids=ids,
        instalment_ids=instalment_ids,
        reason=reason,
        actor=actor,
        as_of=as_of,
        policy=policy,
        result=result,
        events=events,
    )
    if reason != REVERSED:
        result.promises_kept = promises_keep_settled(invoice_ids=ids, as_of=as_of)
    overdue = _follow_cases(
        invoice_customers=invoice_customers,
        customers=customers,
        reason=reason,
        actor=actor,
        as_of=as_of,
        policy=policy,
        result=result,
        events=events,
    )
    CaseEvent.objects.bulk_create(events)
    _follow_holds(customers=customers, overdue=overdue, reason=reason, policy=policy, result=result)
    if (
        reason == SettlementReason.PAID
        and Invoice.objects.filter(pk__in=ids, status=Invoice.Status.PAID)
        .filter(
            Exists(DunningStep.objects.filter(invoice=OuterRef("pk"), level__in=OVERDUE_LEVELS))
        )
        .exists()
    ):
        _thank_after_commit(customer_ids=customer_ids, as_of=as_of)
    return result


def _event(
    *, customer_id: int, case_id: int | None, kind: str, actor: AbstractBaseUser | None, data: dict
) -> CaseEvent:
    return CaseEvent(customer_id=customer_id, case_id=case_id, kind=kind, actor=actor, data=data)


def _follow_messages_and_tasks(
    *,
    open_case_ids: dict[int, int],
    ids: list[int],
    instalment_ids: list[int],
    reason: str,
    actor: AbstractBaseUser | None,
    as_of: date,
    policy: DunningPolicy,
    result: FollowResult,
    events: list[CaseEvent],
) -> None:
    """Cancel unsent messages and close tasks whose items are all settled; reopen tasks the
    money closed once an item is owed again."""
    about_batch = DunningStep.objects.filter(
        Q(invoice_id__in=ids) | Q(instalment_id__in=instalment_ids), communication__isnull=False
    ).values("communication_id")
    steps = list(
        DunningStep.objects.filter(communication_id__in=about_batch).values_list(
            "communication_id", "invoice_id", "instalment_id", "invoice__number"
        )
    )
    if not steps:
        return
    owed_invoices, owed_instalments = _owed_items(
        invoice_ids={invoice_id for _c, invoice_id, _i, _n in steps if invoice_id},
        instalment_ids={instalment_id for _c, _v, instalment_id, _n in steps if instalment_id},
        policy=policy,
        as_of=as_of,
    )
    labels: dict[int, list[str]] = defaultdict(list)
    owed_comms: set[int] = set()
    for communication_id, invoice_id, instalment_id, number in steps:
        labels[communication_id].append(number or f"#{instalment_id}")
        if invoice_id in owed_invoices or instalment_id in owed_instalments:
            owed_comms.add(communication_id)
    settled_comms = set(labels) - owed_comms
    if reason != REVERSED and settled_comms:
        # Lock before cancelling: a sender claiming the message meanwhile has it
        # `sending` once we get the row, and the status filter then leaves it alone.
        cancelled = list(
            Communication.objects.select_for_update()
            .filter(UNSENT_Q, pk__in=settled_comms)
            .order_by("pk")
            .values_list("pk", "customer_id", "level", "status", "failure_reason")
        )
        Communication.objects.filter(pk__in=[row[0] for row in cancelled]).update(
            status=Communication.Status.CANCELLED,
            failure_reason=Communication.FailureReason.SETTLED,
            failure_detail="",
            updated_at=timezone.now(),
        )
        for pk, customer_id, level, status, failure_reason in cancelled:
            result.cancelled_communications.append(pk)
            events.append(
                _event(
                    customer_id=customer_id,
                    case_id=open_case_ids.get(customer_id),
                    kind=CaseEvent.Kind.COMMUNICATION_CANCELLED,
                    actor=actor,
                    data={
                        "communication": pk,
                        "level": level,
                        "reason": reason,
                        "items": sorted(labels[pk]),
                        "was": status,
                        "failure_reason": failure_reason,
                    },
                )
            )
        _tasks_close(
            tasks=CollectionTask.objects.filter(communication_id__in=settled_comms),
            reason=reason,
            actor=actor,
            result=result,
            events=events,
        )
    if owed_comms:
        _tasks_reopen(
            tasks=CollectionTask.objects.filter(communication_id__in=owed_comms),
            actor=actor,
            result=result,
            events=events,
        )


def _tasks_close(
    *,
    tasks,
    reason: str,
    actor: AbstractBaseUser | None,
    result: FollowResult,
    events: list[CaseEvent],
) -> None:
    rows = list(
        tasks.select_for_update()
        .filter(status=CollectionTask.Status.OPEN)
        .order_by("pk")
        .values_list("pk", "customer_id", "case_id", "kind", "title", "params")
    )
    if not rows:
        return
    CollectionTask.objects.filter(pk__in=[row[0] for row in rows]).update(
        status=CollectionTask.Status.CANCELLED,
        closed_reason=reason,
        completed_at=timezone.now(),
    )
    for pk, customer_id, case_id, kind, title, params in rows:
        result.closed_tasks.append(pk)
        events.append(
            _event(
                customer_id=customer_id,
                case_id=case_id,
                kind=CaseEvent.Kind.TASK_CLOSED,
                actor=actor,
                data={
                    "task": pk,
                    "kind": kind,
                    "title": title,
                    "task_params": params,
                    "reason": reason,
                },
            )
        )


def _tasks_reopen(
    *, tasks, actor: AbstractBaseUser | None, result: FollowResult, events: list[CaseEvent]
) -> None:
    rows = list(
        tasks.select_for_update()
        .filter(status=CollectionTask.Status.CANCELLED, closed_reason__in=SettlementReason.values)
        .order_by("pk")
        .values_list("pk", "customer_id", "case_id", "kind", "title", "params")
    )
    if not rows:
        return
    CollectionTask.objects.filter(pk__in=[row[0] for row in rows]).update(
        status=CollectionTask.Status.OPEN, closed_reason="", completed_at=None
    )
    for pk, customer_id, case_id, kind, title, params in rows:
        result.reopened_tasks.append(pk)
        events.append(
            _event(
                customer_id=customer_id,
                case_id=case_id,
                kind=CaseEvent.Kind.TASK_REOPENED,
                actor=actor,
                data={
                    "task": pk,
                    "kind": kind,
                    "title": title,
                    "task_params": params,
                    "reason": REVERSED,
                },
            )
        )


def _follow_cases(
    *,
    invoice_customers: dict[int, int],
    customers: dict[int, Customer],
    reason: str,
    actor: AbstractBaseUser | None,
    as_of: date,
    policy: DunningPolicy,
    result: FollowResult,
    events: list[CaseEvent],
) -> set[int]:
    """Close the case of a customer with nothing overdue any more; reopen the one the money
    closed when items are overdue again. Return the customers with something overdue."""
    overdue = customer_ids_overdue(as_of=as_of, tolerance=policy.tolerance, customer_ids=customers)
    open_cases = {
        case.customer_id: case
        for case in CollectionCase.objects.select_for_update(of=("self",))
        .filter(customer_id__in=list(customers), status=CollectionCase.Status.OPEN)
        .order_by("pk")
    }
    if reason != REVERSED:
        closing = [
            case
            for customer_id, case in sorted(open_cases.items())
            if customer_id not in overdue and case.opened_on <= as_of
        ]
        if closing:
            CollectionCase.objects.filter(pk__in=[case.pk for case in closing]).update(
                status=CollectionCase.Status.CLOSED,
                closed_on=as_of,
                closed_reason=reason,
                updated_at=timezone.now(),
            )
            for case in closing:
                result.closed_cases.append(case.pk)
                events.append(
                    _event(
                        customer_id=case.customer_id,
                        case_id=case.pk,
                        kind=CaseEvent.Kind.CASE_CLOSED,
                        actor=actor,
                        data={"as_of": as_of.isoformat(), "reason": reason},
                    )
                )
            # Follow-ups and promise checks no message made end with the case.
            _tasks_close(
                tasks=CollectionTask.objects.filter(
                    case__in=[case.pk for case in closing], communication__isnull=True
                ),
                reason=reason,
                actor=actor,
                result=result,
                events=events,
            )
    reopen_for = sorted(set(overdue) - set(open_cases))
    if not reopen_for:
        return overdue
    latest: dict[int, CollectionCase] = {}
    for case in (
        CollectionCase.objects.select_for_update(of=("self",))
        .filter(customer_id__in=reopen_for)
        .order_by("customer_id", "-opened_on", "-pk")
    ):
        latest.setdefault(case.customer_id, case)
    reopening = [case for case in latest.values() if case.closed_reason in SettlementReason.values]
    if not reopening:
        return overdue
    CollectionCase.objects.filter(pk__in=[case.pk for case in reopening]).update(
        status=CollectionCase.Status.OPEN,
        closed_on=None,
        closed_reason="",
        updated_at=timezone.now(),
    )
    owed_numbers, _owed = _owed_items(
        invoice_ids=list(invoice_customers), instalment_ids=[], policy=policy, as_of=as_of
    )
    for case in sorted(reopening, key=lambda case: case.pk):
        result.reopened_cases.append(case.pk)
        events.append(
            _event(
                customer_id=case.customer_id,
                case_id=case.pk,
                kind=CaseEvent.Kind.CASE_REOPENED,
                actor=actor,
                data={
                    "as_of": as_of.isoformat(),
                    "reason": REVERSED,
                    "items": sorted(
                        number
                        for pk, number in owed_numbers.items()
                        if invoice_customers[pk] == case.customer_id
                    ),
                },
            )
        )
    _tasks_reopen(
        tasks=CollectionTask.objects.filter(
            case__in=[case.pk for case in reopening], communication__isnull=True
        ),
        actor=actor,
        result=result,
        events=events,
    )
    return overdue


def _latest_hold_events(*, customer_ids: list[int]) -> dict[int, CreditHoldEvent]:
    latest: dict[int, CreditHoldEvent] = {}
    # Insertion order: hold events of a customer are written under its lock.
    for event in CreditHoldEvent.objects.filter(customer_id__in=customer_ids).order_by(
        "customer_id", "-pk"
    ):
        latest.setdefault(event.customer_id, event)
    return latest


def _follow_holds(
    *,
    customers: dict[int, Customer],
    overdue: set[int],
    reason: str,
    policy: DunningPolicy,
    result: FollowResult,
) -> None:
    """Lift the ladder's legal-referral hold once nothing is overdue (when the policy says
    so); put back a hold the money lifted once items are overdue again. A hold finance
    placed by hand is left to finance."""
    on_hold = [
        pk
        for pk, customer in customers.items()
        if customer.credit_status == Customer.CreditStatus.ON_HOLD and pk not in overdue
    ]
    released = [
        pk
        for pk, customer in customers.items()
        if customer.credit_status == Customer.CreditStatus.ACTIVE and pk in overdue
    ]
    lifting = reason != REVERSED and policy.credit_hold_release == DunningPolicy.HoldRelease.SETTLED
    if not ((on_hold and lifting) or released):
        return
    latest = _latest_hold_events(customer_ids=sorted(on_hold + released))
    for pk in sorted(on_hold if lifting else []):
        event = latest.get(pk)
        if event is None or event.action != CreditHoldEvent.Action.HOLD:
            continue
        if event.source != CreditHoldEvent.Source.DUNNING:
            continue
        release = customer_release(
            customer=customers[pk],
            actor=None,
            reason="settled",
            source=CreditHoldEvent.Source.DUNNING,
        )
        if release is not None:
            result.holds_released.append(pk)
            case_event_create(
                customer=customers[pk],
                case=_latest_case(customer_id=pk),
                kind=CaseEvent.Kind.CREDIT_HOLD_RELEASED,
                data={"hold_event": release.pk, "reason": reason},
            )
    for pk in sorted(released):
        event = latest.get(pk)
        if (
            event is None
            or event.action != CreditHoldEvent.Action.RELEASE
            or event.source != CreditHoldEvent.Source.DUNNING
            or event.reason != "settled"
        ):
            continue
        hold = customer_hold(
            customer=customers[pk],
            actor=None,
            reason="reopened",
            source=CreditHoldEvent.Source.DUNNING,
        )
        if hold is not None:
            result.holds_restored.append(pk)
            case_event_create(
                customer=customers[pk],
                kind=CaseEvent.Kind.CREDIT_HOLD,
                data={"hold_event": hold.pk, "reason": REVERSED},
            )


def _latest_case(*, customer_id: int) -> CollectionCase | None:
    return (
        CollectionCase.objects.filter(customer_id=customer_id)
        .order_by("-status", "-opened_on", "-pk")
        .first()
    )


def _thank_after_commit(*, customer_ids: list[int], as_of: date) -> None:
    """Thank for the dunned invoices now paid, once the payment is committed (DESIGN.md)."""
    from dunning.tasks import dunning_thank_you_task

    def enqueue() -> None:
        try:
            dunning_thank_you_task.delay(customer_ids=customer_ids, as_of=as_of.isoformat())
        except Exception:
            # The payment is committed; the daily review thanks within two weeks anyway.
            logger.exception("queueing the thank-you for customers %s failed", customer_ids)

    transaction.on_commit(enqueue)
