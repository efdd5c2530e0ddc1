"""Money invariants of invoices and payments under random sequences of operations.

After every operation, whatever the engine (SQLite keeps decimals as floats):
allocations of a payment never exceed it; an invoice's allocations never exceed
its amount; outstanding is never negative; and outstanding + allocated
(+ credited) equals what was invoiced, exact to the cent.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exceptions import BusinessRuleError
from core.money import money_quantize
from receivables.models import CreditNote, Invoice, Payment, PaymentAllocation
from receivables.selectors.ageing import ageing_report
from receivables.selectors.invoices import customer_open_receivables
from receivables.services.invoices import credit_note_issue, invoice_issue
from receivables.services.payments import payment_apply_credit, payment_record, payment_reverse
from tests.factories.customers import CustomerFactory

pytestmark = pytest.mark.django_db

START = date(2026, 1, 1)
# Cents that sum badly in binary floating point, and large round amounts.
cents = st.one_of(
    st.integers(min_value=1, max_value=100_000_00),
    st.sampled_from([1, 7, 10, 20, 30, 33, 99, 10_000_00, 99_999_999_99]),
)
amounts = cents.map(lambda value: Decimal(value) / 100)
days = st.integers(min_value=0, max_value=200)

issue_op = st.tuples(st.just("issue"), amounts, days, st.integers(min_value=0, max_value=120))
pay_op = st.tuples(st.just("pay_auto"), amounts, days)
pay_explicit_op = st.tuples(
    st.just("pay_explicit"),
    amounts,
    days,
    st.lists(st.tuples(st.integers(min_value=0, max_value=20), amounts), max_size=3),
)
apply_op = st.tuples(st.just("apply"), st.integers(min_value=0, max_value=20))
reverse_op = st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20))
credit_op = st.tuples(st.just("credit"), st.integers(min_value=0, max_value=20), amounts, days)
operations = st.lists(
    st.one_of(issue_op, pay_op, pay_explicit_op, apply_op, reverse_op, credit_op),
    min_size=1,
    max_size=15,
)


def _sum(queryset, field="amount") -> Decimal:
    return money_quantize(queryset.aggregate(total=Sum(field))["total"] or 0)


def _check_invariants(customer) -> None:
    invoices = Invoice.objects.filter(customer=customer).exclude(status=Invoice.Status.CANCELLED)
    posted = PaymentAllocation.objects.filter(payment__status=Payment.Status.POSTED)
    payments = Payment.objects.filter(customer=customer).annotate(
        allocated=Sum("allocations__amount")
    )
    for payment in payments:
        assert money_quantize(payment.allocated or 0) <= payment.amount
        # The stored allocated amount is the sum of the payment's allocations, always.
        assert payment.allocated_amount == money_quantize(payment.allocated or 0)
    allocated_by_invoice = dict(
        posted.filter(invoice__customer=customer)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values_list("invoice", "total")
    )
    credited_by_invoice = dict(
        CreditNote.objects.filter(invoice__customer=customer)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values_list("invoice", "total")
    )
    for invoice in invoices:
        allocated = money_quantize(allocated_by_invoice.get(invoice.pk) or 0)
        credited = money_quantize(credited_by_invoice.get(invoice.pk) or 0)
        assert allocated <= invoice.amount
        assert invoice.outstanding >= 0
        assert invoice.outstanding == invoice.amount - allocated - credited
        expected_status = Invoice.Status.OPEN if invoice.outstanding else Invoice.Status.PAID
        assert invoice.status == expected_status
    invoiced = _sum(invoices)
    outstanding = _sum(invoices, "outstanding")
    allocated = _sum(posted.filter(invoice__customer=customer))
    credited = _sum(CreditNote.objects.filter(invoice__customer=customer))
    assert outstanding + allocated + credited == invoiced
    assert customer_open_receivables(customer=customer) == outstanding
    # The database ageing agrees with the maintained balances, to the cent.
    report = ageing_report(as_of=START + timedelta(days=400), currency=customer.currency)
    assert report.totals["total"] == outstanding


def _pick(items: list, index: int):
    return items[index % len(items)] if items else None


def _run(customer, ops) -> None:
    invoices: list[Invoice] = []
    payments: list[Payment] = []
    for number, op in enumerate(ops):
        kind = op[0]
        try:
            if kind == "issue":
                _kind, amount, day, terms = op
                invoices.append(
                    invoice_issue(
                        customer=customer,
                        number=f"P-{number}",
                        issue_date=START + timedelta(days=day),
                        due_date=START + timedelta(days=day + terms),
                        amount=amount,
                        currency=customer.currency,
                        actor=None,
                        check_credit=False,
                    )
                )
            elif kind == "pay_auto":
                _kind, amount, day = op
                payments.append(
                    payment_record(
                        customer=customer,
                        payment_date=START + timedelta(days=day),
                        amount=amount,
                        currency=customer.currency,
                        reference=f"R-{number}",
                        actor=None,
                    )
                )
            elif kind == "pay_explicit":
                _kind, amount, day, picks = op
                allocations = [
                    (_pick(invoices, index), value) for index, value in picks if invoices
                ]
                payments.append(
                    payment_record(
                        customer=customer,
                        payment_date=START + timedelta(days=day),
                        amount=amount,
                        currency=customer.currency,
                        reference=f"R-{number}",
                        actor=None,
                        allocations=allocations,
                    )
                )
            elif kind == "apply" and payments:
                payment_apply_credit(payment=_pick(payments, op[1]), actor=None)
            elif kind == "reverse" and payments:
                payment_reverse(payment=_pick(payments, op[1]), reason="test", actor=None)
            elif kind == "credit" and invoices:
                _kind, index, amount, day = op
                invoice = _pick(invoices, index)
                credit_note_issue(
                    invoice=invoice,
                    number=f"CN-{number}",
                    amount=amount,
                    issue_date=invoice.issue_date + timedelta(days=day),
                    reason="test",
                    actor=None,
                )
        except BusinessRuleError:
            # A refused operation must leave everything as it was.
            pass
        _check_invariants(customer)


@pytest.fixture
def customer():
    """One customer for all examples of a test (its owner's password hash is slow);
    each example runs in a transaction that is rolled back."""
    return CustomerFactory(currency="CNY")


EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(ops=operations)
def test_money_invariants_hold_after_any_sequence_of_operations(customer, ops):
    with transaction.atomic():
        _run(customer, ops)
        transaction.set_rollback(True)


@EXAMPLES
@given(
    invoice_cents=st.lists(cents, min_size=1, max_size=6),
    payment_cents=st.lists(cents, min_size=1, max_size=6),
)
def test_oldest_first_allocation_is_exact_and_leaves_the_rest_as_credit(
    customer, invoice_cents, payment_cents
):
    with transaction.atomic():
        for number, value in enumerate(invoice_cents):
            invoice_issue(
                customer=customer,
                number=f"O-{number}",
                issue_date=START,
                due_date=START + timedelta(days=number),
                amount=Decimal(value) / 100,
                currency="CNY",
                actor=None,
                check_credit=False,
            )
        for number, value in enumerate(payment_cents):
            payment_record(
                customer=customer,
                payment_date=START,
                amount=Decimal(value) / 100,
                currency="CNY",
                reference=f"R-{number}",
                actor=None,
            )

        invoiced = Decimal(sum(invoice_cents)) / 100
        paid = Decimal(sum(payment_cents)) / 100
        assert customer_open_receivables(customer=customer) == max(invoiced - paid, Decimal(0))
        credit = _sum(Payment.objects.filter(customer=customer)) - _sum(
            PaymentAllocation.objects.filter(payment__customer=customer)
        )
        assert credit == max(paid - invoiced, Decimal(0))
        # Oldest due first: every invoice due before the first open one is settled,
        # and none after it has been touched enough to be.
        statuses = list(
            Invoice.objects.filter(customer=customer)
            .order_by("due_date", "pk")
            .values_list("status", flat=True)
        )
        first_open = statuses.index("open") if "open" in statuses else len(statuses)
        assert all(status == "paid" for status in statuses[:first_open])
        assert sum(1 for status in statuses[first_open:] if status == "paid") == 0
        _check_invariants(customer)
        transaction.set_rollback(True)
