import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from core.exceptions import BusinessRuleError
from receivables.models import Invoice, Payment, PaymentAllocation
from receivables.selectors.invoices import (
    customer_balance,
    customer_open_receivables,
    customer_unallocated_credit,
    payment_unallocated,
)
from receivables.services.invoices import invoice_cancel
from receivables.services.payments import payment_apply_credit, payment_record, payment_reverse
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(currency="CNY")


@pytest.fixture
def invoices(customer):
    """Three open invoices due in January, February and March (created out of order)."""
    march = InvoiceFactory(
        customer=customer, number="INV-MAR", amount=Decimal("300.00"), due_date=date(2026, 3, 31)
    )
    january = InvoiceFactory(
        customer=customer, number="INV-JAN", amount=Decimal("100.00"), due_date=date(2026, 1, 31)
    )
    february = InvoiceFactory(
        customer=customer, number="INV-FEB", amount=Decimal("200.00"), due_date=date(2026, 2, 28)
    )
    return january, february, march


def _pay(customer, amount, *, reference="R1", allocations=None, actor=None, currency=None):
    return payment_record(
        customer=customer,
        payment_date=date(2026, 3, 1),
        amount=Decimal(amount),
        currency=currency or customer.currency,
        reference=reference,
        actor=actor,
        allocations=allocations,
    )


def _outstanding(*invoices):
    return [Invoice.objects.get(pk=invoice.pk).outstanding for invoice in invoices]


def test_automatic_allocation_pays_the_oldest_due_first(customer, invoices):
    january, february, march = invoices
    finance = FinanceUserFactory()

    payment = _pay(customer, "250.00", actor=finance)

    assert _outstanding(january, february, march) == [
        Decimal("0.00"),
        Decimal("50.00"),
        Decimal("300.00"),
    ]
    assert Invoice.objects.get(pk=january.pk).status == Invoice.Status.PAID
    assert Invoice.objects.get(pk=february.pk).status == Invoice.Status.OPEN
    assert payment.recorded_by == finance
    assert payment_unallocated(payment=payment) == Decimal("0.00")
    assert customer_open_receivables(customer=customer) == Decimal("350.00")


def test_overpayment_stays_as_customer_credit(customer, invoices):
    payment = _pay(customer, "650.00")

    assert _outstanding(*invoices) == [Decimal("0.00")] * 3
    assert payment_unallocated(payment=payment) == Decimal("50.00")
    assert customer_unallocated_credit(customer=customer) == Decimal("50.00")
    balance = customer_balance(customer=customer)
    assert balance.open_receivables == Decimal("0.00")
    assert balance.net_balance == Decimal("-50.00")


def test_explicit_allocation_pays_the_chosen_invoices_and_keeps_the_rest_as_credit(
    customer, invoices
):
    january, february, march = invoices

    payment = _pay(
        customer, "500.00", allocations=[(march, Decimal("300.00")), (february, Decimal("50"))]
    )

    assert _outstanding(january, february, march) == [
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("0.00"),
    ]
    assert payment_unallocated(payment=payment) == Decimal("150.00")


def test_credit_is_applied_later_oldest_first(customer, invoices):
    january, february, march = invoices
    payment = _pay(customer, "500.00", allocations=[])
    assert customer_unallocated_credit(customer=customer) == Decimal("500.00")

    created = payment_apply_credit(payment=payment, actor=None)

    assert [allocation.invoice for allocation in created] == [january, february, march]
    assert _outstanding(january, february, march) == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("100.00"),
    ]
    assert customer_unallocated_credit(customer=customer) == Decimal("0.00")
    with pytest.raises(BusinessRuleError, match="no credit is left"):
        payment_apply_credit(payment=payment, actor=None)


def test_credit_is_applied_later_to_a_chosen_invoice(customer, invoices):
    _january, _february, march = invoices
    payment = _pay(customer, "120.00", allocations=[])

    payment_apply_credit(payment=payment, actor=None, allocations=[(march, Decimal("120.00"))])

    assert _outstanding(march) == [Decimal("180.00")]
    with pytest.raises(BusinessRuleError, match="no credit is left"):
        payment_apply_credit(payment=payment, actor=None, allocations=[(march, Decimal("1"))])


def test_applying_credit_beyond_what_is_left_is_refused(customer, invoices):
    january, _february, march = invoices
    payment = _pay(customer, "120.00", allocations=[(january, Decimal("100.00"))])

    with pytest.raises(BusinessRuleError, match=r"more than the 20\.00 available"):
        payment_apply_credit(payment=payment, actor=None, allocations=[(march, Decimal("20.01"))])

    assert _outstanding(march) == [Decimal("300.00")]


def test_applying_credit_with_no_open_invoice_is_refused(customer):
    payment = _pay(customer, "50.00")

    with pytest.raises(BusinessRuleError, match="no open invoice"):
        payment_apply_credit(payment=payment, actor=None)


def test_reversal_restores_the_outstanding_amounts(customer, invoices):
    january, february, march = invoices
    finance = FinanceUserFactory()
    payment = _pay(customer, "650.00")

    payment_reverse(payment=payment, reason="Transfer bounced", actor=finance)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    assert payment.reversal_reason == "Transfer bounced"
    assert payment.reversed_at is not None
    assert payment.history.first().history_user == finance
    assert _outstanding(january, february, march) == [
        Decimal("100.00"),
        Decimal("200.00"),
        Decimal("300.00"),
    ]
    assert all(
        invoice.status == Invoice.Status.OPEN
        for invoice in Invoice.objects.filter(customer=customer)
    )
    assert customer_unallocated_credit(customer=customer) == Decimal("0.00")
    with pytest.raises(BusinessRuleError, match="already reversed"):
        payment_reverse(payment=payment, reason="again", actor=finance)
    with pytest.raises(BusinessRuleError, match="reversed"):
        payment_apply_credit(payment=payment, actor=None)


def test_reversal_needs_a_reason(customer, invoices):
    payment = _pay(customer, "100.00")

    with pytest.raises(BusinessRuleError, match="reason"):
        payment_reverse(payment=payment, reason=" ", actor=None)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.POSTED


def test_reversing_one_payment_keeps_the_others(customer, invoices):
    january, february, _march = invoices
    first = _pay(customer, "100.00", reference="R1")
    _pay(customer, "50.00", reference="R2")

    payment_reverse(payment=first, reason="Wrong customer", actor=None)

    # The second payment went to February (January was paid); it stays there.
    assert _outstanding(january, february) == [Decimal("100.00"), Decimal("150.00")]


def test_first_payment_makes_the_customer_no_longer_new(customer, invoices):
    assert customer.is_new

    _pay(customer, "10.00")

    customer.refresh_from_db()
    assert not customer.is_new


@pytest.mark.parametrize(
    ("amount", "message"),
    [("0", "must be positive"), ("-1.00", "must be positive"), ("1.001", "two decimals")],
)
def test_bad_amounts_are_refused(customer, invoices, amount, message):
    with pytest.raises(BusinessRuleError, match=message):
        _pay(customer, amount)

    assert not Payment.objects.exists()


def test_a_payment_in_another_currency_is_refused_and_nothing_is_written(customer, invoices):
    with pytest.raises(BusinessRuleError, match="invoiced in CNY, not USD"):
        _pay(customer, "100.00", currency="USD")
    with pytest.raises(BusinessRuleError, match="ISO 4217"):
        _pay(customer, "100.00", currency="RMB")

    assert not Payment.objects.exists()
    assert _outstanding(*invoices) == [Decimal("100.00"), Decimal("200.00"), Decimal("300.00")]


def test_an_invoice_in_another_currency_than_the_payment_is_refused(customer):
    # A customer switched currency: its old invoice stays in USD.
    old = InvoiceFactory(customer=customer, currency="USD", amount=Decimal("100.00"))

    with pytest.raises(BusinessRuleError, match="is in USD; the payment is in CNY"):
        _pay(customer, "100.00", allocations=[(old, Decimal("100.00"))])

    assert not Payment.objects.exists()


def test_an_allocation_over_the_open_amount_is_refused_and_nothing_is_written(customer, invoices):
    january, february, _march = invoices

    with pytest.raises(BusinessRuleError, match=r"100\.01 is more than the open amount 100\.00"):
        _pay(customer, "300.00", allocations=[(february, "50.00"), (january, "100.01")])

    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()
    assert _outstanding(january, february) == [Decimal("100.00"), Decimal("200.00")]


def test_the_same_invoice_twice_in_one_payment_counts_together(customer, invoices):
    january, _february, _march = invoices

    with pytest.raises(BusinessRuleError, match="more than the open amount"):
        _pay(customer, "200.00", allocations=[(january, "60.00"), (january, "60.00")])

    assert not Payment.objects.exists()


def test_allocations_over_the_payment_are_refused(customer, invoices):
    january, february, _march = invoices

    with pytest.raises(BusinessRuleError, match=r"more than the 150\.00 available"):
        _pay(customer, "150.00", allocations=[(january, "100.00"), (february, "100.00")])

    assert not Payment.objects.exists()


def test_allocating_to_another_customers_or_a_cancelled_invoice_is_refused(customer, invoices):
    stranger = InvoiceFactory(number="INV-X")
    cancelled = InvoiceFactory(customer=customer, number="INV-C")
    invoice_cancel(invoice=cancelled, reason="Duplicate", actor=None)

    with pytest.raises(BusinessRuleError, match="another customer"):
        _pay(customer, "10.00", allocations=[(stranger, "10.00")])
    with pytest.raises(BusinessRuleError, match="cancelled"):
        _pay(customer, "10.00", allocations=[(cancelled, "10.00")])

    assert not Payment.objects.exists()


def test_automatic_allocation_skips_cancelled_and_paid_invoices(customer, invoices):
    january, february, _march = invoices
    invoice_cancel(invoice=january, reason="Duplicate", actor=None)

    _pay(customer, "50.00")

    assert _outstanding(february) == [Decimal("150.00")]


def test_the_same_bank_reference_date_and_amount_is_not_recorded_twice(customer, invoices):
    _pay(customer, "100.00", reference="BANK-1")

    with pytest.raises(BusinessRuleError, match="already recorded"):
        _pay(customer, "100.00", reference="BANK-1")
    second = _pay(customer, "100.00", reference="")
    third = _pay(customer, "100.00", reference="")

    assert Payment.objects.count() == 3
    assert second.pk != third.pk


def test_a_reversed_payment_can_be_recorded_again(customer, invoices):
    payment = _pay(customer, "100.00", reference="BANK-1")
    payment_reverse(payment=payment, reason="Entered against the wrong date", actor=None)

    again = _pay(customer, "100.00", reference="BANK-1")

    assert again.status == Payment.Status.POSTED
    assert _outstanding(invoices[0]) == [Decimal("0.00")]


def test_sub_cent_sums_stay_exact(customer):
    invoice = InvoiceFactory(customer=customer, amount=Decimal("0.30"))

    _pay(customer, "0.10", reference="A")
    _pay(customer, "0.20", reference="B")

    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("0.00")
    assert invoice.status == Invoice.Status.PAID


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_never_over_allocate_an_invoice():
    # SQLite serialises writers by itself; PostgreSQL relies on the row locks.
    require_postgres("row locks are exercised on PostgreSQL")
    customer = CustomerFactory(currency="CNY")
    invoice = InvoiceFactory(customer=customer, amount=Decimal("500.00"))
    barrier = threading.Barrier(4)
    errors = []

    def pay(n: int) -> None:
        try:
            barrier.wait()
            payment_record(
                customer=customer,
                payment_date=date(2026, 3, 1),
                amount=Decimal("300.00"),
                currency="CNY",
                reference=f"T-{n}",
                actor=None,
            )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("0.00")
    assert PaymentAllocation.objects.filter(invoice=invoice).aggregate(total=Sum("amount"))[
        "total"
    ] == Decimal("500.00")
    assert customer_unallocated_credit(customer=customer) == Decimal("700.00")
