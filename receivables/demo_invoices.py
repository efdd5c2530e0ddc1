"""Demo invoices at every age, partial payments and an overpayment left as credit.

Dates are relative to today, so the ageing always shows every bucket.
Idempotent: an invoice whose number exists, or a payment whose reference the
customer already has, is left as it is. Everything goes through the services.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.utils import timezone

from receivables.models import Customer, Invoice, Payment
from receivables.services.invoices import (
    invoice_confirm_receipt,
    invoice_issue,
    invoice_mark_delivered,
)
from receivables.services.payments import payment_record


@dataclass(frozen=True)
class DemoInvoice:
    customer: str
    suffix: str
    amount: str
    issued_days_ago: int
    terms_days: int
    delivery: str = Invoice.DeliveryMethod.COURIER
    receipt_confirmed_by: str = ""


@dataclass(frozen=True)
class DemoPayment:
    customer: str
    reference: str
    amount: str
    days_ago: int
    # Invoice suffixes paid in full in this order (the rest stays as credit);
    # empty: oldest due first.
    pays: tuple[str, ...] = ()


DEMO_INVOICES = (
    # Current, 1-30 days late, and 75 days late with a partial payment.
    DemoInvoice("C-1001", "01", "68000.00", 10, 60, receipt_confirmed_by="王丽"),
    DemoInvoice("C-1001", "02", "45200.00", 80, 60, receipt_confirmed_by="王丽"),
    DemoInvoice("C-1001", "03", "120000.00", 135, 60, receipt_confirmed_by="王丽"),
    # 15 days late; 50 days late and partly paid; current (delivered by e-mail, unconfirmed).
    DemoInvoice("C-1002", "01", "23800.50", 60, 45, receipt_confirmed_by="Grace Lin"),
    DemoInvoice("C-1002", "02", "56000.00", 95, 45, receipt_confirmed_by="Grace Lin"),
    DemoInvoice("C-1002", "03", "18000.00", 20, 45, Invoice.DeliveryMethod.EMAIL),
    # 120 days late (partly paid, oldest first); paid in full; 10 days late.
    DemoInvoice("C-1003", "01", "32000.00", 150, 30, receipt_confirmed_by="Finance dept."),
    DemoInvoice("C-1003", "02", "15000.00", 70, 30, receipt_confirmed_by="Finance dept."),
    DemoInvoice("C-1003", "03", "9000.00", 40, 30),
    # Two late invoices settled by one overpayment; one 10 days late: the manager's
    # ladder shows this customer at the first rung, the reminder.
    DemoInvoice("C-2001", "01", "26000.00", 50, 30, receipt_confirmed_by="赵敏"),
    DemoInvoice("C-2001", "02", "12000.00", 75, 30, receipt_confirmed_by="赵敏"),
    DemoInvoice("C-2001", "03", "30000.00", 40, 30, Invoice.DeliveryMethod.E_INVOICE),
    # 25 days late (no proof of delivery recorded); 15 days late: this customer
    # stands at the demand letter.
    DemoInvoice("C-2002", "01", "14500.00", 40, 15, delivery=""),
    DemoInvoice("C-2002", "02", "8800.00", 30, 15, receipt_confirmed_by="Mr Ho"),
    # The customer on credit hold: 130 days late.
    DemoInvoice("C-2004", "01", "64000.00", 160, 30, receipt_confirmed_by="Accounts"),
)

DEMO_PAYMENTS = (
    DemoPayment("C-1001", "DEMO-PAY-C-1001-1", "48000.00", 30, ("03",)),
    DemoPayment("C-1002", "DEMO-PAY-C-1002-1", "20000.00", 20, ("02",)),
    DemoPayment("C-1003", "DEMO-PAY-C-1003-1", "15000.00", 35, ("02",)),
    DemoPayment("C-1003", "DEMO-PAY-C-1003-2", "5000.00", 5),
    # 40,000.00 for 12,000.00 + 26,000.00: 2,000.00 stays as customer credit.
    DemoPayment("C-2001", "DEMO-PAY-C-2001-1", "40000.00", 8, ("02", "01")),
)


def _number(customer_code: str, suffix: str) -> str:
    return f"INV-DEMO-{customer_code}-{suffix}"


def _at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _seed_invoice(demo: DemoInvoice, customer: Customer, finance: AbstractUser, today) -> bool:
    number = _number(demo.customer, demo.suffix)
    if Invoice.objects.filter(number=number).exists():
        return False
    issued = today - timedelta(days=demo.issued_days_ago)
    invoice = invoice_issue(
        customer=customer,
        number=number,
        issue_date=issued,
        due_date=issued + timedelta(days=demo.terms_days),
        amount=Decimal(demo.amount),
        currency=customer.currency,
        actor=finance,
        # Demo history, not new exposure: like an import, no credit check.
        check_credit=False,
    )
    if demo.delivery:
        delivered = min(issued + timedelta(days=2), today)
        invoice_mark_delivered(
            invoice=invoice,
            method=demo.delivery,
            tracking_number=f"SF{invoice.pk:010d}"
            if demo.delivery == Invoice.DeliveryMethod.COURIER
            else "",
            delivered_at=_at(delivered, 10),
            actor=finance,
        )
        if demo.receipt_confirmed_by:
            invoice_confirm_receipt(
                invoice=invoice,
                confirmed_by=demo.receipt_confirmed_by,
                confirmed_at=_at(delivered, 16),
                actor=finance,
            )
    return True


def _seed_payment(demo: DemoPayment, customer: Customer, finance: AbstractUser, today) -> bool:
    if Payment.objects.filter(customer=customer, reference=demo.reference).exists():
        return False
    allocations = None
    if demo.pays:
        invoices = Invoice.objects.in_bulk(
            [_number(demo.customer, suffix) for suffix in demo.pays], field_name="number"
        )
        left = Decimal(demo.amount)
        allocations = []
        for suffix in demo.pays:
            invoice = invoices[_number(demo.customer, suffix)]
            share = min(left, invoice.outstanding)
            if share > 0:
                allocations.append((invoice, share))
                left -= share
    payment_record(
        customer=customer,
        payment_date=today - timedelta(days=demo.days_ago),
        amount=Decimal(demo.amount),
        currency=customer.currency,
        reference=demo.reference,
        actor=finance,
        allocations=allocations,
    )
    return True


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    today = timezone.localdate()
    finance = users["finance1"]
    codes = {demo.customer for demo in DEMO_INVOICES}
    customers = Customer.objects.in_bulk(list(codes), field_name="code")
    invoices = sum(
        _seed_invoice(demo, customers[demo.customer], finance, today)
        for demo in DEMO_INVOICES
        if demo.customer in customers
    )
    payments = sum(
        _seed_payment(demo, customers[demo.customer], finance, today)
        for demo in DEMO_PAYMENTS
        if demo.customer in customers
    )
    stdout.write(
        f"  {invoices} invoices and {payments} payments created ({len(DEMO_INVOICES)} and "
        f"{len(DEMO_PAYMENTS)} in the demo: every age, partial payments, an overpayment)"
    )
