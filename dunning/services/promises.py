"""Promises to pay: an amount by a date pauses the ladder for its invoices until date + grace.

The daily run leaves the promised invoices alone while the promise is open
and its date plus the policy's grace days (default 3) has not passed.
`promise_review` decides every open promise: kept once the customer's
payments since the promise cover its amount by the date plus grace, broken
when that day passes without them (the ladder resumes and the owner gets a
task to call). It decides a chunk of customers at a time, set-based: a fixed
number of statements per chunk, whatever the number of promises.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from core.money import money_display, money_quantize
from dunning.models import CaseEvent, CollectionCase, CollectionTask, PromiseToPay
from dunning.policy import policy_promise_grace_days
from dunning.services.cases import (
    case_open_get,
    cases_latest_get,
    clean_note,
    ensure_may_work_customer,
)
from dunning.services.events import (
    case_event_create,
    case_events_create_many,
    task_created_data,
)
from receivables.models import Customer, Invoice, Payment
from receivables.selectors.balances import invoices_open_amounts_on
from receivables.services.customers import customer_lock, customers_lock
from receivables.services.invoices import invoices_lock, money_positive

logger = logging.getLogger(__name__)

# A later date is no promise but a new schedule: a supplementary agreement.
PROMISE_MAX_DAYS = 60


@transaction.atomic
def promise_to_pay_record(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    amount: Decimal | str,
    promised_date: date,
    note: str = "",
    actor: AbstractBaseUser | None,
    as_of: date,
) -> PromiseToPay:
    """Record the customer's promise to pay an amount by a date for some of its open invoices.

    `actor` None is the customer itself, through its portal link (the caller
    checked the link); a user must be allowed to work the customer.
    """
    if actor is not None:
        ensure_may_work_customer(actor=actor, customer=customer)
    amount = money_positive(amount)
    note = clean_note(note, field="note", required=False)
    if promised_date < as_of:
        raise BusinessRuleError(
            _("The promised date %(date)s is in the past.") % {"date": promised_date.isoformat()},
            field="promised_date",
        )
    if promised_date > as_of + timedelta(days=PROMISE_MAX_DAYS):
        raise BusinessRuleError(
            _(
                "A promise more than %(days)s days out is a new schedule: propose an "
                "instalment plan or extension instead."
            )
            % {"days": PROMISE_MAX_DAYS},
            field="promised_date",
        )
    if not invoices:
        raise BusinessRuleError(_("Choose the invoices the promise covers."), field="invoices")
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise BusinessRuleError(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number},
                field="invoices",
            )
    customer = customer_lock(pk=customer.pk)
    locked = invoices_lock(invoice_ids=[invoice.pk for invoice in invoices])
    currencies = {invoice.currency for invoice in locked.values()}
    if len(currencies) > 1:
        raise BusinessRuleError(_("A promise covers invoices in one currency."), field="invoices")
    for invoice in locked.values():
        if invoice.status != Invoice.Status.OPEN:
            raise BusinessRuleError(
                _("Invoice %(number)s is not open.") % {"number": invoice.number},
                field="invoices",
            )
    taken = (
        PromiseToPay.invoices.through.objects.filter(
            invoice_id__in=list(locked), promisetopay__status=PromiseToPay.Status.OPEN
        )
        .select_related("invoice")
        .first()
    )
    if taken is not None:
        raise BusinessRuleError(
            _("Invoice %(number)s already has an open promise to pay.")
            % {"number": taken.invoice.number},
            field="invoices",
        )
    owed = money_quantize(sum((invoice.outstanding for invoice in locked.values()), Decimal(0)))
    if amount > owed:
        raise BusinessRuleError(
            _("%(amount)s is more than the %(owed)s still open on these invoices.")
            % {"amount": money_display(amount), "owed": money_display(owed)},
            field="amount",
        )
    case = case_open_get(customer=customer)
    promise = PromiseToPay.objects.create(
        customer=customer,
        case=case,
        amount=amount,
        currency=currencies.pop(),
        promised_date=promised_date,
        note=note,
        recorded_by=actor,
    )
    promise.invoices.set(list(locked.values()))
    numbers = sorted(invoice.number for invoice in locked.values())
    case_event_create(
        customer=customer,
        case=case,
        kind=CaseEvent.Kind.PROMISE_MADE,
        actor=actor,
        data={
            "promise": promise.pk,
            "currency": promise.currency,
            "amount": str(amount),
            "promised_date": promised_date.isoformat(),
            "invoices": numbers,
            TYPED_KEY: note,
        },
    )
    return promise


def promise_made_on(promise: PromiseToPay) -> date:
    """The business day the promise was recorded."""
    return timezone.localdate(promise.created_at)


@dataclass
class PromiseReview:
    kept: list[int] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)
    open: list[int] = field(default_factory=list)


# Customers whose open promises one transaction decides.
REVIEW_CHUNK = 500
# Posted payments per (customer, currency): (payment date, amount).
_Payments = dict[tuple[int, str], list[tuple[date, Decimal]]]


def promise_review(*, as_of: date) -> PromiseReview:
    """Mark open promises kept (covered by date + grace) or broken (that day passed unpaid).

    A chunk of customers at a time, each chunk one transaction under its customers' locks
    (the lock order of the money services), so a rerun, or two workers, decide each promise
    once; a chunk reads and writes with a fixed number of statements.
    """
    grace = policy_promise_grace_days()
    customer_ids = list(
        PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()
    )
    review = PromiseReview()
    for start in range(0, len(customer_ids), REVIEW_CHUNK):
        _promises_decide(
            customer_ids=customer_ids[start : start + REVIEW_CHUNK],
            as_of=as_of,
            grace_days=grace,
            review=review,
        )
    for decided in (review.kept, review.broken, review.open):
        decided.sort()
    return review


@transaction.atomic
def _promises_decide(
    *, customer_ids: list[int], as_of: date, grace_days: int, review: PromiseReview
) -> None:
    """Decide the open promises of these customers (see `promise_review`)."""
    customers_lock(pks=customer_ids)
    promises = list(
        PromiseToPay.objects.select_for_update(of=("self",))
        .filter(status=PromiseToPay.Status.OPEN, customer_id__in=customer_ids)
        .select_related("customer")
        .order_by("pk")
    )
    if not promises:
        return
    outcome = _promises_outcome(promises=promises, as_of=as_of, grace_days=grace_days)
    _promises_close_kept(promises=outcome.kept, as_of=as_of, paid=outcome.paid)
    _promises_close_broken(promises=outcome.broken, as_of=as_of, paid=outcome.paid)
    review.kept.extend(promise.pk for promise in outcome.kept)
    review.broken.extend(promise.pk for promise in outcome.broken)
    review.open.extend(promise.pk for promise in promises if promise.pk not in outcome.paid)


@dataclass
class _Outcome:
    kept: list[PromiseToPay]
    broken: list[PromiseToPay]
    paid: dict[int, Decimal]  # each decided promise: what was paid since it, through as_of


def _promises_outcome(
    *, promises: Sequence[PromiseToPay], as_of: date, grace_days: int
) -> _Outcome:
    """Which promises the date decides: kept when covered by their date plus grace (or as_of
    if earlier), broken once that day has passed without it. One read of the payments."""
    payments = _payments_since(promises=promises, through=as_of)
    until = {
        promise.pk: min(as_of, promise.promised_date + timedelta(days=grace_days))
        for promise in promises
    }
    settled = _promises_settled(promises=promises, until=until, payments=payments)
    kept = [promise for promise in promises if promise.pk in settled]
    broken = [
        promise for promise in promises if promise.pk not in settled and as_of > until[promise.pk]
    ]
    decided = [*kept, *broken]
    paid = _promises_paid(
        promises=decided, payments=payments, until=dict.fromkeys((p.pk for p in decided), as_of)
    )
    return _Outcome(kept=kept, broken=broken, paid=paid)


def promises_keep_settled(*, invoice_ids: Sequence[int], as_of: date) -> list[int]:
    """Mark kept, now, the open promises on these invoices that the money settled.

    Call inside the transaction that moved the money, under the customer lock;
    the daily review decides the rest (a promise is only ever broken by the date).
    The same decision as the daily review's (`_promises_settled`), for all the promises
    at once.
    """
    grace = policy_promise_grace_days()
    # A subquery rather than DISTINCT over the join: PostgreSQL locks no DISTINCT rows.
    covering = PromiseToPay.invoices.through.objects.filter(
        invoice_id__in=list(invoice_ids)
    ).values("promisetopay_id")
    promises = list(
        PromiseToPay.objects.select_for_update(of=("self",))
        .filter(status=PromiseToPay.Status.OPEN, pk__in=covering)
        .select_related("customer", "case")
        .order_by("pk")
    )
    if not promises:
        return []
    # Only kept here: a promise is broken by the daily review, never by money.
    outcome = _promises_outcome(promises=promises, as_of=as_of, grace_days=grace)
    _promises_close_kept(promises=outcome.kept, as_of=as_of, paid=outcome.paid)
    return [promise.pk for promise in outcome.kept]


def _promises_settled(
    *, promises: Sequence[PromiseToPay], until: dict[int, date], payments: _Payments
) -> set[int]:
    """The promises kept by `until` (per promise): payments since each covers it, or
    nothing is left on its invoices. A read of the invoices and two per distinct day,
    however many promises."""
    paid = _promises_paid(promises=promises, payments=payments, until=until)
    unsettled = [promise for promise in promises if paid[promise.pk] < promise.amount]
    invoices_of: dict[int, list[Invoice]] = defaultdict(list)
    for link in PromiseToPay.invoices.through.objects.filter(
        promisetopay_id__in=[promise.pk for promise in unsettled]
    ).select_related("invoice"):
        invoices_of[link.promisetopay_id].append(link.invoice)
    still_open: set[int] = set()
    for day in sorted({until[promise.pk] for promise in unsettled}):
        on_day = [promise for promise in unsettled if until[promise.pk] == day]
        amounts = invoices_open_amounts_on(
            invoices=[invoice for promise in on_day for invoice in invoices_of[promise.pk]],
            as_of=day,
        )
        still_open |= {
            promise.pk
            for promise in on_day
            if any(amounts[invoice.pk] != 0 for invoice in invoices_of[promise.pk])
        }
    return {promise.pk for promise in promises if promise.pk not in still_open}


def _payments_since(*, promises: Sequence[PromiseToPay], through: date) -> _Payments:
    """The posted payments of the promises' customers from the first promise's day through
    the date (one query), per customer and currency."""
    payments: _Payments = defaultdict(list)
    if not promises:
        return payments
    for customer_id, currency, day, amount in Payment.objects.filter(
        customer_id__in={promise.customer_id for promise in promises},
        status=Payment.Status.POSTED,
        payment_date__gte=min(promise_made_on(promise) for promise in promises),
        payment_date__lte=through,
    ).values_list("customer_id", "currency", "payment_date", "amount"):
        payments[(customer_id, currency)].append((day, amount))
    return payments


def _promises_paid(
    *, promises: Sequence[PromiseToPay], payments: _Payments, until: dict[int, date]
) -> dict[int, Decimal]:
    """Per promise, what its customer paid in its currency from the day it was made through
    `until` (of `payments`, read through at least that day)."""
    return {
        promise.pk: money_quantize(
            sum(
                (
                    amount
                    for day, amount in payments[(promise.customer_id, promise.currency)]
                    if promise_made_on(promise) <= day <= until[promise.pk]
                ),
                Decimal("0.00"),
            )
        )
        for promise in promises
    }


def _promises_close_kept(
    *, promises: Sequence[PromiseToPay], as_of: date, paid: dict[int, Decimal]
) -> None:
    """Close these promises as kept: one update, the timeline rows."""
    if not promises:
        return
    cases = _promises_resolve(promises=promises, status=PromiseToPay.Status.KEPT)
    events = []
    for promise in promises:
        events.append(
            CaseEvent(
                customer=promise.customer,
                case=cases.get(promise.customer_id),
                kind=CaseEvent.Kind.PROMISE_KEPT,
                data=_promise_values(promise=promise, paid=paid[promise.pk]),
            )
        )
    case_events_create_many(events=events)


def _promises_resolve(
    *, promises: Sequence[PromiseToPay], status: str
) -> dict[int, CollectionCase]:
    """Set the promises' outcome (one update, and on the objects held); return each customer's
    case for the timeline (its open one, else the one closed last)."""
    now = timezone.now()
    PromiseToPay.objects.filter(pk__in=[promise.pk for promise in promises]).update(
        status=status, resolved_at=now
    )
    for promise in promises:
        promise.status, promise.resolved_at = status, now
    return cases_latest_get(customer_ids={promise.customer_id for promise in promises})


def _promise_values(*, promise: PromiseToPay, paid: Decimal) -> dict[str, object]:
    """What the timeline and the call task say of a decided promise."""
    return {
        "promise": promise.pk,
        "currency": promise.currency,
        "amount": str(promise.amount),
        "date": promise.promised_date.isoformat(),
        "paid": str(paid),
    }


def _promises_close_broken(
    *, promises: Sequence[PromiseToPay], as_of: date, paid: dict[int, Decimal]
) -> None:
    """Close these promises as broken: one update, a call task for each case's owner (else the
    customer's rep), the timeline rows and `promise.broken` for those listening."""
    if not promises:
        return
    cases = _promises_resolve(promises=promises, status=PromiseToPay.Status.BROKEN)
    tasks = []
    for promise in promises:
        customer, case = promise.customer, cases.get(promise.customer_id)
        tasks.append(
            CollectionTask(
                kind=CollectionTask.Kind.PROMISE_DUE,
                customer=customer,
                case=case if case and case.status == case.Status.OPEN else None,
                assignee_id=(case.owner_id if case else None) or customer.sales_rep_id,
                params={
                    "what": "promise_broken",
                    "details": "promise_broken",
                    "customer": customer.name,
                    **_promise_values(promise=promise, paid=paid[promise.pk]),
                },
                due_date=as_of,
            )
        )
    CollectionTask.objects.bulk_create(tasks)
    events = []
    for promise, task in zip(promises, tasks, strict=True):
        case = cases.get(promise.customer_id)
        events += [
            CaseEvent(
                customer=promise.customer,
                case=case,
                kind=CaseEvent.Kind.PROMISE_BROKEN,
                data=_promise_values(promise=promise, paid=paid[promise.pk]),
            ),
            CaseEvent(
                customer=promise.customer,
                case=case,
                kind=CaseEvent.Kind.TASK_CREATED,
                data=task_created_data(task),
            ),
        ]
        logger.info("promise %s broken on %s", promise.pk, as_of)
    case_events_create_many(events=events)
    domain_events_announce(
        events=[
            DomainEvent(
                type=EventType.PROMISE_BROKEN,
                params={
                    "promise_id": promise.pk,
                    "customer_code": promise.customer.code,
                    "amount": str(money_quantize(promise.amount)),
                    "currency": promise.currency,
                    "promised_date": promise.promised_date.isoformat(),
                    "paid": str(money_quantize(paid[promise.pk])),
                    "as_of": as_of.isoformat(),
                },
                customer_id=promise.customer_id,
            )
            for promise in promises
        ]
    )
