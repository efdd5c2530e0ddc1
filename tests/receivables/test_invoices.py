from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.exceptions import BusinessRuleError
from receivables.models import CreditOverride, Invoice
from receivables.selectors.balances import is_overdue
from receivables.selectors.invoices import customer_open_receivables
from receivables.services.invoices import (
    credit_note_issue,
    invoice_cancel,
    invoice_confirm_receipt,
    invoice_issue,
    invoice_mark_delivered,
)
from receivables.services.payments import payment_record
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))


def _issue(customer, **overrides) -> Invoice:
    arguments = {
        "customer": customer,
        "number": "INV-1",
        "issue_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "amount": Decimal("1000.00"),
        "currency": customer.currency,
        "actor": None,
        "check_credit": False,
    } | overrides
    return invoice_issue(**arguments)


def test_issue_creates_an_open_invoice_with_its_full_amount_outstanding():
    customer = CustomerFactory(currency="CNY")
    finance = FinanceUserFactory()

    invoice = _issue(customer, actor=finance, amount="1234.50", contract_number=" HT-7 ")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.amount == Decimal("1234.50")
    assert invoice.outstanding == Decimal("1234.50")
    assert invoice.contract_number == "HT-7"
    assert invoice.created_by == finance
    assert invoice.history.first().history_user == finance
    assert customer_open_receivables(customer=customer) == Decimal("1234.50")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": Decimal("0")}, "must be positive"),
        ({"amount": Decimal("-5.00")}, "must be positive"),
        ({"amount": Decimal("10.005")}, "at most two decimals"),
        ({"amount": "abc"}, "is not an amount"),
        ({"due_date": date(2026, 2, 28)}, "before the issue date"),
        ({"currency": "XYZ"}, "not an ISO 4217"),
        ({"currency": "cny"}, "not an ISO 4217"),
        ({"currency": "USD"}, "invoiced in CNY, not USD"),
        ({"number": "  "}, "number"),
    ],
)
def test_issue_refuses_bad_input_and_writes_nothing(overrides, message):
    customer = CustomerFactory(currency="CNY")

    with pytest.raises(BusinessRuleError, match=message):
        _issue(customer, **overrides)

    assert not Invoice.objects.exists()


def test_issue_refuses_floats():
    customer = CustomerFactory()

    with pytest.raises(TypeError):
        _issue(customer, amount=10.5)


def test_issue_refuses_a_number_already_used_naming_its_customer():
    first = CustomerFactory(code="C-1")
    InvoiceFactory(number="INV-9", customer=first)
    other = CustomerFactory()

    with pytest.raises(BusinessRuleError, match="INV-9 is already used \\(customer C-1\\)"):
        _issue(other, number="INV-9")

    assert Invoice.objects.count() == 1


def test_issue_checks_credit_and_refuses_above_the_limit():
    customer = CustomerFactory(credit_limit=Decimal("1500.00"))
    _issue(customer, number="INV-1", check_credit=True)

    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        _issue(customer, number="INV-2", check_credit=True)

    assert list(Invoice.objects.values_list("number", flat=True)) == ["INV-1"]


def test_finance_overrides_the_credit_check_with_a_reason_that_is_logged():
    customer = CustomerFactory(credit_limit=Decimal("500.00"))
    finance = FinanceUserFactory()

    invoice = _issue(
        customer, actor=finance, check_credit=True, credit_override_reason="Board approved"
    )

    override = CreditOverride.objects.get()
    assert override.reason == "Board approved"
    assert override.reference == invoice.number


def test_milestone_invoices_skip_the_credit_check():
    customer = CustomerFactory(credit_limit=Decimal("0.00"))

    invoice = _issue(customer, check_credit=False)

    assert invoice.pk is not None


@time_machine.travel(NOW, tick=False)
def test_delivery_and_receipt_are_recorded_as_proof():
    invoice = InvoiceFactory(issue_date=date(2026, 3, 1))
    finance = FinanceUserFactory()
    delivered = NOW - timedelta(days=5)

    invoice_mark_delivered(
        invoice=invoice,
        method=Invoice.DeliveryMethod.COURIER,
        tracking_number="SF123456",
        delivered_at=delivered,
        actor=finance,
    )
    invoice_confirm_receipt(
        invoice=invoice, confirmed_by="Ms Zhou (AP)", confirmed_at=NOW, actor=finance
    )

    invoice.refresh_from_db()
    assert invoice.has_proof_of_delivery
    assert invoice.has_confirmation_of_receipt
    assert invoice.tracking_number == "SF123456"
    assert invoice.delivered_at == delivered
    assert invoice.receipt_confirmed_by == "Ms Zhou (AP)"
    assert invoice.history.first().history_user == finance


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("method", "tracking", "delivered_at", "message"),
    [
        ("courier", "", NOW - timedelta(days=1), "tracking number"),
        ("pigeon", "", NOW - timedelta(days=1), "delivery method"),
        ("email", "", NOW + timedelta(hours=1), "future"),
        ("email", "", datetime(2026, 2, 1, 9, tzinfo=NOW.tzinfo), "before the invoice was issued"),
    ],
)
def test_delivery_refuses_bad_input(method, tracking, delivered_at, message):
    invoice = InvoiceFactory(issue_date=date(2026, 3, 1))

    with pytest.raises(BusinessRuleError, match=message):
        invoice_mark_delivered(
            invoice=invoice,
            method=method,
            tracking_number=tracking,
            delivered_at=delivered_at,
            actor=None,
        )

    invoice.refresh_from_db()
    assert invoice.delivered_at is None


@time_machine.travel(NOW, tick=False)
def test_receipt_needs_a_delivery_first_and_cannot_precede_it():
    invoice = InvoiceFactory(issue_date=date(2026, 3, 1))
    with pytest.raises(BusinessRuleError, match="Record the delivery"):
        invoice_confirm_receipt(invoice=invoice, confirmed_by="X", confirmed_at=NOW, actor=None)
    invoice_mark_delivered(
        invoice=invoice, method="email", tracking_number="", delivered_at=NOW, actor=None
    )

    with pytest.raises(BusinessRuleError, match="before the delivery"):
        invoice_confirm_receipt(
            invoice=invoice, confirmed_by="X", confirmed_at=NOW - timedelta(days=1), actor=None
        )
    with pytest.raises(BusinessRuleError, match="Name the person"):
        invoice_confirm_receipt(invoice=invoice, confirmed_by=" ", confirmed_at=NOW, actor=None)

    invoice.refresh_from_db()
    assert invoice.receipt_confirmed_at is None


def test_credit_note_lowers_the_outstanding_and_settles_the_invoice_when_it_covers_it():
    invoice = InvoiceFactory(amount=Decimal("1000.00"), issue_date=date(2026, 1, 1))

    credit_note_issue(
        invoice=invoice,
        number="CN-1",
        amount=Decimal("400.00"),
        issue_date=date(2026, 1, 10),
        reason="Damaged goods",
        actor=None,
    )
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("600.00")
    assert invoice.status == Invoice.Status.OPEN

    credit_note_issue(
        invoice=invoice,
        number="CN-2",
        amount=Decimal("600.00"),
        issue_date=date(2026, 1, 11),
        reason="Rest waived",
        actor=None,
    )
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("0.00")
    assert invoice.status == Invoice.Status.PAID


def test_credit_note_cannot_exceed_the_open_amount_or_reuse_a_number():
    invoice = InvoiceFactory(amount=Decimal("1000.00"))
    payment_record(
        customer=invoice.customer,
        payment_date=date(2026, 2, 1),
        amount=Decimal("700.00"),
        currency=invoice.currency,
        reference="R1",
        actor=None,
    )
    arguments = {
        "invoice": invoice,
        "number": "CN-1",
        "issue_date": date(2026, 2, 2),
        "reason": "Price",
        "actor": None,
    }

    with pytest.raises(BusinessRuleError, match=r"more than the open amount 300\.00"):
        credit_note_issue(amount=Decimal("300.01"), **arguments)
    credit_note_issue(amount=Decimal("100.00"), **arguments)
    with pytest.raises(BusinessRuleError, match="already used"):
        credit_note_issue(amount=Decimal("100.00"), **arguments)

    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("200.00")


def test_cancel_closes_an_unpaid_invoice_with_its_reason():
    invoice = InvoiceFactory()
    finance = FinanceUserFactory()

    invoice_cancel(invoice=invoice, reason="Issued twice", actor=finance)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED
    assert invoice.outstanding == Decimal("0.00")
    assert invoice.cancellation_reason == "Issued twice"
    assert invoice.cancelled_at is not None
    assert customer_open_receivables(customer=invoice.customer) == Decimal("0.00")
    with pytest.raises(BusinessRuleError, match="already cancelled"):
        invoice_cancel(invoice=invoice, reason="again", actor=finance)


def test_cancel_refuses_a_paid_invoice_and_needs_a_reason():
    invoice = InvoiceFactory()
    with pytest.raises(BusinessRuleError, match="reason"):
        invoice_cancel(invoice=invoice, reason="", actor=None)
    payment_record(
        customer=invoice.customer,
        payment_date=date(2026, 2, 1),
        amount=Decimal("10.00"),
        currency=invoice.currency,
        reference="R",
        actor=None,
    )

    with pytest.raises(BusinessRuleError, match="reverse them"):
        invoice_cancel(invoice=invoice, reason="Wrong", actor=None)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_days_past_due_and_overdue():
    invoice = InvoiceFactory(issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31))

    assert invoice.days_past_due(as_of=date(2026, 1, 31)) == 0
    assert invoice.days_past_due(as_of=date(2026, 3, 2)) == 30
    assert not is_overdue(
        due_date=invoice.due_date, open_amount=invoice.outstanding, as_of=date(2026, 1, 31)
    )
    assert is_overdue(
        due_date=invoice.due_date, open_amount=invoice.outstanding, as_of=date(2026, 2, 1)
    )
