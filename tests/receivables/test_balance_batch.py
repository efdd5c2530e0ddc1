"""`balance_changes_batched`: many payments, one announcement per cause and actor."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from receivables.services import balance_changes
from receivables.services.balance_changes import balance_changes_batched
from receivables.services.payments import payment_record
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    changes = []
    monkeypatch.setattr(
        balance_changes, "_listeners", [*balance_changes._listeners, changes.append]
    )
    return changes


@time_machine.travel("2026-03-02 10:00 +08:00", tick=False)
def test_payments_inside_the_block_are_announced_once_at_its_end(heard):
    customer = CustomerFactory()
    first, second = InvoiceFactory.create_batch(2, customer=customer, amount=Decimal("10.00"))
    with transaction.atomic():
        with balance_changes_batched():
            for invoice in (first, second):
                payment_record(
                    customer=customer,
                    payment_date=date(2026, 3, 1),
                    amount=Decimal("10.00"),
                    currency="CNY",
                    reference=invoice.number,
                    actor=None,
                    allocations=[(invoice, Decimal("10.00"))],
                )
            assert heard == []
        assert [change.invoice_ids for change in heard] == [frozenset({first.pk, second.pk})]
    payment_record(
        customer=customer,
        payment_date=date(2026, 3, 1),
        amount=Decimal("1.00"),
        currency="CNY",
        reference="after",
        actor=None,
    )
    assert len(heard) == 1  # nothing open is left: no change to announce


@time_machine.travel("2026-03-02 10:00 +08:00", tick=False)
def test_a_block_that_raises_announces_nothing(heard):
    customer = CustomerFactory()
    invoice = InvoiceFactory(customer=customer, amount=Decimal("10.00"))

    def pay_then_fail() -> None:
        with transaction.atomic(), balance_changes_batched():
            payment_record(
                customer=customer,
                payment_date=date(2026, 3, 1),
                amount=Decimal("10.00"),
                currency="CNY",
                reference="x",
                actor=None,
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        pay_then_fail()
    assert heard == []
    assert invoice.outstanding == Decimal("10.00")
