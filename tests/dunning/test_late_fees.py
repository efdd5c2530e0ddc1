from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from contracts.models import Contract, PaymentMilestone
from dunning.late_fees import LateFeeClause, late_fee_compute
from receivables.models import Invoice, Payment, PaymentAllocation
from tests.factories.customers import CustomerFactory

DAILY_005 = LateFeeClause(rate_percent=Decimal("0.05"))


def test_design_worked_example():
    fee = late_fee_compute(
        amount=Decimal("100000.00"),
        due_date=date(2026, 1, 31),
        as_of=date(2026, 3, 2),
        reductions=[(date(2026, 2, 10), Decimal("40000.00"))],
        clause=DAILY_005,
    )

    assert fee == Decimal("1100.00")


def test_nothing_accrues_on_or_before_the_due_date():
    kwargs = {"amount": Decimal("1000.00"), "due_date": date(2026, 1, 31), "reductions": []}

    assert late_fee_compute(as_of=date(2026, 1, 31), clause=DAILY_005, **kwargs) == 0
    assert late_fee_compute(as_of=date(2026, 2, 1), clause=DAILY_005, **kwargs) == Decimal("0.50")


def test_the_payment_day_still_accrues_on_the_old_balance():
    fee = late_fee_compute(
        amount=Decimal("1000.00"),
        due_date=date(2026, 1, 31),
        as_of=date(2026, 2, 2),
        reductions=[(date(2026, 2, 1), Decimal("1000.00"))],
        clause=LateFeeClause(rate_percent=Decimal("1")),
    )

    assert fee == Decimal("10.00")


def test_grace_days_delay_the_first_accruing_day():
    clause = LateFeeClause(rate_percent=Decimal("1"), grace_days=5)
    kwargs = {"amount": Decimal("100.00"), "due_date": date(2026, 1, 31), "reductions": []}

    assert late_fee_compute(as_of=date(2026, 2, 5), clause=clause, **kwargs) == 0
    assert late_fee_compute(as_of=date(2026, 2, 6), clause=clause, **kwargs) == Decimal("1.00")


def test_a_yearly_rate_accrues_a_365th_a_day_and_rounds_once_at_the_end():
    clause = LateFeeClause(rate_percent=Decimal("10"), period="year")

    fee = late_fee_compute(
        amount=Decimal("12345.67"),
        due_date=date(2026, 1, 1),
        as_of=date(2026, 1, 4),
        reductions=[],
        clause=clause,
    )

    # 3 days x 12345.67 x 0.10 / 365 = 10.1471... ; daily rounding would give 10.14.
    assert fee == Decimal("10.15")


def test_the_cap_is_a_percent_of_the_amount_overdue_on_the_due_date():
    clause = LateFeeClause(rate_percent=Decimal("1"), cap_percent=Decimal("5"))

    fee = late_fee_compute(
        amount=Decimal("2000.00"),
        due_date=date(2026, 1, 31),
        as_of=date(2026, 6, 30),
        reductions=[(date(2026, 1, 20), Decimal("1000.00"))],
        clause=clause,
    )

    assert fee == Decimal("50.00")


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    days=st.integers(min_value=0, max_value=400),
    rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4),
)
def test_fee_without_payments_is_days_times_daily_fee_rounded_once(amount, days, rate):
    due = date(2026, 1, 1)
    clause = LateFeeClause(rate_percent=rate)

    fee = late_fee_compute(
        amount=amount,
        due_date=due,
        as_of=date.fromordinal(due.toordinal() + days),
        reductions=[],
        clause=clause,
    )

    expected = (amount * rate / 100 * days).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert fee == expected
    assert fee >= 0


@pytest.mark.django_db
def test_command_prints_the_design_example_from_the_database(capsys):
    customer = CustomerFactory()
    invoice = Invoice.objects.create(
        number="INV-100",
        customer=customer,
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        amount=Decimal("100000.00"),
        outstanding=Decimal("60000.00"),
        currency="CNY",
    )
    payment = Payment.objects.create(
        customer=customer,
        payment_date=date(2026, 2, 10),
        amount=Decimal("40000.00"),
        currency="CNY",
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=payment.amount)

    call_command("late_fee", "--invoice", "INV-100", "--as-of", "2026-03-02")

    assert capsys.readouterr().out.strip() == "1100.00"


@pytest.mark.django_db
def test_command_uses_the_contract_clause_of_a_milestone_invoice(capsys):
    customer = CustomerFactory()
    contract = Contract.objects.create(
        number="K-1",
        customer=customer,
        amount=Decimal("1000.00"),
        currency="CNY",
        payment_type=Contract.PaymentType.CREDIT_TERMS,
        late_fee_rate_percent=Decimal("0.1"),
        late_fee_grace_days=2,
    )
    invoice = Invoice.objects.create(
        number="INV-K1",
        customer=customer,
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        amount=Decimal("1000.00"),
        outstanding=Decimal("1000.00"),
        currency="CNY",
    )
    PaymentMilestone.objects.create(
        contract=contract,
        sequence=1,
        description="All",
        percent=Decimal("100"),
        trigger=PaymentMilestone.Trigger.SIGNING,
        invoice=invoice,
    )

    call_command("late_fee", "--invoice", "INV-K1", "--as-of", "2026-02-12")

    # Days 3..12 of February accrue: 10 x 1.00.
    assert capsys.readouterr().out.strip() == "10.00"


@pytest.mark.django_db
def test_command_refuses_unknown_invoice_and_bad_date():
    with pytest.raises(CommandError, match="no invoice"):
        call_command("late_fee", "--invoice", "NOPE", "--as-of", "2026-03-02")
    with pytest.raises(CommandError, match="must be a date"):
        call_command("late_fee", "--invoice", "NOPE", "--as-of", "02/03/2026")
