"""Invoices, payments and credit notes; services keep the balances, so use them for state."""

from datetime import date, timedelta
from decimal import Decimal

import factory

from receivables.models import CreditNote, Invoice, Payment, PaymentAllocation
from receivables.services.payments import payments_refresh_allocated
from tests.factories.customers import CustomerFactory


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An open invoice with nothing paid; pay it through the payment services."""

    class Meta:
        model = Invoice

    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    issue_date = date(2026, 1, 1)
    due_date = factory.LazyAttribute(lambda invoice: invoice.issue_date + timedelta(days=30))
    amount = Decimal("1000.00")
    outstanding = factory.LazyAttribute(lambda invoice: invoice.amount)
    currency = factory.LazyAttribute(lambda invoice: invoice.customer.currency)
    status = Invoice.Status.OPEN


class PaymentFactory(factory.django.DjangoModelFactory):
    """A posted payment with no allocation (all of it is credit)."""

    class Meta:
        model = Payment

    customer = factory.SubFactory(CustomerFactory)
    payment_date = date(2026, 2, 1)
    amount = Decimal("500.00")
    currency = factory.LazyAttribute(lambda payment: payment.customer.currency)
    reference = factory.Sequence(lambda n: f"BANK-{n:06d}")
    status = Payment.Status.POSTED


class PaymentAllocationFactory(factory.django.DjangoModelFactory):
    """A bare allocation row; it does not touch the invoice's outstanding, but keeps the
    payment's stored allocated amount (as every service that allocates does)."""

    class Meta:
        model = PaymentAllocation
        skip_postgeneration_save = True

    payment = factory.SubFactory(PaymentFactory)
    invoice = factory.SubFactory(
        InvoiceFactory, customer=factory.SelfAttribute("..payment.customer")
    )
    amount = Decimal("100.00")

    @factory.post_generation
    def payment_allocated(allocation, create, extracted, **kwargs):
        if create:
            payments_refresh_allocated(payment_ids=[allocation.payment_id])


class CreditNoteFactory(factory.django.DjangoModelFactory):
    """A bare credit note row; use credit_note_issue to lower the invoice's outstanding."""

    class Meta:
        model = CreditNote

    number = factory.Sequence(lambda n: f"CN-{n:06d}")
    invoice = factory.SubFactory(InvoiceFactory)
    issue_date = factory.LazyAttribute(lambda note: note.invoice.issue_date)
    amount = Decimal("100.00")
    reason = "Price correction"
