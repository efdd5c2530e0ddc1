"""Payments: record, allocate (explicitly or oldest due first), apply credit, reverse.

Locks follow the order of `receivables.services.invoices`: customer, payment,
invoices in pk order. Every check runs under those locks and before the first
write, so a refused payment leaves nothing behind.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.exceptions import BusinessRuleError
from core.money import money_display, money_quantize
from receivables.models import Customer, Invoice, Payment, PaymentAllocation
from receivables.services.balance_changes import BalanceCause
from receivables.services.customers import customer_lock
from receivables.services.invoices import (
    currency_validate,
    invoices_lock,
    invoices_refresh_outstanding,
    money_date_not_in_future,
    money_positive,
)

Allocations = Sequence[tuple[Invoice, Decimal]]


def _payment_allocated(payment: Payment) -> Decimal:
    total = payment.allocations.aggregate(total=Sum("amount"))["total"]
    return money_quantize(total or 0)


def _plan_explicit(
    *, payment: Payment, allocations: Allocations, available: Decimal
) -> list[tuple[Invoice, Decimal]]:
    """Validate explicit allocations under lock; return (locked invoice, amount) pairs."""
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for invoice, amount in allocations:
        wanted[invoice.pk] += money_positive(amount)
    locked = invoices_lock(invoice_ids=wanted)
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
        if amount > invoice.outstanding:
            raise BusinessRuleError(
                _("%(amount)s is more than the open amount %(open)s of invoice %(number)s.")
                % {
                    "amount": money_display(amount),
                    "open": money_display(invoice.outstanding),
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


def _plan_oldest_first(*, payment: Payment, available: Decimal) -> list[tuple[Invoice, Decimal]]:
    """Spread the available amount over the customer's open invoices, oldest due first."""
    candidate_ids = Invoice.objects.filter(
        customer_id=payment.customer_id,
        currency=payment.currency,
        status=Invoice.Status.OPEN,
    ).values_list("pk", flat=True)
    locked = invoices_lock(invoice_ids=candidate_ids)
    ordered = sorted(
        (invoice for invoice in locked.values() if invoice.status == Invoice.Status.OPEN),
        key=lambda invoice: (invoice.due_date, invoice.issue_date, invoice.pk),
    )
    plan = []
    remaining = available
    for invoice in ordered:
        if remaining <= 0:
            break
        amount = min(remaining, invoice.outstanding)
        if amount > 0:
            plan.append((invoice, amount))
            remaining -= amount
    return plan


def _allocate(
    *, payment: Payment, plan: list[tuple[Invoice, Decimal]], actor: AbstractBaseUser | None
) -> list[PaymentAllocation]:
    created = []
    for invoice, amount in plan:
        allocation = PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
        allocation._history_user = actor
        allocation.save()
        created.append(allocation)
    invoices_refresh_outstanding(
        invoices=[invoice for invoice, _amount in plan],
        actor=actor,
        cause=BalanceCause.PAYMENT,
        reason=f"payment {payment.pk}",
    )
    return created


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
    invoice's open amount is refused and nothing is written.
    """
    amount = money_positive(amount)
    money_date_not_in_future(day=payment_date, field="payment_date")
    reference = (reference or "").strip()
    if len(reference) > Payment._meta.get_field("reference").max_length:
        raise BusinessRuleError(_("The reference is too long."), field="reference")
    customer = customer_lock(pk=customer.pk)
    currency = currency_validate(currency=currency, customer=customer)
    if (
        reference
        and Payment.objects.filter(
            customer=customer,
            reference=reference,
            payment_date=payment_date,
            amount=amount,
            status=Payment.Status.POSTED,
        ).exists()
    ):
        raise BusinessRuleError(
            _(
                "A payment of %(amount)s on %(date)s with reference %(reference)s is already "
                "recorded for %(customer)s."
            )
            % {
                "amount": money_display(amount),
                "date": payment_date.isoformat(),
                "reference": reference,
                "customer": customer.code,
            },
            field="reference",
        )
    payment = Payment(
        customer=customer,
        payment_date=payment_date,
        amount=amount,
        currency=currency,
        reference=reference,
        method=Payment.Method(method),
        status=Payment.Status.POSTED,
        recorded_by=actor,
    )
    if allocations is None:
        plan = _plan_oldest_first(payment=payment, available=amount)
    else:
        plan = _plan_explicit(payment=payment, allocations=allocations, available=amount)
    payment._history_user = actor
    payment.save()
    _allocate(payment=payment, plan=plan, actor=actor)
    domain_events_announce(events=[_payment_event(EventType.PAYMENT_RECORDED, payment, plan)])
    if customer.is_new:
        customer.is_new = False
        customer._history_user = actor
        customer._change_reason = "first payment"
        customer.save(update_fields=["is_new", "updated_at"])
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
    available = money_quantize(payment.amount - _payment_allocated(payment))
    if available <= 0:
        raise BusinessRuleError(_("The payment is fully allocated; no credit is left."))
    if allocations is None:
        plan = _plan_oldest_first(payment=payment, available=available)
        if not plan:
            raise BusinessRuleError(
                _("Customer %(customer)s has no open invoice in %(currency)s to apply it to.")
                % {"customer": payment.customer.code, "currency": payment.currency}
            )
    else:
        if not allocations:
            raise BusinessRuleError(_("Choose at least one invoice and amount."))
        plan = _plan_explicit(payment=payment, allocations=allocations, available=available)
    return _allocate(payment=payment, plan=plan, actor=actor)


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
