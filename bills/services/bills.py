"""Acceptance bills: receive, endorse, discount, collect, dishonour.

A received bill is a payment (method `acceptance_bill`) recorded through
`receivables.services.payments.payment_record`, so the invoices it settles stop
being dunned and aged at once and the work derived from them follows the money.
A dishonoured bill reverses that payment through `payment_reverse`, so the
invoices, tasks, case and ladder reopen as for a bounced transfer.

Every transition is one transaction. Locks follow the payment services' order:
customer, then the bill (`acceptance_bill_lock`), then the payment and its
invoices; every check runs under the locks and before the first write.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from bills.models import AcceptanceBill
from core.exceptions import BusinessRuleError
from core.money import money_str
from dunning.models import CaseEvent
from dunning.services.events import case_event_create
from receivables.models import Customer, Invoice, Payment
from receivables.services.customers import customer_lock
from receivables.services.invoices import money_date_not_in_future, money_positive
from receivables.services.payments import payment_record, payment_reverse

Allocations = Sequence[tuple[Invoice, Decimal]]


@dataclass(frozen=True)
class BillInput:
    """What is written on the bill."""

    number: str
    kind: str
    acceptor: str
    drawer: str
    issue_date: date
    maturity_date: date
    face_amount: Decimal
    currency: str


def acceptance_bill_lock(*, pk: int) -> AcceptanceBill:
    """Lock the bill row for the rest of the transaction (the one lock helper)."""
    return AcceptanceBill.objects.select_for_update().get(pk=pk)


def _text(value: str, *, field: str, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise BusinessRuleError(_("This field is required."), field=field)
    if len(text) > AcceptanceBill._meta.get_field(field).max_length:
        raise BusinessRuleError(_("This is too long."), field=field)
    return text


def _validate(*, bill: BillInput, received_on: date) -> BillInput:
    number = _text(bill.number, field="number")
    if bill.kind not in AcceptanceBill.Kind.values:
        raise BusinessRuleError(_("Choose bank or commercial."), field="kind")
    if bill.maturity_date < bill.issue_date:
        raise BusinessRuleError(
            _("The maturity date is before the issue date."), field="maturity_date"
        )
    if received_on < bill.issue_date:
        raise BusinessRuleError(
            _("The bill cannot be received before it was issued (%(day)s).")
            % {"day": bill.issue_date.isoformat()},
            field="received_on",
        )
    money_date_not_in_future(day=received_on, field="received_on")
    return BillInput(
        number=number,
        kind=bill.kind,
        acceptor=_text(bill.acceptor, field="acceptor"),
        drawer=_text(bill.drawer, field="drawer"),
        issue_date=bill.issue_date,
        maturity_date=bill.maturity_date,
        face_amount=money_positive(bill.face_amount, field="face_amount"),
        currency=(bill.currency or "").strip().upper(),
    )


def _event(
    *,
    bill: AcceptanceBill,
    kind: str,
    actor: AbstractBaseUser | None,
    day: date,
    items: list[str],
    **extra: str,
) -> CaseEvent:
    return case_event_create(
        customer=bill.customer,
        kind=kind,
        actor=actor,
        data={
            "bill": bill.number,
            "bill_id": bill.pk,
            "payment": bill.payment_id,
            "currency": bill.currency,
            "face_amount": money_str(bill.face_amount),
            "maturity_date": bill.maturity_date.isoformat(),
            "date": day.isoformat(),
            "items": items,
            **extra,
        },
    )


def _settled_numbers(bill: AcceptanceBill) -> list[str]:
    return sorted(
        set(bill.payment.allocations.values_list("invoice__number", flat=True)),
    )


@transaction.atomic
def acceptance_bill_receive(
    *,
    customer: Customer,
    bill: BillInput,
    received_on: date,
    actor: AbstractBaseUser | None,
    allocations: Allocations | None = None,
) -> AcceptanceBill:
    """Record a bill received from a customer; its face amount pays the invoices like a payment.

    Allocations are explicit (invoice, amount) pairs, or oldest due first when
    None; whatever is left stays as customer credit. A duplicate bill number, a
    maturity before issue, a date after today or another currency is refused and
    nothing is written.
    """
    data = _validate(bill=bill, received_on=received_on)
    customer_lock(pk=customer.pk)
    if AcceptanceBill.objects.filter(number=data.number).exists():
        raise BusinessRuleError(
            _("Bill %(number)s is already recorded.") % {"number": data.number}, field="number"
        )
    payment = payment_record(
        customer=customer,
        payment_date=received_on,
        amount=data.face_amount,
        currency=data.currency,
        reference=data.number,
        actor=actor,
        allocations=allocations,
        method=Payment.Method.ACCEPTANCE_BILL,
    )
    record = AcceptanceBill(
        number=data.number,
        kind=data.kind,
        acceptor=data.acceptor,
        drawer=data.drawer,
        issue_date=data.issue_date,
        maturity_date=data.maturity_date,
        face_amount=data.face_amount,
        currency=payment.currency,
        customer=payment.customer,
        received_on=received_on,
        payment=payment,
        received_by=actor,
    )
    record._history_user = actor
    record._change_reason = "received"
    try:
        # Two finance users typing the same number for two customers at once.
        with transaction.atomic():
            record.save()
    except IntegrityError:
        raise BusinessRuleError(
            _("Bill %(number)s is already recorded.") % {"number": data.number}, field="number"
        ) from None
    _event(
        bill=record,
        kind=CaseEvent.Kind.BILL_RECEIVED,
        actor=actor,
        day=received_on,
        items=_settled_numbers(record),
    )
    return record


def _lock_for_transition(
    *, bill: AcceptanceBill, day: date, allowed: Sequence[str], field: str
) -> AcceptanceBill:
    customer_lock(pk=bill.customer_id)
    locked = acceptance_bill_lock(pk=bill.pk)
    if locked.status not in allowed:
        raise BusinessRuleError(
            _("Bill %(number)s is %(status)s; this cannot be done to it any more.")
            % {"number": locked.number, "status": locked.get_status_display()}
        )
    money_date_not_in_future(day=day, field=field)
    if day < locked.received_on:
        raise BusinessRuleError(
            _("The date is before the bill was received (%(day)s).")
            % {"day": locked.received_on.isoformat()},
            field=field,
        )
    return locked


def _save(
    bill: AcceptanceBill, *, actor: AbstractBaseUser | None, reason: str, fields: list[str]
) -> None:
    bill._history_user = actor
    bill._change_reason = reason
    bill.save(update_fields=["status", "settled_on", *fields])


@transaction.atomic
def acceptance_bill_endorse(
    *, bill: AcceptanceBill, endorsee: str, endorsed_on: date, actor: AbstractBaseUser | None
) -> AcceptanceBill:
    """Endorse a held bill onward (to a supplier): it leaves our hands, its invoices stay paid."""
    endorsee = _text(endorsee, field="endorsee")
    bill = _lock_for_transition(
        bill=bill, day=endorsed_on, allowed=[AcceptanceBill.Status.HELD], field="endorsed_on"
    )
    if endorsed_on > bill.maturity_date:
        raise BusinessRuleError(
            _("A bill past its maturity date is collected, not endorsed."), field="endorsed_on"
        )
    bill.status = AcceptanceBill.Status.ENDORSED
    bill.settled_on = endorsed_on
    bill.endorsee = endorsee
    _save(bill, actor=actor, reason="endorsed", fields=["endorsee"])
    _event(
        bill=bill,
        kind=CaseEvent.Kind.BILL_ENDORSED,
        actor=actor,
        day=endorsed_on,
        items=[],
        endorsee=endorsee,
    )
    return bill


@transaction.atomic
def acceptance_bill_discount(
    *,
    bill: AcceptanceBill,
    discounted_on: date,
    discount_amount: Decimal,
    actor: AbstractBaseUser | None,
) -> AcceptanceBill:
    """Discount a held bill at a bank: cash received is the face less the discount, kept exactly;
    the discount is a financing expense and the invoices stay paid at face."""
    discount = money_positive(discount_amount, field="discount_amount")
    bill = _lock_for_transition(
        bill=bill,
        day=discounted_on,
        allowed=[AcceptanceBill.Status.HELD],
        field="discounted_on",
    )
    if discounted_on >= bill.maturity_date:
        raise BusinessRuleError(
            _("A bill at or past its maturity date is collected, not discounted."),
            field="discounted_on",
        )
    if discount >= bill.face_amount:
        raise BusinessRuleError(
            _("The discount %(discount)s must be less than the face amount %(face)s.")
            % {"discount": money_str(discount), "face": money_str(bill.face_amount)},
            field="discount_amount",
        )
    bill.status = AcceptanceBill.Status.DISCOUNTED
    bill.settled_on = discounted_on
    bill.discount_amount = discount
    _save(bill, actor=actor, reason="discounted", fields=["discount_amount"])
    _event(
        bill=bill,
        kind=CaseEvent.Kind.BILL_DISCOUNTED,
        actor=actor,
        day=discounted_on,
        items=[],
        discount_amount=money_str(discount),
        cash_received=money_str(bill.cash_received),
    )
    return bill


@transaction.atomic
def acceptance_bill_collect(
    *, bill: AcceptanceBill, collected_on: date, actor: AbstractBaseUser | None
) -> AcceptanceBill:
    """Record a held bill paid at maturity: the face amount is now cash."""
    bill = _lock_for_transition(
        bill=bill, day=collected_on, allowed=[AcceptanceBill.Status.HELD], field="collected_on"
    )
    if collected_on < bill.maturity_date:
        raise BusinessRuleError(
            _("The bill matures on %(day)s; before that it is discounted, not collected.")
            % {"day": bill.maturity_date.isoformat()},
            field="collected_on",
        )
    bill.status = AcceptanceBill.Status.COLLECTED
    bill.settled_on = collected_on
    _save(bill, actor=actor, reason="collected", fields=[])
    _event(
        bill=bill,
        kind=CaseEvent.Kind.BILL_COLLECTED,
        actor=actor,
        day=collected_on,
        items=[],
    )
    return bill


@transaction.atomic
def acceptance_bill_dishonour(
    *,
    bill: AcceptanceBill,
    dishonoured_on: date,
    reason: str,
    actor: AbstractBaseUser | None,
) -> AcceptanceBill:
    """Record a bill refused by its acceptor: its payment is reversed, so its invoices reopen
    and the ladder resumes. An endorsed or discounted bill that comes back with recourse
    is dishonoured the same way."""
    reason = _text(reason, field="dishonour_reason")
    bill = _lock_for_transition(
        bill=bill,
        day=dishonoured_on,
        allowed=[
            AcceptanceBill.Status.HELD,
            AcceptanceBill.Status.ENDORSED,
            AcceptanceBill.Status.DISCOUNTED,
        ],
        field="dishonoured_on",
    )
    items = _settled_numbers(bill)
    payment_reverse(
        payment=bill.payment,
        # The payment keeps the words finance typed, in no UI language.
        reason=f"bill {bill.number}: {reason}",
        actor=actor,
        bill_dishonoured=True,
    )
    bill.status = AcceptanceBill.Status.DISHONOURED
    bill.settled_on = dishonoured_on
    bill.dishonour_reason = reason
    _save(bill, actor=actor, reason="dishonoured", fields=["dishonour_reason"])
    _event(
        bill=bill,
        kind=CaseEvent.Kind.BILL_DISHONOURED,
        actor=actor,
        day=dishonoured_on,
        items=items,
        reason=reason,
    )
    return bill
