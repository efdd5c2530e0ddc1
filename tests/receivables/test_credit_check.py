"""The credit check every later issue calls, exposure in the database, and credit holds."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.models import Contract, PaymentMilestone
from core.exceptions import BusinessRuleError
from receivables.models import CreditHoldEvent, CreditOverride, Customer, Invoice
from receivables.selectors.credit import (
    customer_contracted_not_invoiced,
    customer_credit_position,
    customer_exposure,
)
from receivables.services.credit import credit_check, customer_hold, customer_release
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

_numbers = iter(range(1, 10**6))


def _invoice(customer, amount, *, outstanding=None, status=Invoice.Status.OPEN, milestone=None):
    invoice = Invoice.objects.create(
        number=f"INV-{next(_numbers)}",
        customer=customer,
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 4),
        amount=Decimal(amount),
        outstanding=Decimal(amount if outstanding is None else outstanding),
        currency=customer.currency,
        status=status,
    )
    if milestone is not None:
        milestone.invoice = invoice
        milestone.save()
    return invoice


def _contract(customer, amount, status):
    return Contract.objects.create(
        number=f"CT-{next(_numbers)}",
        customer=customer,
        amount=Decimal(amount),
        currency=customer.currency,
        payment_type=Contract.PaymentType.CREDIT_TERMS,
        status=status,
    )


def _milestone(contract, sequence, percent):
    return PaymentMilestone.objects.create(
        contract=contract,
        sequence=sequence,
        description=f"Milestone {sequence}",
        percent=Decimal(percent),
        trigger=PaymentMilestone.Trigger.DELIVERY,
    )


@pytest.fixture
def customer():
    return CustomerFactory(credit_limit=Decimal("100000.00"), payment_terms_days=30)


# --- exposure ---------------------------------------------------------------


def test_exposure_counts_what_is_still_owed_on_open_invoices(customer):
    _invoice(customer, "30000.00")
    _invoice(customer, "20000.00", outstanding="5000.00")
    _invoice(customer, "9000.00", outstanding="0.00", status=Invoice.Status.PAID)
    _invoice(customer, "7000.00", status=Invoice.Status.CANCELLED)
    _invoice(CustomerFactory(), "99999.00")

    assert customer_exposure(customer=customer) == Decimal("35000.00")


def test_exposure_adds_what_approved_and_active_contracts_will_still_invoice(customer):
    active = _contract(customer, "60000.00", Contract.Status.ACTIVE)
    first, second = _milestone(active, 1, "50"), _milestone(active, 2, "50")
    _invoice(customer, "30000.00", milestone=first)  # invoiced half of the active contract
    _invoice(customer, "999.00", status=Invoice.Status.CANCELLED, milestone=second)
    _contract(customer, "10000.00", Contract.Status.APPROVED)
    _contract(customer, "50000.00", Contract.Status.DRAFT)
    _contract(customer, "50000.00", Contract.Status.IN_REVIEW)
    _contract(customer, "50000.00", Contract.Status.CLOSED)

    assert customer_contracted_not_invoiced(customer=customer) == Decimal("40000.00")
    position = customer_credit_position(customer=customer)
    assert position.open_receivables == Decimal("30000.00")
    assert position.exposure == Decimal("70000.00")
    assert position.available == Decimal("30000.00")


def test_an_over_invoiced_contract_adds_nothing_rather_than_a_negative_amount(customer):
    contract = _contract(customer, "10000.00", Contract.Status.ACTIVE)
    _invoice(customer, "12000.00", outstanding="0.00", milestone=_milestone(contract, 1, "100"))
    _contract(customer, "5000.00", Contract.Status.ACTIVE)

    assert customer_contracted_not_invoiced(customer=customer) == Decimal("5000.00")


# --- the check --------------------------------------------------------------


def test_the_check_passes_within_the_limit_and_reports_its_figures(customer):
    _invoice(customer, "60000.00")

    result = credit_check(customer=customer, amount=Decimal("40000.00"))

    assert result.exposure == Decimal("60000.00")
    assert result.exposure_after == Decimal("100000.00")
    assert result.available_after == Decimal("0.00")
    assert result.credit_limit == Decimal("100000.00")
    assert not result.overridden
    assert not CreditOverride.objects.exists()


def test_the_check_refuses_exposure_beyond_the_limit_with_a_clear_message(customer):
    _invoice(customer, "60000.00")

    with pytest.raises(BusinessRuleError) as refused:
        credit_check(customer=customer, amount=Decimal("40000.01"), actor=customer.sales_rep)

    message = refused.value.message
    assert "Credit limit exceeded" in message
    assert "60,000.00 + 40,000.01 = 100,000.01 CNY" in message
    assert "limit of 100,000.00 CNY" in message
    assert "available: 40,000.00" in message


def test_contracted_amounts_count_against_the_limit(customer):
    _contract(customer, "90000.00", Contract.Status.ACTIVE)

    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        credit_check(customer=customer, amount=Decimal("10000.01"))


def test_a_customer_without_an_approved_limit_gets_no_credit():
    customer = CustomerFactory(credit_limit=0)

    assert credit_check(customer=customer, amount=Decimal("0")).exposure == 0
    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        credit_check(customer=customer, amount=Decimal("0.01"))


def test_a_customer_on_hold_is_refused_whatever_the_amount(customer):
    customer_hold(customer=customer, actor=FinanceUserFactory(), reason="Bounced cheque.")

    with pytest.raises(BusinessRuleError, match="is on credit hold"):
        credit_check(customer=customer, amount=Decimal("0"))


@pytest.mark.parametrize("amount", ["-1", "abc", 12.5])
def test_a_bad_amount_is_refused(customer, amount):
    with pytest.raises(BusinessRuleError, match="The amount"):
        credit_check(customer=customer, amount=amount)


def test_finance_overrides_a_refusal_with_a_written_reason_and_it_is_logged(customer):
    finance = FinanceUserFactory()
    _invoice(customer, "90000.00")

    result = credit_check(
        customer=customer,
        amount=Decimal("20000.00"),
        actor=finance,
        override_reason="  Paid by bank guarantee.  ",
        reference="INV-2026-0042",
    )

    assert result.overridden
    override = CreditOverride.objects.get()
    assert result.override == override
    assert override.actor == finance
    assert override.customer == customer
    assert override.amount == Decimal("20000.00")
    assert override.exposure == Decimal("90000.00")
    assert override.credit_limit == Decimal("100000.00")
    assert override.reason == "Paid by bank guarantee."
    assert override.reference == "INV-2026-0042"
    assert "Credit limit exceeded" in override.refusal


def test_finance_may_override_a_hold_too(customer):
    finance = FinanceUserFactory()
    customer_hold(customer=customer, actor=finance, reason="Review.")

    result = credit_check(
        customer=customer, amount=Decimal("1"), actor=finance, override_reason="Urgent spare part."
    )

    assert result.override.credit_status == Customer.CreditStatus.ON_HOLD


@pytest.mark.parametrize("factory", [SalesRepFactory, ManagerFactory])
def test_only_finance_can_override(customer, factory):
    with pytest.raises(BusinessRuleError, match="Only finance can override"):
        credit_check(
            customer=customer,
            amount=Decimal("100000.01"),
            actor=factory(),
            override_reason="Trust me.",
        )

    assert not CreditOverride.objects.exists()


def test_an_override_needs_a_reason(customer):
    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        credit_check(
            customer=customer,
            amount=Decimal("100000.01"),
            actor=FinanceUserFactory(),
            override_reason="   ",
        )

    assert not CreditOverride.objects.exists()


def test_a_check_that_passes_logs_no_override_even_with_a_reason(customer):
    result = credit_check(
        customer=customer, amount=Decimal("1"), actor=FinanceUserFactory(), override_reason="x"
    )

    assert not result.overridden
    assert not CreditOverride.objects.exists()


@settings(max_examples=40, deadline=None)
@given(
    limit=st.decimals(min_value=0, max_value=10**6, places=2),
    open_amount=st.decimals(min_value="0.01", max_value=10**6, places=2),
    amount=st.decimals(min_value=0, max_value=10**6, places=2),
)
def test_the_check_passes_exactly_when_exposure_stays_within_the_limit(limit, open_amount, amount):
    customer = CustomerFactory(credit_limit=limit)
    _invoice(customer, open_amount)

    try:
        result = credit_check(customer=customer, amount=amount)
    except BusinessRuleError:
        assert open_amount + amount > limit
    else:
        assert result.exposure_after == open_amount + amount <= limit


# --- holds ------------------------------------------------------------------


def test_finance_puts_a_customer_on_hold_and_releases_it(customer):
    finance = FinanceUserFactory()

    hold = customer_hold(customer=customer, actor=finance, reason="Cheque bounced.")

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert (hold.action, hold.source, hold.actor, hold.reason) == (
        CreditHoldEvent.Action.HOLD,
        CreditHoldEvent.Source.MANUAL,
        finance,
        "Cheque bounced.",
    )
    assert customer.history.first().history_user == finance

    release = customer_release(customer=customer, actor=finance, reason="Arrears paid.")

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    assert release.action == CreditHoldEvent.Action.RELEASE
    assert customer.credit_hold_events.count() == 2


def test_holding_twice_writes_nothing_the_second_time(customer):
    finance = FinanceUserFactory()
    customer_hold(customer=customer, actor=finance, reason="First.")

    assert customer_hold(customer=customer, actor=finance, reason="Second.") is None
    assert customer.credit_hold_events.count() == 1


def test_dunning_puts_a_customer_on_hold_without_a_user(customer):
    event = customer_hold(
        customer=customer,
        actor=None,
        reason="Legal referral: INV-1 60 days overdue.",
        source=CreditHoldEvent.Source.DUNNING,
    )

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert (event.source, event.actor) == (CreditHoldEvent.Source.DUNNING, None)


@pytest.mark.parametrize("actor_factory", [SalesRepFactory, ManagerFactory, lambda: None])
def test_only_finance_puts_on_hold_by_hand(customer, actor_factory):
    with pytest.raises(BusinessRuleError, match="Only finance"):
        customer_hold(customer=customer, actor=actor_factory(), reason="Because.")

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    assert not customer.credit_hold_events.exists()


def test_a_hold_and_a_release_need_a_reason(customer):
    finance = FinanceUserFactory()
    with pytest.raises(BusinessRuleError, match="reason for the hold"):
        customer_hold(customer=customer, actor=finance, reason=" ")
    customer_hold(customer=customer, actor=finance, reason="Hold.")
    with pytest.raises(BusinessRuleError, match="reason for the release"):
        customer_release(customer=customer, actor=finance, reason="")

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD


def test_only_finance_releases_and_releasing_an_active_customer_writes_nothing(customer):
    finance = FinanceUserFactory()
    assert customer_release(customer=customer, actor=finance, reason="Nothing to do.") is None
    customer_hold(customer=customer, actor=finance, reason="Hold.")

    with pytest.raises(BusinessRuleError, match="Only finance can release"):
        customer_release(customer=customer, actor=customer.sales_rep, reason="Please.")

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert customer.credit_hold_events.count() == 1
