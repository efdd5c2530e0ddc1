"""Supplementary agreements: proposed by the rep, approved by another manager, dunned anew."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import agreement_instalment_positions
from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionCase, DunningStep, LevelCode
from dunning.selectors import instalment_late_fee
from dunning.services.agreements import (
    InstalmentInput,
    LateFeeTermsInput,
    agreement_approve,
    agreement_propose,
    agreement_reject,
)
from dunning.services.disputes import dispute_open
from dunning.services.run import run_dunning
from tests.factories.cases import (
    CollectionCaseFactory,
    ContractFactory,
    invoice_under_contract,
    overdue_invoice,
    pay_invoice,
)
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
def manager():
    return ManagerFactory()


@pytest.fixture
def customer(rep):
    customer = CustomerFactory(sales_rep=rep, language="en")
    ContactFactory(customer=customer)
    return customer


@pytest.fixture
def contract(customer):
    return ContractFactory(customer=customer, number="HT-CASH-1")


@pytest.fixture
def invoices(contract):
    return [
        invoice_under_contract(
            contract=contract,
            number="INV-A",
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
            amount=Decimal("6000.00"),
        ),
        invoice_under_contract(
            contract=contract,
            number="INV-B",
            issue_date=date(2026, 1, 10),
            due_date=date(2026, 2, 9),
            amount=Decimal("4000.00"),
        ),
    ]


def plan(*amounts_and_dates):
    return [
        InstalmentInput(due_date=day, amount=Decimal(amount)) for amount, day in amounts_and_dates
    ]


THREE = plan(
    ("3000.00", date(2026, 3, 31)),
    ("3000.00", date(2026, 4, 30)),
    ("4000.00", date(2026, 5, 31)),
)


def propose(customer, invoices, actor, *, kind="instalment_plan", instalments=THREE, **extra):
    return agreement_propose(
        customer=customer,
        invoices=invoices,
        kind=kind,
        instalments=instalments,
        reason="Customer waits for a large receivable of its own",
        actor=actor,
        as_of=AS_OF,
        **extra,
    )


def test_rep_proposes_an_instalment_plan_against_the_contract(customer, invoices, rep, contract):
    case = CollectionCaseFactory(customer=customer, owner=rep)

    agreement = propose(
        customer,
        invoices,
        rep,
        terms=LateFeeTermsInput(rate_percent=Decimal("0.03"), grace_days=5),
    )

    assert agreement.status == SupplementaryAgreement.Status.PROPOSED
    assert agreement.contract == contract
    assert agreement.proposed_by == rep
    assert agreement.number == f"SA-{customer.code}-01"
    assert agreement.late_fee_rate_percent == Decimal("0.03")
    assert agreement.late_fee_grace_days == 5
    assert set(agreement.invoices.all()) == set(invoices)
    assert [(i.sequence, i.due_date, i.amount) for i in agreement.instalments.all()] == [
        (1, date(2026, 3, 31), Decimal("3000.00")),
        (2, date(2026, 4, 30), Decimal("3000.00")),
        (3, date(2026, 5, 31), Decimal("4000.00")),
    ]
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.AGREEMENT_PROPOSED)
    assert event.actor == rep
    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.CASH_FLOW


def test_instalments_must_sum_exactly_to_the_outstanding(customer, invoices, rep):
    with pytest.raises(BusinessRuleError, match=r"add up to 9,999\.99 .* still owe 10,000\.00"):
        propose(
            customer,
            invoices,
            rep,
            instalments=plan(("5000.00", date(2026, 3, 31)), ("4999.99", date(2026, 4, 30))),
        )

    assert not SupplementaryAgreement.objects.exists()
    assert not AgreementInstalment.objects.exists()
    assert not CaseEvent.objects.exists()


def test_the_sum_is_checked_against_what_is_still_owed(customer, invoices, rep):
    pay_invoice(invoice=invoices[0], amount="1000.00", on=date(2026, 2, 20))

    agreement = propose(
        customer,
        invoices,
        rep,
        instalments=plan(("4500.00", date(2026, 3, 31)), ("4500.00", date(2026, 4, 30))),
    )

    assert agreement.instalments.count() == 2


@pytest.mark.parametrize(
    ("kind", "instalments", "message"),
    [
        ("instalment_plan", plan(("10000.00", date(2026, 3, 31))), "at least two"),
        (
            "extension",
            plan(("5000.00", date(2026, 3, 31)), ("5000.00", date(2026, 4, 30))),
            "exactly one",
        ),
        ("extension", plan(("10000.00", AS_OF)), "after today"),
        (
            "instalment_plan",
            plan(("5000.00", date(2026, 4, 30)), ("5000.00", date(2026, 3, 31))),
            "after instalment 1",
        ),
        (
            "instalment_plan",
            plan(("10000.00", date(2026, 3, 31)), ("0.00", date(2026, 4, 30))),
            "must be positive",
        ),
        ("barter", plan(("10000.00", date(2026, 3, 31))), "instalment plan or an extension"),
        ("extension", [], "at least one new due date"),
    ],
)
def test_bad_schedules_are_refused(customer, invoices, rep, kind, instalments, message):
    with pytest.raises(BusinessRuleError, match=message):
        propose(customer, invoices, rep, kind=kind, instalments=instalments)

    assert not SupplementaryAgreement.objects.exists()


def test_an_extension_moves_the_due_date(customer, invoices, rep):
    agreement = propose(
        customer, invoices, rep, kind="extension", instalments=plan(("10000.00", date(2026, 4, 15)))
    )

    assert agreement.kind == SupplementaryAgreement.Kind.EXTENSION
    assert agreement.instalments.get().due_date == date(2026, 4, 15)


def test_items_not_overdue_are_refused(customer, rep):
    not_due = overdue_invoice(customer=customer, due=AS_OF, amount="10000.00")

    with pytest.raises(BusinessRuleError, match="not overdue"):
        propose(customer, [not_due], rep)


def test_items_already_covered_are_refused(customer, invoices, rep):
    propose(customer, invoices, rep)

    with pytest.raises(BusinessRuleError, match="already covered by agreement"):
        propose(customer, invoices, rep)

    assert SupplementaryAgreement.objects.count() == 1


def test_items_of_another_customer_are_refused(customer, rep):
    stranger = overdue_invoice(customer=CustomerFactory(), due=date(2026, 1, 31))

    with pytest.raises(BusinessRuleError, match="belongs to another customer"):
        propose(customer, [stranger], rep, kind="extension", instalments=THREE[:1])


def test_disputed_items_must_be_resolved_first(customer, invoices, rep):
    dispute_open(customer=customer, invoices=invoices[:1], reason="Broken", actor=rep, as_of=AS_OF)

    with pytest.raises(BusinessRuleError, match="resolve the dispute first"):
        propose(customer, invoices, rep)


def test_items_of_two_contracts_need_two_agreements(customer, invoices, rep):
    other = invoice_under_contract(
        contract=ContractFactory(customer=customer),
        due_date=date(2026, 1, 31),
        issue_date=date(2026, 1, 1),
    )

    with pytest.raises(BusinessRuleError, match="one agreement per contract"):
        propose(customer, [*invoices, other], rep)


def test_another_rep_cannot_propose(customer, invoices):
    with pytest.raises(BusinessRuleError, match="cannot work on this customer"):
        propose(customer, invoices, SalesRepFactory())


def test_bad_late_fee_terms_are_refused(customer, invoices, rep):
    with pytest.raises(BusinessRuleError, match="between 0 and 1"):
        propose(customer, invoices, rep, terms=LateFeeTermsInput(rate_percent=Decimal("5")))
    with pytest.raises(BusinessRuleError, match="per day or per year"):
        propose(customer, invoices, rep, terms=LateFeeTermsInput(rate_period="week"))


# --- Decision ----------------------------------------------------------------


def test_a_manager_approves_and_the_ladder_runs_on_the_instalments(
    customer, invoices, rep, manager
):
    agreement = propose(customer, invoices, rep)

    agreement_approve(agreement=agreement, actor=manager, as_of=AS_OF, comment="Good payer")

    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.APPROVED
    assert agreement.decided_by == manager
    assert agreement.decided_at is not None
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.AGREEMENT_APPROVED)
    assert event.actor == manager
    assert "HT-CASH-1" in event.summary

    # The replaced invoices are no longer dunned; the first instalment is, when late
    run_dunning(as_of=AS_OF)
    assert not DunningStep.objects.filter(invoice__in=invoices).exists()
    run_dunning(as_of=date(2026, 4, 1))
    first = agreement.instalments.get(sequence=1)
    step = DunningStep.objects.get(instalment=first, level=LevelCode.REMINDER)
    assert step.item_label == "INV-A#1"
    assert not DunningStep.objects.filter(invoice__in=invoices).exists()


def test_payments_settle_the_instalments_in_order_with_their_own_late_fee(
    customer, invoices, rep, manager
):
    agreement = propose(
        customer,
        invoices,
        rep,
        terms=LateFeeTermsInput(rate_percent=Decimal("0.10")),
    )
    agreement_approve(agreement=agreement, actor=manager, as_of=AS_OF)
    pay_invoice(invoice=invoices[1], amount="1000.00", on=date(2026, 4, 5))

    positions = agreement_instalment_positions(agreement=agreement, as_of=date(2026, 4, 10))

    first, second, third = agreement.instalments.order_by("sequence")
    assert positions[first.pk].outstanding == Decimal("2000.00")
    assert positions[second.pk].outstanding == Decimal("3000.00")
    assert positions[third.pk].outstanding == Decimal("4000.00")
    # 0.10 %/day: 5 days (04-01..04-05) on 3,000.00 + 5 days (04-06..04-10) on 2,000.00
    assert instalment_late_fee(instalment=first, as_of=date(2026, 4, 10)) == Decimal("25.00")


def test_the_proposer_cannot_approve_even_as_a_manager(customer, invoices, manager):
    agreement = propose(customer, invoices, manager)

    with pytest.raises(BusinessRuleError, match="another manager must decide"):
        agreement_approve(agreement=agreement, actor=manager, as_of=AS_OF)
    with pytest.raises(BusinessRuleError, match="another manager must decide"):
        agreement_reject(agreement=agreement, actor=manager, comment="no")

    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.PROPOSED
    assert agreement.decided_by is None


@pytest.mark.parametrize("role", ["rep", "finance"])
def test_only_managers_decide(customer, invoices, rep, role):
    agreement = propose(customer, invoices, rep)
    actor = rep if role == "rep" else FinanceUserFactory()

    with pytest.raises(BusinessRuleError, match="Only a manager"):
        agreement_approve(agreement=agreement, actor=actor, as_of=AS_OF)

    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.PROPOSED
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.AGREEMENT_APPROVED).exists()


def test_a_payment_since_the_proposal_blocks_approval(customer, invoices, rep, manager):
    agreement = propose(customer, invoices, rep)
    pay_invoice(invoice=invoices[0], amount="500.00", on=AS_OF)

    with pytest.raises(BusinessRuleError, match=r"changed to 9,500\.00"):
        agreement_approve(agreement=agreement, actor=manager, as_of=AS_OF)

    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.PROPOSED


def test_a_plan_whose_first_date_passed_cannot_be_approved(customer, invoices, rep, manager):
    agreement = propose(customer, invoices, rep)

    with pytest.raises(BusinessRuleError, match="has passed"):
        agreement_approve(agreement=agreement, actor=manager, as_of=date(2026, 3, 31))


def test_a_manager_rejects_with_a_reason_and_dunning_goes_on(customer, invoices, rep, manager):
    agreement = propose(customer, invoices, rep)

    with pytest.raises(BusinessRuleError, match="Say why"):
        agreement_reject(agreement=agreement, actor=manager, comment=" ")
    agreement_reject(agreement=agreement, actor=manager, comment="Ask for a deposit first")

    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.REJECTED
    assert agreement.decision_comment == "Ask for a deposit first"
    with pytest.raises(BusinessRuleError, match="not waiting for a decision"):
        agreement_approve(agreement=agreement, actor=manager, as_of=AS_OF)
    run_dunning(as_of=AS_OF + timedelta(days=1))
    assert DunningStep.objects.filter(invoice__in=invoices).exists()
    # and the invoices may be proposed again
    assert propose(customer, invoices, rep).status == SupplementaryAgreement.Status.PROPOSED
