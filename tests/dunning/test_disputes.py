"""Disputes pause the ladder for their items until finance resolves them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionCase, Dispute, DunningStep, LevelCode
from dunning.services.disputes import dispute_open, dispute_reject, dispute_resolve_valid
from dunning.services.run import run_dunning
from receivables.models import CreditNote, Invoice
from tests.factories.cases import CollectionCaseFactory, overdue_invoice, pay_invoice
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


AS_OF = date(2026, 3, 2)


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def customer(rep):
    customer = CustomerFactory(sales_rep=rep, language="en")
    ContactFactory(customer=customer)
    return customer


@pytest.fixture
def finance():
    return FinanceUserFactory()


def test_rep_opens_a_dispute_on_the_customers_invoices(customer, rep):
    # Given an open case with an unknown reason
    case = CollectionCaseFactory(customer=customer, owner=rep)
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))

    # When the rep records the dispute
    dispute = dispute_open(
        customer=customer,
        invoices=[invoice],
        reason="Two pallets arrived broken",
        actor=rep,
        as_of=AS_OF,
    )

    # Then it is open on the invoice, on the case, and on the timeline
    assert dispute.status == Dispute.Status.OPEN
    assert list(dispute.invoices.all()) == [invoice]
    assert dispute.case == case
    assert dispute.opened_by == rep
    assert dispute.opened_on == AS_OF
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.DISPUTE_OPENED)
    assert event.actor == rep
    assert event.data["invoices"] == [invoice.number]
    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.DISPUTE


def test_a_dispute_on_another_customers_invoice_is_refused(customer, rep):
    stranger = overdue_invoice(customer=CustomerFactory(), due=date(2026, 2, 1))

    with pytest.raises(BusinessRuleError, match="belongs to another customer"):
        dispute_open(customer=customer, invoices=[stranger], reason="x", actor=rep, as_of=AS_OF)

    assert not Dispute.objects.exists()
    assert not CaseEvent.objects.exists()


def test_another_rep_cannot_open_a_dispute(customer):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))

    with pytest.raises(BusinessRuleError, match="cannot work on this customer"):
        dispute_open(
            customer=customer,
            invoices=[invoice],
            reason="x",
            actor=SalesRepFactory(),
            as_of=AS_OF,
        )

    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("setup", "reason", "message"),
    [
        ("none", "Broken", "Choose the invoices"),
        ("ok", "  ", "Say what the customer disputes"),
        ("paid", "Broken", "nothing left to dispute"),
        ("disputed", "Broken", "already in an open dispute"),
    ],
)
def test_bad_disputes_are_refused(customer, rep, setup, reason, message):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    if setup == "paid":
        pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 2, 20))
    if setup == "disputed":
        dispute_open(customer=customer, invoices=[invoice], reason="First", actor=rep, as_of=AS_OF)
    before = Dispute.objects.count()

    with pytest.raises(BusinessRuleError, match=message):
        dispute_open(
            customer=customer,
            invoices=[] if setup == "none" else [invoice],
            reason=reason,
            actor=rep,
            as_of=AS_OF,
        )

    assert Dispute.objects.count() == before


def test_finance_accepts_a_dispute_with_a_credit_note(customer, rep, finance):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1), amount="1000.00")
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Broken", actor=rep, as_of=AS_OF
    )

    # When finance accepts it, crediting 300.00
    dispute_resolve_valid(
        dispute=dispute,
        note="Two of ten units damaged, photos checked",
        credits=[(invoice, Decimal("300.00"))],
        credit_note_number="CN-2026-001",
        actor=finance,
        as_of=AS_OF,
    )

    # Then the credit note lowers the invoice, the dispute is resolved valid
    credit = CreditNote.objects.get(number="CN-2026-001")
    assert credit.invoice == invoice
    assert credit.amount == Decimal("300.00")
    assert credit.issue_date == AS_OF
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("700.00")
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.VALID
    assert dispute.resolved_by == finance
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.DISPUTE_RESOLVED)
    assert event.actor == finance
    assert event.data["credit_notes"] == ["CN-2026-001"]


def test_accepting_a_dispute_over_two_invoices_numbers_the_credit_notes(customer, rep, finance):
    first = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    second = overdue_invoice(customer=customer, due=date(2026, 2, 5))
    dispute = dispute_open(
        customer=customer, invoices=[first, second], reason="Wrong price", actor=rep, as_of=AS_OF
    )

    dispute_resolve_valid(
        dispute=dispute,
        note="Price list of 2025 applied by mistake",
        credits=[(first, Decimal("100.00")), (second, Decimal("1000.00"))],
        credit_note_number="CN-7",
        actor=finance,
        as_of=AS_OF,
    )

    assert set(CreditNote.objects.values_list("number", flat=True)) == {"CN-7", "CN-7-2"}
    second.refresh_from_db()
    assert second.status == Invoice.Status.PAID  # credited in full


def test_accepting_without_credit_needs_the_correction_noted(customer, rep, finance):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Wrong PO", actor=rep, as_of=AS_OF
    )

    with pytest.raises(BusinessRuleError, match="how the dispute was settled"):
        dispute_resolve_valid(dispute=dispute, note="", actor=finance, as_of=AS_OF)

    dispute_resolve_valid(
        dispute=dispute, note="Corrected invoice issued with PO 778", actor=finance, as_of=AS_OF
    )
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.VALID
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    ("credit", "number", "message"),
    [
        (Decimal("1000.01"), "CN-1", "more than the open amount"),
        (Decimal("100.00"), "", "Give the credit note a number"),
        (Decimal("-5.00"), "CN-1", "must be positive"),
    ],
)
def test_a_bad_credit_writes_nothing(customer, rep, finance, credit, number, message):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1), amount="1000.00")
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Broken", actor=rep, as_of=AS_OF
    )

    with pytest.raises(BusinessRuleError, match=message):
        dispute_resolve_valid(
            dispute=dispute,
            note="Accepted",
            credits=[(invoice, credit)],
            credit_note_number=number,
            actor=finance,
            as_of=AS_OF,
        )

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert not CreditNote.objects.exists()
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.DISPUTE_RESOLVED).exists()


def test_a_credit_on_an_invoice_outside_the_dispute_is_refused(customer, rep, finance):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    other = overdue_invoice(customer=customer, due=date(2026, 2, 2))
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Broken", actor=rep, as_of=AS_OF
    )

    with pytest.raises(BusinessRuleError, match="not part of this dispute"):
        dispute_resolve_valid(
            dispute=dispute,
            note="x",
            credits=[(other, Decimal("1.00"))],
            credit_note_number="CN-1",
            actor=finance,
            as_of=AS_OF,
        )

    assert not CreditNote.objects.exists()


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_finance_resolves_disputes(customer, rep, role):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Broken", actor=rep, as_of=AS_OF
    )
    actor = rep if role == "rep" else ManagerFactory()

    with pytest.raises(BusinessRuleError, match="Only finance"):
        dispute_reject(dispute=dispute, evidence="Signed delivery note", actor=actor, as_of=AS_OF)
    with pytest.raises(BusinessRuleError, match="Only finance"):
        dispute_resolve_valid(dispute=dispute, note="ok", actor=actor, as_of=AS_OF)

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


def test_rejection_needs_evidence_and_cannot_happen_twice(customer, rep, finance):
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="Broken", actor=rep, as_of=AS_OF
    )

    with pytest.raises(BusinessRuleError, match="evidence"):
        dispute_reject(dispute=dispute, evidence=" ", actor=finance, as_of=AS_OF)

    dispute_reject(
        dispute=dispute,
        evidence="Delivery note signed without reservation",
        actor=finance,
        as_of=AS_OF,
    )
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.REJECTED
    assert "without reservation" in dispute.resolution_note

    with pytest.raises(BusinessRuleError, match="already resolved"):
        dispute_reject(dispute=dispute, evidence="again", actor=finance, as_of=AS_OF)


def test_a_dispute_pauses_only_its_items_and_a_rejection_resumes_the_ladder(customer, rep, finance):
    # Given two invoices due the same day, one disputed
    disputed = overdue_invoice(customer=customer, due=AS_OF - timedelta(days=1))
    other = overdue_invoice(customer=customer, due=AS_OF - timedelta(days=1))
    dispute = dispute_open(
        customer=customer, invoices=[disputed], reason="Broken", actor=rep, as_of=AS_OF
    )

    # When the run goes, only the undisputed invoice gets its reminder
    run_dunning(as_of=AS_OF)
    assert DunningStep.objects.filter(invoice=other, level=LevelCode.REMINDER).exists()
    assert not DunningStep.objects.filter(invoice=disputed).exists()

    # When finance rejects the dispute, the next run reminds about it too
    dispute_reject(dispute=dispute, evidence="Signed delivery", actor=finance, as_of=AS_OF)
    run_dunning(as_of=AS_OF + timedelta(days=1))
    assert DunningStep.objects.filter(invoice=disputed, level=LevelCode.REMINDER).exists()
