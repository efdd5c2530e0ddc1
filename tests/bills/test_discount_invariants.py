"""Discounting is exact: cash received + discount = face, to the cent, whatever the amounts
(SQLite keeps decimals as floats), in the bill and in the period's figures."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bills.selectors.bills import collections_cash_and_bills
from bills.services.bills import acceptance_bill_discount
from tests.bills.conftest import at
from tests.factories.bills import receive_bill
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)

# Cents that sum badly in binary floating point, and large round amounts.
face_cents = st.one_of(
    st.integers(min_value=2, max_value=99_999_999_99),
    st.sampled_from([2, 3, 10, 30, 33, 1_000_000_00, 99_999_999_99]),
)


@pytest.fixture
def customer():
    """One customer for all examples; each example is rolled back."""
    return CustomerFactory(currency="CNY")


@pytest.fixture
def finance():
    return FinanceUserFactory()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(face=face_cents, data=st.data())
def test_cash_received_plus_discount_is_the_face_exactly(customer, finance, face, data):
    discount = data.draw(st.integers(min_value=1, max_value=face - 1), label="discount")
    face_amount, discount_amount = Decimal(face) / 100, Decimal(discount) / 100
    with at(D + timedelta(days=10)), transaction.atomic():
        bill = receive_bill(
            customer=customer,
            received_on=D,
            face=f"{face_amount:.2f}",
            number="BA-PROP",
            issue=D,
            maturity=D + timedelta(days=90),
        )
        acceptance_bill_discount(
            bill=bill,
            discounted_on=D + timedelta(days=10),
            discount_amount=discount_amount,
            actor=None,
        )
        bill.refresh_from_db()
        figures = collections_cash_and_bills(
            user=finance, date_from=D, date_to=D + timedelta(days=10), currency="CNY"
        )
        transaction.set_rollback(True)

    assert bill.discount_amount == discount_amount
    assert bill.cash_received + bill.discount_amount == face_amount
    assert figures.cash_from_bills == face_amount - discount_amount
    assert figures.discount_expense == discount_amount
    assert figures.bills_received == face_amount
