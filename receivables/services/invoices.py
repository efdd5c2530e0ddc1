"""Invoices: issue, deliver, confirm receipt, cancel, credit.

Lock order, shared with the payment services so that concurrent writers never
deadlock: the customer row first, then payments, then invoices in pk order.
`Invoice.outstanding` and `Invoice.status` change only here and in
`receivables.services.payments`, always under those locks, and every change
is announced (`receivables.services.balance_changes`) in the same transaction.
"""

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import BusinessRuleError
from core.money import money_display, money_parse, money_quantize
from receivables.currencies import is_iso_4217
from receivables.models import CreditNote, Customer, Invoice, Payment, PaymentAllocation
from receivables.services.balance_changes import BalanceCause, invoices_balance_changed
from receivables.services.credit import credit_check
from receivables.services.customers import customer_lock

MAX_AMOUNT = Decimal("999999999999.99")
# Couriers and registered post give a tracking number: the demand letter cites it.
TRACKED_METHODS = frozenset({Invoice.DeliveryMethod.COURIER, Invoice.DeliveryMethod.POST})


def money_positive(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """Return the amount as a Decimal with two places; refuse floats, zero, negatives, cents."""
    if isinstance(value, float):
        raise TypeError("money must not be built from float")
    try:
        amount = value if isinstance(value, Decimal) else money_parse(str(value))
    except (InvalidOperation, ValueError):
        raise BusinessRuleError(
            _("%(value)s is not an amount.") % {"value": value}, field=field
        ) from None
    if not amount.is_finite():
        raise BusinessRuleError(_("%(value)s is not an amount.") % {"value": value}, field=field)
    if amount <= 0:
        raise BusinessRuleError(
            _("The amount must be positive (got %(amount)s).") % {"amount": amount}, field=field
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise BusinessRuleError(
            _("An amount has at most two decimals (got %(amount)s).") % {"amount": amount},
            field=field,
        )
    if amount > MAX_AMOUNT:
        raise BusinessRuleError(
            _("The amount %(amount)s is too large.") % {"amount": amount}, field=field
        )
    return money_quantize(amount)


def currency_validate(*, currency: str, customer: Customer, field: str = "currency") -> str:
    """Return the currency if it is ISO 4217 and the customer's own, else refuse."""
    code = (currency or "").strip()
    if not is_iso_4217(code):
        raise BusinessRuleError(
            _("%(currency)s is not an ISO 4217 currency code (e.g. CNY, USD).")
            % {"currency": code or "''"},
            field=field,
        )
    if code != customer.currency:
        raise BusinessRuleError(
            _("Customer %(customer)s is invoiced in %(expected)s, not %(currency)s.")
            % {"customer": customer.code, "expected": customer.currency, "currency": code},
            field=field,
        )
    return code


def invoices_lock(
    *, invoice_ids: Iterable[int], open_of_customers: Iterable[int] = ()
) -> dict[int, Invoice]:
    """Lock the invoices, and the open invoices of these customers, in pk order (one
    statement); return them by pk."""
    ids = sorted(set(invoice_ids))
    customer_ids = sorted(set(open_of_customers))
    if not ids and not customer_ids:
        return {}
    wanted = Q(pk__in=ids) if ids else Q()
    if customer_ids:
        open_ones = Q(customer_id__in=customer_ids, status=Invoice.Status.OPEN)
        wanted = (wanted | open_ones) if ids else open_ones
    locked = Invoice.objects.select_for_update().filter(wanted).order_by("pk")
    return {invoice.pk: invoice for invoice in locked}


def invoices_refresh_outstanding(
    *,
    invoices: Iterable[Invoice],
    actor: AbstractBaseUser | None,
    cause: str,
    reason: str = "",
    steps: Mapping[int, Sequence[tuple[int, str, Decimal]]] | None = None,
) -> None:
    """Recompute outstanding and status of locked invoices from allocations and credit notes.

    Outstanding = amount - allocations of posted payments - credit notes; it is
    recomputed rather than adjusted so that it cannot drift from the rows. The
    changed invoices are written with one statement per shared value, with their
    history rows, and announced once, with the cause, so that the work derived from
    them follows in this transaction. `steps` (an invoice's pk: the number, reason and
    amount of each payment of a batch that lowered it, in order) writes one history row
    per step, in the order a refresh after every payment would have.
    """
    by_pk = {invoice.pk: invoice for invoice in invoices}
    if not by_pk:
        return
    allocated = dict(
        PaymentAllocation.objects.filter(
            invoice_id__in=by_pk, payment__status=Payment.Status.POSTED
        )
        .order_by()
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    credited = dict(
        CreditNote.objects.filter(invoice_id__in=by_pk)
        .order_by()
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    changed: list[Invoice] = []
    history: list[tuple[int, int, Invoice]] = []
    for pk, invoice in sorted(by_pk.items()):
        outstanding = money_quantize(
            invoice.amount
            - money_quantize(allocated.get(pk) or 0)
            - money_quantize(credited.get(pk) or 0)
        )
        if outstanding < 0:
            # Services validate before writing; reaching this is a bug, and
            # the transaction must not commit a negative balance.
            raise BusinessRuleError(
                _("Invoice %(number)s would be settled beyond its amount.")
                % {"number": invoice.number}
            )
        if invoice.status == Invoice.Status.CANCELLED:
            continue
        status = _status_of(outstanding)
        if outstanding == invoice.outstanding and status == invoice.status:
            continue
        invoice.outstanding = outstanding
        invoice.status = status
        invoice._history_user = actor
        if reason:
            invoice._change_reason = reason[:100]
        changed.append(invoice)
        history.extend(_history_steps(invoice, (steps or {}).get(pk)))
    if changed:
        _invoices_write_balances(changed)
        history.sort(key=lambda entry: entry[:2])
        Invoice.history.bulk_history_create(
            [row for _step, _pk, row in history], update=True, batch_size=500
        )
    invoices_balance_changed(
        invoice_ids=[invoice.pk for invoice in changed], cause=cause, actor=actor
    )


def _invoices_write_balances(invoices: list[Invoice]) -> None:
    """Write outstanding and status: one UPDATE for each value shared by several invoices
    (the paid ones share 0.00), one CASE for the rest (Django's CASE grows with the rows)."""
    groups: dict[tuple[Decimal, str], list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        groups[(invoice.outstanding, invoice.status)].append(invoice)
    single = []
    for (outstanding, status), members in groups.items():
        if len(members) > 1:
            Invoice.objects.filter(pk__in=[invoice.pk for invoice in members]).update(
                outstanding=outstanding, status=status
            )
        else:
            single.extend(members)
    if single:
        Invoice.objects.bulk_update(single, ["outstanding", "status"], batch_size=100)


def _status_of(outstanding: Decimal) -> str:
    return Invoice.Status.OPEN if outstanding > 0 else Invoice.Status.PAID


def _history_steps(
    invoice: Invoice, steps: Sequence[tuple[int, str, Decimal]] | None
) -> list[tuple[int, int, Invoice]]:
    """The invoice as it stood after each step (the last one is the invoice as it is now),
    each with its step number and pk."""
    if not steps:
        return [(0, invoice.pk, invoice)]
    rows = []
    later = Decimal("0.00")
    for step, reason, amount in reversed(steps):
        row = copy.copy(invoice)
        row.outstanding = money_quantize(invoice.outstanding + later)
        row.status = _status_of(row.outstanding)
        row._change_reason = reason[:100]
        rows.append((step, invoice.pk, row))
        later += amount
    rows.reverse()
    return rows


@transaction.atomic
def invoice_issue(
    *,
    customer: Customer,
    number: str,
    issue_date: date,
    due_date: date,
    amount: Decimal,
    currency: str,
    actor: AbstractBaseUser | None,
    check_credit: bool = True,
    credit_override_reason: str = "",
    contract_number: str = "",
) -> Invoice:
    """Issue an invoice: positive amount, due on or after issue, the customer's currency,
    a number used nowhere else, and within the customer's credit unless overridden."""
    number = (number or "").strip()
    if not number:
        raise BusinessRuleError(_("Give the invoice a number."), field="number")
    if len(number) > Invoice._meta.get_field("number").max_length:
        raise BusinessRuleError(_("The invoice number is too long."), field="number")
    amount = money_positive(amount)
    if due_date < issue_date:
        raise BusinessRuleError(
            _("The due date %(due)s is before the issue date %(issue)s.")
            % {"due": due_date.isoformat(), "issue": issue_date.isoformat()},
            field="due_date",
        )
    customer = customer_lock(pk=customer.pk)
    currency = currency_validate(currency=currency, customer=customer)
    existing = Invoice.objects.filter(number=number).select_related("customer").first()
    if existing is not None:
        raise BusinessRuleError(
            _("Invoice number %(number)s is already used (customer %(customer)s).")
            % {"number": number, "customer": existing.customer.code},
            field="number",
        )
    if check_credit:
        credit_check(
            customer=customer,
            amount=amount,
            actor=actor,
            override_reason=credit_override_reason,
            reference=number,
        )
    invoice = Invoice(
        customer=customer,
        number=number,
        issue_date=issue_date,
        due_date=due_date,
        amount=amount,
        outstanding=amount,
        currency=currency,
        status=Invoice.Status.OPEN,
        contract_number=(contract_number or "").strip(),
        created_by=actor,
    )
    invoice._history_user = actor
    try:
        with transaction.atomic():
            invoice.save()
    except IntegrityError:
        # Another request took the number between the check and the insert.
        raise BusinessRuleError(
            _("Invoice number %(number)s is already used.") % {"number": number},
            field="number",
        ) from None
    return invoice


def _not_in_future(moment: datetime, *, field: str) -> None:
    if moment > timezone.now():
        raise BusinessRuleError(_("That moment is in the future."), field=field)


def money_date_not_in_future(*, day: date, field: str) -> None:
    """Refuse money dated after today's business date.

    The stored `outstanding` is today's open amount; a payment or credit note
    dated tomorrow would lower it today while the as-of-today figure still
    counted it open, and the two must always agree. Record it on its day.
    """
    today = timezone.localdate()
    if day > today:
        raise BusinessRuleError(
            _("%(day)s is after today (%(today)s); record it on the day it happens.")
            % {"day": day.isoformat(), "today": today.isoformat()},
            field=field,
        )


def _not_before_issue(invoice: Invoice, moment: datetime, *, field: str) -> None:
    if timezone.localdate(moment) < invoice.issue_date:
        raise BusinessRuleError(
            _("That is before the invoice was issued (%(issue)s).")
            % {"issue": invoice.issue_date.isoformat()},
            field=field,
        )


def _invoice_lock_one(invoice: Invoice) -> Invoice:
    return invoices_lock(invoice_ids=[invoice.pk])[invoice.pk]


@transaction.atomic
def invoice_mark_delivered(
    *,
    invoice: Invoice,
    method: str,
    tracking_number: str,
    delivered_at: datetime,
    actor: AbstractBaseUser | None,
) -> Invoice:
    """Record how and when the invoice reached the customer (the proof of delivery)."""
    invoice = _invoice_lock_one(invoice)
    if invoice.status == Invoice.Status.CANCELLED:
        raise BusinessRuleError(_("The invoice is cancelled."))
    if method not in Invoice.DeliveryMethod.values:
        raise BusinessRuleError(_("Choose a delivery method."), field="method")
    tracking_number = (tracking_number or "").strip()
    if method in TRACKED_METHODS and not tracking_number:
        raise BusinessRuleError(
            _("A courier or registered-post delivery needs its tracking number."),
            field="tracking_number",
        )
    if timezone.is_naive(delivered_at):
        delivered_at = timezone.make_aware(delivered_at)
    _not_in_future(delivered_at, field="delivered_at")
    _not_before_issue(invoice, delivered_at, field="delivered_at")
    if invoice.receipt_confirmed_at is not None and delivered_at > invoice.receipt_confirmed_at:
        raise BusinessRuleError(
            _("The delivery cannot come after the confirmed receipt."), field="delivered_at"
        )
    invoice.delivery_method = method
    invoice.tracking_number = tracking_number
    invoice.delivered_at = delivered_at
    invoice._history_user = actor
    invoice._change_reason = "delivered"
    invoice.save(update_fields=["delivery_method", "tracking_number", "delivered_at"])
    return invoice


@transaction.atomic
def invoice_confirm_receipt(
    *,
    invoice: Invoice,
    confirmed_by: str,
    confirmed_at: datetime,
    actor: AbstractBaseUser | None,
) -> Invoice:
    """Record who at the customer confirmed receiving the invoice, and when."""
    invoice = _invoice_lock_one(invoice)
    if invoice.status == Invoice.Status.CANCELLED:
        raise BusinessRuleError(_("The invoice is cancelled."))
    if invoice.delivered_at is None:
        raise BusinessRuleError(_("Record the delivery before the confirmation of receipt."))
    confirmed_by = (confirmed_by or "").strip()
    if not confirmed_by:
        raise BusinessRuleError(
            _("Name the person at the customer who confirmed receipt."), field="confirmed_by"
        )
    if len(confirmed_by) > Invoice._meta.get_field("receipt_confirmed_by").max_length:
        raise BusinessRuleError(_("The name is too long."), field="confirmed_by")
    if timezone.is_naive(confirmed_at):
        confirmed_at = timezone.make_aware(confirmed_at)
    _not_in_future(confirmed_at, field="confirmed_at")
    if confirmed_at < invoice.delivered_at:
        raise BusinessRuleError(
            _("Receipt cannot be confirmed before the delivery."), field="confirmed_at"
        )
    invoice.receipt_confirmed_by = confirmed_by
    invoice.receipt_confirmed_at = confirmed_at
    invoice._history_user = actor
    invoice._change_reason = "receipt confirmed"
    invoice.save(update_fields=["receipt_confirmed_by", "receipt_confirmed_at"])
    return invoice


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, reason: str, actor: AbstractBaseUser | None) -> Invoice:
    """Cancel an invoice nobody has paid or credited; the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(_("Give a reason for the cancellation."), field="reason")
    # The customer first (the lock order): the work that follows locks it too.
    customer_lock(pk=invoice.customer_id)
    invoice = _invoice_lock_one(invoice)
    if invoice.status == Invoice.Status.CANCELLED:
        raise BusinessRuleError(_("The invoice is already cancelled."))
    if invoice.allocations.filter(payment__status=Payment.Status.POSTED).exists():
        raise BusinessRuleError(
            _("Invoice %(number)s has payments allocated: reverse them before cancelling.")
            % {"number": invoice.number}
        )
    if invoice.credit_notes.exists():
        raise BusinessRuleError(
            _("Invoice %(number)s has credit notes and cannot be cancelled.")
            % {"number": invoice.number}
        )
    invoice.status = Invoice.Status.CANCELLED
    invoice.outstanding = Decimal("0.00")
    invoice.cancelled_at = timezone.now()
    invoice.cancellation_reason = reason[:200]
    invoice._history_user = actor
    invoice._change_reason = "cancelled"
    invoice.save(update_fields=["status", "outstanding", "cancelled_at", "cancellation_reason"])
    invoices_balance_changed(invoice_ids=[invoice.pk], cause=BalanceCause.CANCELLATION, actor=actor)
    return invoice


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    number: str,
    amount: Decimal,
    issue_date: date,
    reason: str,
    actor: AbstractBaseUser | None,
) -> CreditNote:
    """Credit part or all of an invoice's open amount (a valid dispute, a correction)."""
    number = (number or "").strip()
    if not number:
        raise BusinessRuleError(_("Give the credit note a number."), field="number")
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(_("Give a reason for the credit note."), field="reason")
    amount = money_positive(amount)
    # The customer first (the lock order): the work that follows locks it too.
    customer_lock(pk=invoice.customer_id)
    invoice = _invoice_lock_one(invoice)
    if invoice.status == Invoice.Status.CANCELLED:
        raise BusinessRuleError(_("The invoice is cancelled."))
    money_date_not_in_future(day=issue_date, field="issue_date")
    if issue_date < invoice.issue_date:
        raise BusinessRuleError(
            _("A credit note cannot be dated before its invoice (%(issue)s).")
            % {"issue": invoice.issue_date.isoformat()},
            field="issue_date",
        )
    if amount > invoice.outstanding:
        raise BusinessRuleError(
            _("%(amount)s is more than the open amount %(open)s of invoice %(number)s.")
            % {
                "amount": money_display(amount),
                "open": money_display(invoice.outstanding),
                "number": invoice.number,
            },
            field="amount",
        )
    if CreditNote.objects.filter(number=number).exists():
        raise BusinessRuleError(
            _("Credit note number %(number)s is already used.") % {"number": number},
            field="number",
        )
    credit_note = CreditNote(
        invoice=invoice,
        number=number,
        amount=amount,
        issue_date=issue_date,
        reason=reason,
        created_by=actor,
    )
    credit_note._history_user = actor
    credit_note.save()
    invoices_refresh_outstanding(
        invoices=[invoice],
        actor=actor,
        cause=BalanceCause.CREDIT_NOTE,
        reason=f"credit note {number}",
    )
    return credit_note
