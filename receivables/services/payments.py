"""Payments: record, allocate (explicitly or oldest due first), apply credit, reverse.

Locks follow the order of `receivables.services.invoices`: customer, payment,
invoices in pk order. Every check runs under those locks and before the first
write, so a refused payment leaves nothing behind. `payments_record_many`
records a batch (a bank statement's automatic applications) in a constant
number of statements; `payment_record` is its one-payment case.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.exceptions import BusinessRuleError
from core.money import money_display, money_quantize
from receivables.models import Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.invoices import payment_unallocated
from receivables.services.balance_changes import BalanceCause
from receivables.services.customers import customer_lock, customers_lock
from receivables.services.invoices import (
    currency_validate,
    invoices_lock,
    invoices_refresh_outstanding,
    money_date_not_in_future,
    money_positive,
)

Allocations = Sequence[tuple[Invoice, Decimal]]
# Rows a statement writes at once: the chunk `payments_record_many` is called with.
BATCH = 500
Plan = list[tuple[Invoice, Decimal]]


@dataclass(frozen=True)
class PaymentRequest:
    """One payment for `payments_record_many`: what `payment_record` takes."""

    customer_id: int
    payment_date: date
    amount: Decimal
    currency: str
    reference: str
    allocations: Allocations | None = None
    method: str = Payment.Method.TRANSFER


class PaymentsRefused(BusinessRuleError):
    """Some payments of a batch were refused, so none of the batch was written.

    `refusals` maps the position of each refused request to its refusal; the
    message and field are the first one's.
    """

    def __init__(self, refusals: dict[int, BusinessRuleError]) -> None:
        first = refusals[min(refusals)]
        super().__init__(first.message, field=first.field)
        self.refusals = refusals


def _plan_explicit(
    *,
    payment: Payment,
    allocations: Allocations,
    available: Decimal,
    locked: dict[int, Invoice],
    open_now: dict[int, Decimal],
) -> Plan:
    """Validate explicit allocations against the locked invoices and what they still owe
    (`open_now`: their open amounts after the earlier payments of the batch); return
    (invoice, amount) pairs. Nothing is changed: a refusal raises."""
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for invoice, amount in allocations:
        wanted[invoice.pk] += money_positive(amount)
    plan = []
    for pk, amount in sorted(wanted.items()):
        invoice = locked.get(pk)
        if invoice is None:
            raise BusinessRuleError(_("An invoice to allocate to no longer exists."))
        if invoice.customer_id != payment.customer_id:
            raise BusinessRuleError(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number}
            )
        if invoice.currency != payment.currency:
            raise BusinessRuleError(
                _("Invoice %(number)s is in %(invoice_currency)s; the payment is in %(currency)s.")
                % {
                    "number": invoice.number,
                    "invoice_currency": invoice.currency,
                    "currency": payment.currency,
                }
            )
        if invoice.status == Invoice.Status.CANCELLED:
            raise BusinessRuleError(
                _("Invoice %(number)s is cancelled.") % {"number": invoice.number}
            )
        if amount > open_now[pk]:
            raise BusinessRuleError(
                _("%(amount)s is more than the open amount %(open)s of invoice %(number)s.")
                % {
                    "amount": money_display(amount),
                    "open": money_display(open_now[pk]),
                    "number": invoice.number,
                }
            )
        plan.append((invoice, amount))
    total = sum((amount for _invoice, amount in plan), Decimal("0.00"))
    if total > available:
        raise BusinessRuleError(
            _("The allocations add up to %(total)s, more than the %(available)s available.")
            % {"total": total, "available": available}
        )
    return plan


def _plan_oldest_first(
    *,
    payment: Payment,
    available: Decimal,
    locked: dict[int, Invoice],
    open_now: dict[int, Decimal],
) -> Plan:
    """Spread the available amount over the customer's open invoices, oldest due first."""
    ordered = sorted(
        (
            invoice
            for invoice in locked.values()
            if invoice.customer_id == payment.customer_id
            and invoice.currency == payment.currency
            and invoice.status == Invoice.Status.OPEN
        ),
        key=lambda invoice: (invoice.due_date, invoice.issue_date, invoice.pk),
    )
    plan = []
    remaining = available
    for invoice in ordered:
        if remaining <= 0:
            break
        amount = min(remaining, open_now[invoice.pk])
        if amount > 0:
            plan.append((invoice, amount))
            remaining -= amount
    return plan


def _allocations_write(
    *, plans: Sequence[tuple[Payment, Plan]], actor: AbstractBaseUser | None
) -> list[PaymentAllocation]:
    """Write the allocations of saved payments (one insert and its history), then refresh
    the invoices set-based, with one history row per payment that moved each invoice (as
    if refreshed after every payment) and one announcement of the balances changed."""
    created = []
    steps: dict[int, list[tuple[int, str, Decimal]]] = defaultdict(list)
    invoices: dict[int, Invoice] = {}
    for step, (payment, plan) in enumerate(plans):
        for invoice, amount in plan:
            allocation = PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
            allocation._history_user = actor
            created.append(allocation)
            steps[invoice.pk].append((step, f"payment {payment.pk}", amount))
            invoices[invoice.pk] = invoice
    if not created:
        return []
    created = bulk_create_with_history(created, PaymentAllocation, batch_size=BATCH)
    payments_refresh_allocated(payment_ids={payment.pk for payment, plan in plans if plan})
    # The objects the caller holds say what the UPDATE stored.
    for payment, plan in plans:
        payment.allocated_amount = money_quantize(
            payment.allocated_amount + sum((amount for _invoice, amount in plan), Decimal(0))
        )
    invoices_refresh_outstanding(
        invoices=invoices.values(), actor=actor, cause=BalanceCause.PAYMENT, steps=steps
    )
    return created


def payments_refresh_allocated(*, payment_ids: Iterable[int]) -> None:
    """Store on each payment the sum of its allocations (one UPDATE whatever their number);
    every service that writes allocations calls it in the same transaction."""
    ids = list(payment_ids)
    if not ids:
        return
    totals = (
        PaymentAllocation.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    # Rounded to the cent in SQL: SQLite sums decimals as floats (0.1 + 0.2).
    Payment.objects.filter(pk__in=ids).update(
        allocated_amount=Round(Coalesce(Subquery(totals), Value(Decimal("0.00"))), precision=2)
    )


def _payment_event(
    event_type: str, payment: Payment, plan: list[tuple[Invoice, Decimal]] | None
) -> DomainEvent:
    params = {
        "payment_id": payment.pk,
        "customer_code": payment.customer.code,
        "payment_date": payment.payment_date.isoformat(),
        "amount": str(money_quantize(payment.amount)),
        "currency": payment.currency,
        "reference": payment.reference,
    }
    if plan is not None:
        params["allocations"] = [
            {"invoice": invoice.number, "amount": str(money_quantize(amount))}
            for invoice, amount in plan
        ]
    else:
        params["reason"] = payment.reversal_reason
    return DomainEvent(type=event_type, params=params, customer_id=payment.customer_id)


def _request_checked(request: PaymentRequest) -> PaymentRequest:
    """The checks that need no row: the amount, the date, the reference's length."""
    amount = money_positive(request.amount)
    money_date_not_in_future(day=request.payment_date, field="payment_date")
    reference = (request.reference or "").strip()
    if len(reference) > Payment._meta.get_field("reference").max_length:
        raise BusinessRuleError(_("The reference is too long."), field="reference")
    return replace(request, amount=amount, reference=reference)


def _duplicate_refusal(*, customer: Customer, request: PaymentRequest) -> BusinessRuleError:
    return BusinessRuleError(
        _(
            "A payment of %(amount)s on %(date)s with reference %(reference)s is already "
            "recorded for %(customer)s."
        )
        % {
            "amount": money_display(request.amount),
            "date": request.payment_date.isoformat(),
            "reference": request.reference,
            "customer": customer.code,
        },
        field="reference",
    )


@transaction.atomic
def payments_record_many(
    *, requests: Sequence[PaymentRequest], actor: AbstractBaseUser | None
) -> list[Payment]:
    """Record many payments and their allocations in a constant number of statements.

    The same locks as `payment_record` (the customers in pk order, then their invoices
    in pk order), the same checks in the same order, each request seeing the payments
    before it in the batch (the open amounts they left, the references they used). If any
    request is refused, nothing is written and `PaymentsRefused` says which and why.
    The payments are returned in the order of the requests.
    """
    if not requests:
        return []
    refusals: dict[int, BusinessRuleError] = {}
    checked: dict[int, PaymentRequest] = {}
    for index, request in enumerate(requests):
        try:
            checked[index] = _request_checked(request)
        except BusinessRuleError as refusal:
            refusals[index] = refusal
    customers = customers_lock(pks={request.customer_id for request in checked.values()})
    missing = {request.customer_id for request in checked.values()} - set(customers)
    if missing:
        raise Customer.DoesNotExist(f"customers {sorted(missing)} do not exist")
    explicit_ids = {
        invoice.pk
        for request in checked.values()
        if request.allocations is not None
        for invoice, _amount in request.allocations
    }
    oldest_of = {request.customer_id for request in checked.values() if request.allocations is None}
    locked = invoices_lock(invoice_ids=explicit_ids, open_of_customers=oldest_of)
    open_now = {pk: invoice.outstanding for pk, invoice in locked.items()}
    references = {request.reference for request in checked.values() if request.reference}
    recorded: set[tuple] = set()
    if references:
        recorded = set(
            Payment.objects.filter(
                customer_id__in=customers,
                reference__in=references,
                status=Payment.Status.POSTED,
            ).values_list("customer_id", "reference", "payment_date", "amount")
        )
    plans: list[tuple[Payment, Plan]] = []
    for index, request in checked.items():
        customer = customers[request.customer_id]
        key = (customer.pk, request.reference, request.payment_date, request.amount)
        try:
            currency = currency_validate(currency=request.currency, customer=customer)
            if request.reference and key in recorded:
                raise _duplicate_refusal(customer=customer, request=request)
            payment = Payment(
                customer=customer,
                payment_date=request.payment_date,
                amount=request.amount,
                currency=currency,
                reference=request.reference,
                method=Payment.Method(request.method),
                status=Payment.Status.POSTED,
                recorded_by=actor,
            )
            if request.allocations is None:
                plan = _plan_oldest_first(
                    payment=payment, available=request.amount, locked=locked, open_now=open_now
                )
            else:
                plan = _plan_explicit(
                    payment=payment,
                    allocations=request.allocations,
                    available=request.amount,
                    locked=locked,
                    open_now=open_now,
                )
        except BusinessRuleError as refusal:
            refusals[index] = refusal
            continue
        if request.reference:
            recorded.add(key)
        for invoice, amount in plan:
            open_now[invoice.pk] -= amount
        payment._history_user = actor
        plans.append((payment, plan))
    if refusals:
        raise PaymentsRefused(refusals)
    payments = bulk_create_with_history(
        [payment for payment, _plan in plans], Payment, batch_size=BATCH
    )
    for payment, (unsaved, _plan) in zip(payments, plans, strict=True):
        unsaved.pk = payment.pk
    _allocations_write(plans=plans, actor=actor)
    domain_events_announce(
        events=[
            _payment_event(EventType.PAYMENT_RECORDED, payment, plan) for payment, plan in plans
        ]
    )
    first_paid = []
    now = timezone.now()
    for customer in customers.values():
        if customer.is_new:
            customer.is_new = False
            customer.updated_at = now
            customer._history_user = actor
            customer._change_reason = "first payment"
            first_paid.append(customer)
    if first_paid:
        bulk_update_with_history(first_paid, Customer, ["is_new", "updated_at"], batch_size=BATCH)
    return [payment for payment, _plan in plans]


@transaction.atomic
def payment_record(
    *,
    customer: Customer,
    payment_date: date,
    amount: Decimal,
    currency: str,
    reference: str,
    actor: AbstractBaseUser | None,
    allocations: Allocations | None = None,
    method: str = Payment.Method.TRANSFER,
) -> Payment:
    """Record a payment and allocate it, explicitly or oldest due first; the rest is credit.

    A payment dated after today, a currency other than the customer's, an
    allocation to another customer's or a cancelled invoice, or one over an
    invoice's open amount is refused and nothing is written. The one-payment
    case of `payments_record_many`.
    """
    request = PaymentRequest(
        customer_id=customer.pk,
        payment_date=payment_date,
        amount=amount,
        currency=currency,
        reference=reference,
        allocations=allocations,
        method=method,
    )
    return payment_record_request(request=request, actor=actor)


def payment_record_request(*, request: PaymentRequest, actor: AbstractBaseUser | None) -> Payment:
    """Record one request: `payments_record_many` of one, a refusal raised as its own
    `BusinessRuleError`."""
    try:
        (payment,) = payments_record_many(requests=[request], actor=actor)
    except PaymentsRefused as refused:
        raise refused.refusals[0] from None
    return payment


@transaction.atomic
def payment_apply_credit(
    *,
    payment: Payment,
    actor: AbstractBaseUser | None,
    allocations: Allocations | None = None,
) -> list[PaymentAllocation]:
    """Apply a payment's unallocated credit to open invoices, explicitly or oldest due first."""
    customer_lock(pk=payment.customer_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.POSTED:
        raise BusinessRuleError(_("The payment is reversed; it has no credit to apply."))
    available = payment_unallocated(payment=payment)
    if available <= 0:
        raise BusinessRuleError(_("The payment is fully allocated; no credit is left."))
    if allocations is None:
        locked = invoices_lock(invoice_ids=(), open_of_customers=[payment.customer_id])
        open_now = {pk: invoice.outstanding for pk, invoice in locked.items()}
        plan = _plan_oldest_first(
            payment=payment, available=available, locked=locked, open_now=open_now
        )
        if not plan:
            raise BusinessRuleError(
                _("Customer %(customer)s has no open invoice in %(currency)s to apply it to.")
                % {"customer": payment.customer.code, "currency": payment.currency}
            )
    else:
        if not allocations:
            raise BusinessRuleError(_("Choose at least one invoice and amount."))
        locked = invoices_lock(invoice_ids=[invoice.pk for invoice, _amount in allocations])
        open_now = {pk: invoice.outstanding for pk, invoice in locked.items()}
        plan = _plan_explicit(
            payment=payment,
            allocations=allocations,
            available=available,
            locked=locked,
            open_now=open_now,
        )
    return _allocations_write(plans=[(payment, plan)], actor=actor)


@transaction.atomic
def payment_reverse(
    *,
    payment: Payment,
    reason: str,
    actor: AbstractBaseUser | None,
    bill_dishonoured: bool = False,
) -> Payment:
    """Reverse a posted payment (a bounced transfer, a wrong entry); its invoices reopen.

    An acceptance bill's payment is reversed only when the bill is dishonoured
    (`bills.services.bills.acceptance_bill_dishonour` says so), so that the
    bill and its payment never disagree.
    """
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(_("Give a reason for the reversal."), field="reason")
    customer_lock(pk=payment.customer_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.POSTED:
        raise BusinessRuleError(_("The payment is already reversed."))
    if payment.method == Payment.Method.ACCEPTANCE_BILL and not bill_dishonoured:
        raise BusinessRuleError(
            _("This payment is an acceptance bill: record the bill as dishonoured instead.")
        )
    payment.status = Payment.Status.REVERSED
    payment.reversed_at = timezone.now()
    payment.reversal_reason = reason[: Payment._meta.get_field("reversal_reason").max_length]
    payment._history_user = actor
    payment._change_reason = "reversed"
    payment.save(update_fields=["status", "reversed_at", "reversal_reason"])
    locked = invoices_lock(
        invoice_ids=payment.allocations.values_list("invoice_id", flat=True).distinct()
    )
    invoices_refresh_outstanding(
        invoices=locked.values(),
        actor=actor,
        cause=BalanceCause.PAYMENT_REVERSED,
        reason=f"payment {payment.pk} reversed",
    )
    domain_events_announce(events=[_payment_event(EventType.PAYMENT_REVERSED, payment, None)])
    return payment
