"""Instalments store today's open amount and currency, kept with the money that moves them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from contracts.models import AgreementInstalment, SupplementaryAgreement
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from receivables.services.balance_changes import balance_changes_batched
from receivables.services.invoices import credit_note_issue
from receivables.services.payments import payment_record, payment_reverse
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2026-03-02 10:00 +08:00", tick=False):
        yield


@pytest.fixture
def plan():
    """1,000.00 overdue from a USD customer, replaced by 400.00 then 600.00."""
    ensure_default_policy()
    customer = CustomerFactory(currency="USD")
    invoice = InvoiceFactory(
        customer=customer,
        currency="USD",
        amount=Decimal("1000.00"),
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
    )
    agreement = agreement_propose(
        customer=customer,
        invoices=[invoice],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY + timedelta(days=10), amount=Decimal("400.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=40), amount=Decimal("600.00")),
        ],
        reason="cash flow",
        actor=ManagerFactory(),
        as_of=TODAY,
    )
    agreement_approve(agreement=agreement, actor=ManagerFactory(), as_of=TODAY)
    return customer, invoice, agreement


def stored(agreement) -> list[tuple[Decimal, str]]:
    return list(
        AgreementInstalment.objects.filter(agreement=agreement)
        .order_by("sequence")
        .values_list("outstanding", "currency")
    )


def pay(customer, invoice, amount: str):
    return payment_record(
        customer=customer,
        payment_date=TODAY,
        amount=Decimal(amount),
        currency="USD",
        reference=f"P-{amount}",
        actor=None,
        allocations=[(invoice, Decimal(amount))],
    )


def test_a_proposal_stores_each_instalment_whole_in_its_currency(plan):
    _customer, _invoice, agreement = plan

    assert stored(agreement) == [(Decimal("400.00"), "USD"), (Decimal("600.00"), "USD")]


def test_payments_credit_notes_and_reversals_move_the_stored_figures_at_once(plan):
    customer, invoice, agreement = plan

    payment = pay(customer, invoice, "250.00")
    assert stored(agreement)[0][0] == Decimal("150.00")  # the first instalment first

    credit_note_issue(
        invoice=invoice,
        number="CN-1",
        amount=Decimal("300.00"),
        issue_date=TODAY,
        reason="damaged goods",
        actor=None,
    )
    assert [amount for amount, _currency in stored(agreement)] == [
        Decimal("0.00"),
        Decimal("450.00"),
    ]

    payment_reverse(payment=payment, reason="bounced", actor=None)
    assert [amount for amount, _currency in stored(agreement)] == [
        Decimal("100.00"),
        Decimal("600.00"),
    ]


def test_inside_a_batch_the_next_receipt_already_reads_the_stored_figure(plan):
    customer, invoice, agreement = plan

    with transaction.atomic(), balance_changes_batched():
        pay(customer, invoice, "400.00")
        # The other listeners wait for the batch's end; the instalments do not.
        assert stored(agreement)[0][0] == Decimal("0.00")
        pay(customer, invoice, "100.00")
        assert stored(agreement)[1][0] == Decimal("500.00")


def test_the_stored_figures_are_what_the_rule_computes_for_today(plan):
    from contracts.selectors.instalments import instalments_as_of

    customer, invoice, agreement = plan
    pay(customer, invoice, "640.00")
    instalments = AgreementInstalment.objects.filter(agreement=agreement).order_by("sequence")

    today = list(instalments_as_of(as_of=TODAY, queryset=instalments).values_list("open_amount"))
    now = list(instalments_as_of(as_of=None, queryset=instalments).values_list("open_amount"))

    assert [Decimal(value).quantize(Decimal("0.01")) for (value,) in today] == [
        Decimal("0.00"),
        Decimal("360.00"),
    ]
    assert now == [(Decimal("0.00"),), (Decimal("360.00"),)]
