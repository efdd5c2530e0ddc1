"""The one balance module: as-of figures, today's stored figure, overdue, buckets, instalments.

Property tests drive the real services (payments, reversals, credit notes,
agreements proposed and approved) through random sequences, with the clock
pinned, and check after every step that the as-of figure for today equals the
stored `outstanding`, and that the SQL and Python instalment balances agree.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import (
    agreement_instalment_positions,
    instalment_open_amounts,
    instalments_as_of,
)
from contracts.services.instalments import instalments_refresh
from core.exceptions import BusinessRuleError
from core.money import money_quantize
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from receivables.models import CreditNote, Invoice, Payment
from receivables.selectors.ageing import ageing_report
from receivables.selectors.balances import (
    BUCKETS,
    bucket_bounds,
    bucket_of,
    invoice_open_amount_on,
    invoices_as_of,
    is_overdue,
    overdue_q,
)
from receivables.services.invoices import credit_note_issue, invoice_issue
from receivables.services.payments import payment_record, payment_reverse
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
START = date(2026, 1, 1)


# --- Future-dated money ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_payment_dated_after_today_is_refused_and_writes_nothing():
    customer = CustomerFactory(currency="CNY")
    invoice = InvoiceFactory(customer=customer, amount=Decimal("100.00"))
    with pytest.raises(BusinessRuleError, match="after today") as refused:
        payment_record(
            customer=customer,
            payment_date=TODAY + timedelta(days=1),
            amount=Decimal("100.00"),
            currency="CNY",
            reference="TOMORROW",
            actor=None,
        )
    assert refused.value.field == "payment_date"
    assert not Payment.objects.filter(customer=customer).exists()
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("100.00")


@time_machine.travel(NOW, tick=False)
def test_a_payment_dated_today_lowers_today_and_the_as_of_figure_alike():
    customer = CustomerFactory(currency="CNY")
    invoice = InvoiceFactory(customer=customer, amount=Decimal("100.00"))
    payment_record(
        customer=customer,
        payment_date=TODAY,
        amount=Decimal("40.00"),
        currency="CNY",
        reference="TODAY",
        actor=None,
    )
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("60.00")
    assert invoice_open_amount_on(invoice=invoice, as_of=TODAY) == Decimal("60.00")
    assert invoice_open_amount_on(invoice=invoice, as_of=TODAY - timedelta(days=1)) == Decimal(
        "100.00"
    )


@time_machine.travel(NOW, tick=False)
def test_a_credit_note_dated_after_today_is_refused():
    invoice = InvoiceFactory(amount=Decimal("100.00"))
    with pytest.raises(BusinessRuleError, match="after today"):
        credit_note_issue(
            invoice=invoice,
            number="CN-TOMORROW",
            amount=Decimal("10.00"),
            issue_date=TODAY + timedelta(days=1),
            reason="test",
            actor=None,
        )
    assert not CreditNote.objects.filter(invoice=invoice).exists()


# --- Overdue and buckets ----------------------------------------------------------------


def test_overdue_starts_the_day_after_the_due_date_and_needs_the_tolerance():
    due = date(2026, 6, 10)
    assert not is_overdue(due_date=due, open_amount=Decimal("5.00"), as_of=due)
    assert is_overdue(due_date=due, open_amount=Decimal("5.00"), as_of=due + timedelta(days=1))
    assert not is_overdue(due_date=due, open_amount=Decimal("0.99"), as_of=due + timedelta(days=1))
    assert is_overdue(
        due_date=due,
        open_amount=Decimal("0.99"),
        as_of=due + timedelta(days=1),
        tolerance=Decimal("0.50"),
    )


def test_overdue_in_sql_is_the_same_rule_as_in_python():
    customer = CustomerFactory(currency="CNY")
    rows = [
        InvoiceFactory(customer=customer, due_date=date(2026, 6, 10), amount=Decimal("5.00")),
        InvoiceFactory(customer=customer, due_date=date(2026, 6, 11), amount=Decimal("5.00")),
        InvoiceFactory(customer=customer, due_date=date(2026, 6, 1), amount=Decimal("0.99")),
    ]
    as_of = date(2026, 6, 11)
    overdue = set(
        Invoice.objects.filter(customer=customer)
        .filter(overdue_q(as_of=as_of))
        .values_list("number", flat=True)
    )
    assert overdue == {
        invoice.number
        for invoice in rows
        if is_overdue(due_date=invoice.due_date, open_amount=invoice.outstanding, as_of=as_of)
    }
    assert overdue == {rows[0].number}


@given(days=st.integers(min_value=-400, max_value=400))
def test_every_day_past_due_falls_in_exactly_the_bucket_whose_bounds_hold_it(days):
    as_of = date(2026, 6, 30)
    due = as_of - timedelta(days=days)
    holding = []
    for bucket in BUCKETS:
        earliest, latest = bucket_bounds(bucket, as_of=as_of)
        if (earliest is None or due >= earliest) and (latest is None or due <= latest):
            holding.append(bucket)
    assert holding == [bucket_of(days=days)]


# --- Property: today's as-of figure is the stored one ------------------------------------

amounts = st.integers(min_value=1, max_value=5_000_00).map(lambda cents: Decimal(cents) / 100)
# Days from START; beyond TODAY (day 180) a payment or credit note is in the future.
days = st.integers(min_value=0, max_value=200)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), amounts, st.integers(0, 170), st.integers(0, 60)),
        st.tuples(st.just("pay"), amounts, days),
        st.tuples(st.just("reverse"), st.integers(0, 20)),
        st.tuples(st.just("credit"), st.integers(0, 20), amounts, days),
        st.tuples(st.just("agree"), st.integers(0, 20), st.integers(1, 99)),
    ),
    min_size=1,
    max_size=10,
)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _pick(items: list, index: int):
    return items[index % len(items)] if items else None


def _agree(*, customer, invoice, share: int, proposer, approver) -> None:
    owed = invoice.outstanding
    first = money_quantize(owed * share / 100)
    schedule = [
        InstalmentInput(due_date=TODAY + timedelta(days=15), amount=first),
        InstalmentInput(due_date=TODAY + timedelta(days=45), amount=owed - first),
    ]
    agreement = agreement_propose(
        customer=customer,
        invoices=[invoice],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[item for item in schedule if item.amount > 0],
        reason="cash flow",
        actor=proposer,
        as_of=TODAY,
    )
    agreement_approve(agreement=agreement, actor=approver, as_of=TODAY)


def _check(customer) -> None:
    invoices = list(Invoice.objects.filter(customer=customer))
    sql = dict(invoices_as_of(as_of=TODAY).values_list("pk", "open_amount"))
    for invoice in invoices:
        if invoice.status == Invoice.Status.CANCELLED:
            continue
        assert money_quantize(sql[invoice.pk]) == invoice.outstanding
        assert invoice_open_amount_on(invoice=invoice, as_of=TODAY) == invoice.outstanding
    report = ageing_report(as_of=TODAY, currency=customer.currency, customer=customer)
    assert report.totals["total"] == money_quantize(
        sum((invoice.outstanding for invoice in invoices), Decimal(0))
    )
    instalments = AgreementInstalment.objects.filter(agreement__customer=customer)
    as_of_today = dict(
        instalments_as_of(as_of=TODAY, queryset=instalments).values_list("pk", "open_amount")
    )
    stored = dict(
        instalments_as_of(as_of=None, queryset=instalments).values_list("pk", "open_amount")
    )
    for agreement in SupplementaryAgreement.objects.filter(
        customer=customer, status=SupplementaryAgreement.Status.APPROVED
    ):
        for pk, position in agreement_instalment_positions(
            agreement=agreement, as_of=TODAY
        ).items():
            assert money_quantize(as_of_today[pk]) == position.outstanding
            assert money_quantize(stored[pk]) == position.outstanding


@pytest.fixture
def people():
    """Customer and two managers for all examples of a test; each example is rolled back."""
    ensure_default_policy()
    return CustomerFactory(currency="CNY"), ManagerFactory(), ManagerFactory()


@EXAMPLES
@given(ops=operations)
@time_machine.travel(NOW, tick=False)
def test_as_of_today_equals_stored_outstanding_after_any_sequence(people, ops):
    customer, proposer, approver = people
    with transaction.atomic():
        invoices: list[Invoice] = []
        payments: list[Payment] = []
        for number, op in enumerate(ops):
            kind = op[0]
            try:
                with transaction.atomic():
                    if kind == "issue":
                        _kind, amount, day, terms = op
                        invoices.append(
                            invoice_issue(
                                customer=customer,
                                number=f"B-{number}",
                                issue_date=START + timedelta(days=day),
                                due_date=START + timedelta(days=day + terms),
                                amount=amount,
                                currency="CNY",
                                actor=None,
                                check_credit=False,
                            )
                        )
                    elif kind == "pay":
                        _kind, amount, day = op
                        payments.append(
                            payment_record(
                                customer=customer,
                                payment_date=START + timedelta(days=day),
                                amount=amount,
                                currency="CNY",
                                reference=f"R-{number}",
                                actor=None,
                            )
                        )
                    elif kind == "reverse" and payments:
                        payment_reverse(payment=_pick(payments, op[1]), reason="test", actor=None)
                    elif kind == "credit" and invoices:
                        _kind, index, amount, day = op
                        invoice = _pick(invoices, index)
                        credit_note_issue(
                            invoice=invoice,
                            number=f"BCN-{number}",
                            amount=amount,
                            issue_date=invoice.issue_date + timedelta(days=day),
                            reason="test",
                            actor=None,
                        )
                    elif kind == "agree" and invoices:
                        invoice = Invoice.objects.get(pk=_pick(invoices, op[1]).pk)
                        _agree(
                            customer=customer,
                            invoice=invoice,
                            share=op[2],
                            proposer=proposer,
                            approver=approver,
                        )
            except BusinessRuleError:
                pass
            _check(customer)
        transaction.set_rollback(True)


# --- Property: the SQL and Python instalment balances agree --------------------------------


@EXAMPLES
@given(
    instalment_cents=st.lists(st.integers(1, 1_000_00), min_size=1, max_size=5),
    paid_cents=st.lists(st.integers(1, 2_000_00), max_size=5),
)
def test_sql_and_python_instalment_balances_agree(people, instalment_cents, paid_cents):
    customer, _proposer, _approver = people
    plan = [Decimal(cents) / 100 for cents in instalment_cents]
    with transaction.atomic():
        invoice = InvoiceFactory(
            customer=customer,
            amount=sum(plan, Decimal(0)),
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
        )
        agreement = SupplementaryAgreement.objects.create(
            customer=customer,
            number="SA-PROP",
            kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
            status=SupplementaryAgreement.Status.APPROVED,
        )
        agreement.invoices.add(invoice)
        for sequence, amount in enumerate(plan, start=1):
            AgreementInstalment.objects.create(
                agreement=agreement,
                sequence=sequence,
                due_date=date(2026, 2, 1) + timedelta(days=30 * sequence),
                amount=amount,
            )
        instalments_refresh(agreement_ids=[agreement.pk])  # as agreement_propose does
        paid = Decimal(0)
        for day, cents in enumerate(paid_cents, start=1):
            amount = min(Decimal(cents) / 100, invoice.amount - paid)
            if amount <= 0:
                break
            payment_record(
                customer=customer,
                payment_date=date(2026, 2, 1) + timedelta(days=10 * day),
                amount=amount,
                currency=customer.currency,
                reference=f"P-{day}",
                actor=None,
                allocations=[(invoice, amount)],
            )
            paid += amount
        for as_of in (date(2026, 2, 1), date(2026, 2, 25), date(2026, 3, 30), TODAY):
            sql = list(
                instalments_as_of(as_of=as_of, queryset=agreement.instalments.all())
                .order_by("sequence")
                .values_list("open_amount", flat=True)
            )
            positions = agreement_instalment_positions(agreement=agreement, as_of=as_of)
            python = [
                positions[pk].outstanding
                for pk in agreement.instalments.order_by("sequence").values_list("pk", flat=True)
            ]
            remaining = invoice_open_amount_on(invoice=invoice, as_of=as_of)
            assert [money_quantize(value) for value in sql] == python
            assert python == instalment_open_amounts(amounts=plan, remaining=remaining)
            # The plan is paid first instalment first, and never below zero.
            assert sum(python, Decimal(0)) == remaining
        # Today's figures, stored by the payments' balance listener, follow the same rule.
        invoice.refresh_from_db()
        stored = list(
            instalments_as_of(as_of=None, queryset=agreement.instalments.all())
            .order_by("sequence")
            .values_list("open_amount", "outstanding", "currency_value")
        )
        assert [row[0] for row in stored] == [row[1] for row in stored]
        assert [money_quantize(row[1]) for row in stored] == instalment_open_amounts(
            amounts=plan, remaining=invoice.outstanding
        )
        assert {row[2] for row in stored} == {invoice.currency}
        transaction.set_rollback(True)
