"""Amounts people type: no exponent notation anywhere, and a payment far above the balance
is recorded only once finance confirms what will be kept as credit."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from contracts.forms import ContractForm
from core.exceptions import BusinessRuleError
from core.money import MoneyFormField, money_parse
from dunning.forms import PromiseForm
from receivables.forms.credit import CreditAssessmentForm
from receivables.forms.invoices import InvoiceForm
from receivables.forms.payments import PaymentForm
from receivables.models import Payment
from receivables.services.invoices import money_positive
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 6, 30, 15, 0))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("text", ["12e3", "12E3", "1.2e+4", "1e-2", "NaN", "Infinity", "1,000"])
def test_money_parse_refuses_anything_but_a_plain_decimal(text):
    with pytest.raises(ValueError, match="plain decimal"):
        money_parse(text)


@pytest.mark.parametrize(("text", "value"), [("12000", "12000"), (" 12000.50 ", "12000.50")])
def test_money_parse_reads_plain_decimals(text, value):
    assert money_parse(text) == Decimal(value)


def test_the_money_form_field_says_why_it_refuses_exponent_notation():
    field = MoneyFormField(max_digits=14, decimal_places=2)

    with pytest.raises(Exception, match="exponent notation") as error:
        field.clean("12e3")

    assert "12000.00" in str(error.value)
    assert field.clean("12000") == Decimal("12000")


def test_services_refuse_exponent_strings():
    with pytest.raises(BusinessRuleError):
        money_positive("12e3")


@pytest.mark.parametrize(
    ("form_class", "field"),
    [
        (PaymentForm, "amount"),
        (InvoiceForm, "amount"),
        (CreditAssessmentForm, "requested_limit"),
        (ContractForm, "amount"),
        (PromiseForm, "amount"),
    ],
)
def test_every_money_field_of_the_forms_refuses_exponent_notation(form_class, field):
    assert isinstance(form_class.base_fields[field], MoneyFormField)


@pytest.fixture
def finance():
    return FinanceUserFactory()


def _post(client, customer, amount, **extra):
    url = reverse("receivables:payment_create") + f"?customer={customer.pk}"
    return client.post(
        url,
        {
            "payment_date": "2026-06-29",
            "amount": amount,
            "currency": "CNY",
            "reference": "BANK-1",
            "mode": "auto",
            **extra,
        },
    )


def test_a_payment_far_above_the_balance_asks_for_confirmation(client, finance):
    # Given a customer owing 72,000.00
    customer = CustomerFactory(currency="CNY")
    InvoiceFactory(customer=customer, amount=Decimal("72000.00"), due_date=date(2026, 6, 1))
    client.force_login(finance)

    # When finance types 999,999,999,999.99
    response = _post(client, customer, "999999999999.99")

    # Then nothing is recorded and the page says what would be kept as credit
    assert response.status_code == 200
    assert not Payment.objects.exists()
    page = response.content.decode()
    assert "999,999,927,999.99" in page
    assert 'name="confirm_excess"' in page

    # And once finance confirms, it is recorded
    confirmed = _post(client, customer, "999999999999.99", confirm_excess="on")
    assert confirmed.status_code == 302
    assert Payment.objects.get().amount == Decimal("999999999999.99")


def test_a_payment_within_the_factor_needs_no_confirmation(client, finance, settings):
    settings.PAYMENT_CONFIRM_FACTOR = 1.5
    customer = CustomerFactory(currency="CNY")
    InvoiceFactory(customer=customer, amount=Decimal("1000.00"), due_date=date(2026, 6, 1))
    client.force_login(finance)

    assert _post(client, customer, "1500.00").status_code == 302
    assert Payment.objects.get().amount == Decimal("1500.00")


def test_exponent_notation_is_refused_on_the_payment_page(client, finance):
    customer = CustomerFactory(currency="CNY")
    InvoiceFactory(customer=customer, amount=Decimal("72000.00"), due_date=date(2026, 6, 1))
    client.force_login(finance)

    response = _post(client, customer, "12e3")

    assert response.status_code == 200
    assert "exponent notation" in response.content.decode()
    assert not Payment.objects.exists()
