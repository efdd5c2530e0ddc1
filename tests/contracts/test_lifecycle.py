from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from contracts.models import Contract, PaymentMilestone
from contracts.services import (
    MilestoneData,
    contract_activate,
    contract_clause_problems,
    contract_close,
    contract_create,
    contract_review,
    contract_submit_for_review,
    contract_terms_approve,
    contract_update,
    delivery_record_create,
    milestone_invoice_issue,
)
from core.exceptions import BusinessRuleError
from receivables.models import CreditOverride, Customer, Invoice
from receivables.services.payments import payment_record
from tests.contracts.conftest import SIGNED, TODAY, contract_data
from tests.factories.contracts import ContractFactory, milestones_30_60_10, pdf_upload
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

T = PaymentMilestone.Trigger


def _nothing_written() -> None:
    assert Contract.objects.count() == 0
    assert PaymentMilestone.objects.count() == 0


def _last_change(contract: Contract):
    return contract.history.order_by("-history_date", "-pk").first()


# --- Drafting -----------------------------------------------------------------


def test_rep_drafts_contract_with_milestones_for_own_customer(rep, customer):
    contract = contract_create(
        actor=rep, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )

    contract.refresh_from_db()
    assert contract.status == Contract.Status.DRAFT
    assert contract.created_by == rep
    assert contract.amount == Decimal("100000.00")
    milestones = list(contract.milestones.order_by("sequence"))
    assert [(m.sequence, m.percent, m.trigger) for m in milestones] == [
        (1, Decimal("30.00"), T.SIGNING),
        (2, Decimal("60.00"), T.DELIVERY),
        (3, Decimal("10.00"), T.ACCEPTANCE),
    ]
    assert all(m.trigger_date is None and m.due_date is None for m in milestones)
    assert _last_change(contract).history_user == rep


def test_finance_drafts_for_any_customer(finance, customer):
    contract = contract_create(
        actor=finance, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )

    assert contract.created_by == finance


@pytest.mark.parametrize("user_factory", [SalesRepFactory, ManagerFactory])
def test_others_may_not_draft_for_the_customer(customer, user_factory):
    with pytest.raises(PermissionDenied):
        contract_create(
            actor=user_factory(),
            customer=customer,
            data=contract_data(),
            milestones=milestones_30_60_10(),
        )

    _nothing_written()


def _milestones(*percents: str, trigger: str = T.SIGNING, **extra) -> list[MilestoneData]:
    return [
        MilestoneData(description=f"Part {i}", percent=Decimal(p), trigger=trigger, **extra)
        for i, p in enumerate(percents, start=1)
    ]


@pytest.mark.parametrize(
    ("data", "milestones", "field", "message"),
    [
        ({"amount": Decimal("0")}, None, "amount", "greater than zero"),
        ({"amount": Decimal("-5.00")}, None, "amount", "greater than zero"),
        ({"amount": Decimal("10.001")}, None, "amount", "two decimals"),
        ({"currency": "XYZ"}, None, "currency", "Unknown currency"),
        ({"currency": "USD"}, None, "currency", "billed in CNY"),
        ({"number": "  "}, None, "number", "number"),
        ({"payment_type": "barter"}, None, "payment_type", "payment type"),
        ({"credit_terms_days": 400}, None, "credit_terms_days", "365"),
        (
            {"start_date": date(2026, 5, 1), "end_date": date(2026, 4, 1)},
            None,
            "end_date",
            "ends before",
        ),
        ({"late_fee_rate_percent": Decimal("-1")}, None, "late_fee_rate_percent", "between"),
        ({"late_fee_cap_percent": Decimal("150")}, None, "late_fee_cap_percent", "between"),
        ({}, [], "milestones", "Add the payment milestones"),
        ({}, _milestones("30", "60"), "milestones", "add up to 90.00 %"),
        ({}, _milestones("50", "60"), "milestones", "add up to 110.00 %"),
        ({}, _milestones("0", "100"), "milestones", "more than 0"),
        ({}, _milestones("33.333", "66.667"), "milestones", "two decimal places"),
        ({}, _milestones("100", trigger="someday"), "milestones", "unknown trigger"),
        ({}, _milestones("100", trigger=T.FIXED_DATE), "milestones", "needs its date"),
        (
            {},
            _milestones("100", fixed_date=date(2026, 6, 1)),
            "milestones",
            "only a fixed-date milestone",
        ),
        ({}, _milestones("100", offset_days=-1), "milestones", "offset"),
        (
            {"amount": Decimal("0.01")},
            _milestones("50", "50"),
            "milestones",
            "comes to 0.00",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_written(
    rep, customer, data, milestones, field, message
):
    with pytest.raises(BusinessRuleError) as refused:
        contract_create(
            actor=rep,
            customer=customer,
            data=contract_data(**data),
            milestones=milestones_30_60_10() if milestones is None else milestones,
        )

    assert refused.value.field == field
    assert message in refused.value.message
    _nothing_written()


def test_a_contract_number_is_used_once(rep, customer, draft):
    with pytest.raises(BusinessRuleError, match="already used") as refused:
        contract_create(
            actor=rep,
            customer=customer,
            data=contract_data(number=draft.number),
            milestones=milestones_30_60_10(),
        )

    assert refused.value.field == "number"
    assert Contract.objects.count() == 1


def test_currency_code_is_normalised(rep, customer):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(currency=" cny "),
        milestones=milestones_30_60_10(),
    )

    assert contract.currency == "CNY"


def test_update_replaces_terms_and_milestones_in_place(draft, rep):
    first_pk = draft.milestones.get(sequence=1).pk

    contract_update(
        contract=draft,
        actor=rep,
        data=contract_data(amount=Decimal("80000.00"), title="Changed"),
        milestones=_milestones("40", "60"),
    )

    draft.refresh_from_db()
    assert draft.amount == Decimal("80000.00")
    assert draft.title == "Changed"
    assert list(draft.milestones.values_list("sequence", "percent")) == [
        (1, Decimal("40.00")),
        (2, Decimal("60.00")),
    ]
    assert draft.milestones.get(sequence=1).pk == first_pk
    assert PaymentMilestone.history.filter(history_type="-").count() == 1


def test_bad_update_changes_nothing(draft, rep):
    with pytest.raises(BusinessRuleError, match=r"90\.00 %"):
        contract_update(
            contract=draft,
            actor=rep,
            data=contract_data(amount=Decimal("5.00")),
            milestones=_milestones("30", "60"),
        )

    draft.refresh_from_db()
    assert draft.amount == Decimal("100000.00")
    assert draft.milestones.count() == 3


def test_update_keeps_its_own_number(draft, rep):
    contract_update(
        contract=draft, actor=rep, data=contract_data(), milestones=milestones_30_60_10()
    )

    assert Contract.objects.get().number == "HT-2026-001"


@pytest.mark.parametrize("fixture", ["in_review", "approved", "active"])
def test_only_a_draft_is_updated(request, fixture, finance):
    contract = request.getfixturevalue(fixture)

    with pytest.raises(BusinessRuleError, match="Only a draft"):
        contract_update(
            contract=contract, actor=finance, data=contract_data(title="x"), milestones=[]
        )


def test_another_rep_may_not_update(draft):
    with pytest.raises(PermissionDenied):
        contract_update(
            contract=draft,
            actor=SalesRepFactory(),
            data=contract_data(),
            milestones=milestones_30_60_10(),
        )


# --- Submission ---------------------------------------------------------------


def test_submit_sends_the_draft_to_review(draft, rep):
    contract = contract_submit_for_review(contract=draft, actor=rep)

    assert contract.status == Contract.Status.IN_REVIEW
    change = _last_change(contract)
    assert change.history_user == rep
    assert change.history_change_reason == "submitted for review"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payee_bank_account", "", "payee bank account"),
        ("payee_account_name", "", "payee account holder"),
        ("payee_bank_name", "", "payee bank"),
        ("dispute_resolution_clause", "", "dispute-resolution clause"),
        ("late_fee_rate_percent", None, "late-fee clause"),
    ],
)
def test_submission_needs_complete_payment_clauses(rep, customer, field, value, message):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(**{field: value}),
        milestones=milestones_30_60_10(),
    )

    with pytest.raises(BusinessRuleError, match=message):
        contract_submit_for_review(contract=contract, actor=rep)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.DRAFT


def test_explicitly_no_late_fee_is_a_complete_clause(rep, customer):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(late_fee_rate_percent=Decimal("0"), late_fee_cap_percent=None),
        milestones=milestones_30_60_10(),
    )

    assert contract_submit_for_review(contract=contract, actor=rep).status == "in_review"


def test_credit_terms_contract_needs_days(rep, customer):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(payment_type=Contract.PaymentType.CREDIT_TERMS, credit_terms_days=0),
        milestones=milestones_30_60_10(),
    )

    with pytest.raises(BusinessRuleError, match="number of days"):
        contract_submit_for_review(contract=contract, actor=rep)


def test_submission_refuses_milestones_not_adding_to_100(rep, customer):
    contract = ContractFactory(customer=customer)
    PaymentMilestone.objects.create(
        contract=contract,
        sequence=1,
        description="Only part",
        percent=Decimal("70"),
        trigger=T.SIGNING,
    )

    with pytest.raises(BusinessRuleError, match=r"70\.00 %"):
        contract_submit_for_review(contract=contract, actor=rep)


def test_submitting_twice_is_refused(in_review, rep):
    with pytest.raises(BusinessRuleError, match="Only a draft can be submitted"):
        contract_submit_for_review(contract=in_review, actor=rep)


# --- Review -------------------------------------------------------------------


def test_finance_approves_a_contract_in_review(in_review, finance):
    contract = contract_review(contract=in_review, actor=finance, approve=True, comment="OK")

    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    assert contract.reviewed_by == finance
    assert contract.reviewed_at is not None
    assert contract.review_comment == "OK"
    assert _last_change(contract).history_user == finance


def test_finance_sends_a_contract_back_with_a_comment(in_review, finance, rep):
    contract = contract_review(
        contract=in_review, actor=finance, approve=False, comment="Arbitration seat missing."
    )

    assert contract.status == Contract.Status.DRAFT
    assert contract.review_comment == "Arbitration seat missing."
    assert _last_change(contract).history_change_reason == "returned to draft"
    # The rep can change and resubmit it.
    contract_update(
        contract=contract, actor=rep, data=contract_data(), milestones=milestones_30_60_10()
    )
    assert contract_submit_for_review(contract=contract, actor=rep).status == "in_review"


def test_sending_back_needs_a_comment(in_review, finance):
    with pytest.raises(BusinessRuleError) as refused:
        contract_review(contract=in_review, actor=finance, approve=False, comment="  ")

    assert refused.value.field == "comment"
    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.IN_REVIEW


@pytest.mark.parametrize("user_factory", [SalesRepFactory, ManagerFactory])
def test_only_finance_reviews(in_review, user_factory):
    with pytest.raises(PermissionDenied):
        contract_review(contract=in_review, actor=user_factory(), approve=True)


def test_the_owning_rep_cannot_review_either(in_review, rep):
    with pytest.raises(PermissionDenied):
        contract_review(contract=in_review, actor=rep, approve=True)


def test_review_needs_a_contract_in_review(draft, finance):
    with pytest.raises(BusinessRuleError, match="Only a contract in review"):
        contract_review(contract=draft, actor=finance, approve=True)


def test_longer_terms_need_finance_approval_with_a_reason(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(credit_terms_days=60),
        milestones=milestones_30_60_10(),
    )
    contract_submit_for_review(contract=contract, actor=rep)

    with pytest.raises(BusinessRuleError, match="60 days of credit") as refused:
        contract_review(contract=contract, actor=finance, approve=True)
    assert refused.value.field == "terms_approval_reason"
    contract.refresh_from_db()
    assert contract.status == Contract.Status.IN_REVIEW
    assert contract.terms_approved_by is None

    contract_review(
        contract=contract,
        actor=finance,
        approve=True,
        terms_approval_reason="Strategic customer, bank guarantee on file.",
    )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    assert contract.terms_approved_by == finance
    assert contract.terms_approval_reason == "Strategic customer, bank guarantee on file."


def test_a_long_milestone_offset_counts_as_longer_terms(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(),
        milestones=milestones_30_60_10(delivery_offset=90),
    )
    contract_submit_for_review(contract=contract, actor=rep)

    with pytest.raises(BusinessRuleError, match="90 days of credit"):
        contract_review(contract=contract, actor=finance, approve=True)


def test_terms_approval_on_its_own(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(credit_terms_days=45),
        milestones=milestones_30_60_10(),
    )

    with pytest.raises(BusinessRuleError) as refused:
        contract_terms_approve(contract=contract, actor=finance, reason=" ")
    assert refused.value.field == "terms_approval_reason"
    with pytest.raises(PermissionDenied):
        contract_terms_approve(contract=contract, actor=rep, reason="Please")

    contract_terms_approve(contract=contract, actor=finance, reason="Seasonal business")

    contract.refresh_from_db()
    assert contract.terms_approved_by == finance


def test_terms_within_the_customers_need_no_approval(draft, finance):
    with pytest.raises(BusinessRuleError, match="nothing to approve"):
        contract_terms_approve(contract=draft, actor=finance, reason="Why not")


def test_changing_the_terms_voids_their_approval(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(credit_terms_days=45),
        milestones=milestones_30_60_10(),
    )
    contract_terms_approve(contract=contract, actor=finance, reason="Seasonal business")

    contract_update(
        contract=contract,
        actor=rep,
        data=contract_data(credit_terms_days=90),
        milestones=milestones_30_60_10(),
    )

    contract.refresh_from_db()
    assert contract.terms_approved_by is None
    assert contract.terms_approval_reason == ""


def test_approval_is_refused_above_the_credit_limit(in_review, finance, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("50000.00"))

    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        contract_review(contract=in_review, actor=finance, approve=True)

    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.IN_REVIEW
    assert in_review.reviewed_by is None


def test_finance_overrides_the_credit_check_with_a_reason(in_review, finance, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("50000.00"))

    contract_review(
        contract=in_review,
        actor=finance,
        approve=True,
        credit_override_reason="Prepaid by letter of credit.",
    )

    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.APPROVED
    override = CreditOverride.objects.get()
    assert override.reason == "Prepaid by letter of credit."
    assert override.amount == Decimal("100000.00")
    assert in_review.number in override.reference


def test_approval_is_refused_for_a_customer_on_hold(in_review, finance, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_status=Customer.CreditStatus.ON_HOLD)

    with pytest.raises(BusinessRuleError, match="credit hold"):
        contract_review(contract=in_review, actor=finance, approve=True)


# --- Activation ---------------------------------------------------------------


def test_activation_puts_the_contract_in_force_and_dates_signing_milestones(approved, finance):
    contract = contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert contract.signed_date == SIGNED
    advance, delivery, acceptance = contract.milestones.order_by("sequence")
    assert advance.trigger_date == SIGNED
    assert advance.due_date == SIGNED + timedelta(days=10)
    assert delivery.trigger_date is None
    assert delivery.due_date is None
    assert acceptance.trigger_date is None
    assert _last_change(contract).history_user == finance
    assert advance.history.first().history_user == finance


def test_activation_dates_fixed_date_milestones(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(),
        milestones=[
            MilestoneData(description="Deposit", percent=Decimal("50"), trigger=T.SIGNING),
            MilestoneData(
                description="Year end",
                percent=Decimal("50"),
                trigger=T.FIXED_DATE,
                fixed_date=date(2026, 12, 31),
                offset_days=5,
            ),
        ],
    )
    contract_submit_for_review(contract=contract, actor=rep)
    contract_review(contract=contract, actor=finance, approve=True)

    contract_activate(contract=contract, actor=finance, signed_date=SIGNED, as_of=TODAY)

    fixed = contract.milestones.get(sequence=2)
    assert fixed.trigger_date == date(2026, 12, 31)
    assert fixed.due_date == date(2027, 1, 5)


@pytest.mark.parametrize("fixture", ["draft", "in_review", "active"])
def test_only_an_approved_contract_is_activated(request, fixture, finance):
    contract = request.getfixturevalue(fixture)

    with pytest.raises(BusinessRuleError, match="Only an approved contract"):
        contract_activate(contract=contract, actor=finance, signed_date=SIGNED, as_of=TODAY)


def test_only_finance_activates(approved, rep):
    with pytest.raises(PermissionDenied):
        contract_activate(contract=approved, actor=rep, signed_date=SIGNED, as_of=TODAY)


def test_activation_without_a_review_is_refused(finance, customer):
    contract = ContractFactory(customer=customer, status=Contract.Status.APPROVED)
    PaymentMilestone.objects.create(
        contract=contract, sequence=1, description="All", percent=Decimal("100"), trigger=T.SIGNING
    )

    with pytest.raises(BusinessRuleError, match="not been reviewed"):
        contract_activate(contract=contract, actor=finance, signed_date=SIGNED, as_of=TODAY)


def test_signing_date_cannot_be_in_the_future(approved, finance):
    with pytest.raises(BusinessRuleError, match="future") as refused:
        contract_activate(
            contract=approved, actor=finance, signed_date=TODAY + timedelta(days=1), as_of=TODAY
        )

    assert refused.value.field == "signed_date"
    approved.refresh_from_db()
    assert approved.status == Contract.Status.APPROVED


def test_activation_rechecks_the_clauses(approved, finance):
    Contract.objects.filter(pk=approved.pk).update(payee_bank_account="")

    with pytest.raises(BusinessRuleError, match="payee bank account"):
        contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)


def test_activation_rechecks_the_milestones(approved, finance):
    PaymentMilestone.objects.filter(contract=approved, sequence=3).update(percent=Decimal("5"))

    with pytest.raises(BusinessRuleError, match=r"95\.00 %"):
        contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    assert not PaymentMilestone.objects.filter(trigger_date__isnull=False).exists()


def test_activation_rechecks_terms_against_the_customers_current_terms(approved, finance, customer):
    Customer.objects.filter(pk=customer.pk).update(payment_terms_days=15)

    with pytest.raises(BusinessRuleError, match="approved for"):
        contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    contract_terms_approve(contract=approved, actor=finance, reason="Long-standing customer")
    contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)
    approved.refresh_from_db()
    assert approved.status == Contract.Status.ACTIVE


def test_activation_is_refused_for_a_customer_put_on_hold(approved, finance, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_status=Customer.CreditStatus.ON_HOLD)

    with pytest.raises(BusinessRuleError, match="credit hold"):
        contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    approved.refresh_from_db()
    assert approved.status == Contract.Status.APPROVED
    assert not PaymentMilestone.objects.filter(trigger_date__isnull=False).exists()


def test_activation_adds_nothing_to_exposure_counted_since_approval(approved, finance, customer):
    # Exposure is exactly the limit: the approved contract is already counted.
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("100000.00"))

    contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    approved.refresh_from_db()
    assert approved.status == Contract.Status.ACTIVE


def test_a_contract_is_not_counted_against_its_own_limit_at_activation(approved, finance, customer):
    # The limit was cut after approval below the contract's own amount: the contract
    # itself does not push the customer over (it was checked at approval).
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("90000.00"))

    contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    approved.refresh_from_db()
    assert approved.status == Contract.Status.ACTIVE
    assert not CreditOverride.objects.exists()


def test_a_contract_approved_with_an_override_needs_no_second_one(in_review, finance, customer):
    # Given a contract above the limit, approved with a written override
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("60000.00"))
    approved = contract_review(
        contract=in_review,
        actor=finance,
        approve=True,
        comment="Fine.",
        credit_override_reason="Director approved",
    )

    # When finance activates it, no second override is asked for
    active = contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    assert active.status == Contract.Status.ACTIVE
    assert CreditOverride.objects.count() == 1


def test_activation_over_the_limit_through_other_business_can_be_overridden(
    approved, finance, customer
):
    # Other invoices took the customer over its limit since the approval
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("90000.00"))
    InvoiceFactory(customer=customer, amount=Decimal("95000.00"), currency="CNY")
    with pytest.raises(BusinessRuleError, match="Credit limit exceeded"):
        contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)

    contract_activate(
        contract=approved,
        actor=finance,
        signed_date=SIGNED,
        as_of=TODAY,
        credit_override_reason="Director approved",
    )

    assert CreditOverride.objects.get().reason == "Director approved"


# --- Closing ------------------------------------------------------------------


def _invoice_all(contract: Contract, finance) -> list[Invoice]:
    for kind in ("delivery", "acceptance"):
        delivery_record_create(
            contract=contract,
            kind=kind,
            occurred_on=TODAY,
            signer_name="Zhao Lei",
            proof=pdf_upload(),
            actor=finance,
            as_of=TODAY,
        )
    return [
        milestone_invoice_issue(
            milestone=milestone, number=f"INV-{milestone.sequence}", issue_date=TODAY, actor=finance
        )
        for milestone in contract.milestones.order_by("sequence")
    ]


def test_closing_needs_every_milestone_invoiced(active, finance):
    milestone_invoice_issue(
        milestone=active.milestones.get(sequence=1), number="INV-1", issue_date=TODAY, actor=finance
    )

    with pytest.raises(BusinessRuleError, match=r"milestone\(s\) 2, 3 not invoiced"):
        contract_close(contract=active, actor=finance)

    active.refresh_from_db()
    assert active.status == Contract.Status.ACTIVE


def test_closing_needs_every_invoice_paid(active, finance, customer):
    invoices = _invoice_all(active, finance)
    with pytest.raises(BusinessRuleError, match="INV-1, INV-2, INV-3 are not paid"):
        contract_close(contract=active, actor=finance)

    payment_record(
        customer=customer,
        payment_date=TODAY,
        amount=sum(invoice.amount for invoice in invoices),
        currency="CNY",
        reference="BANK-1",
        actor=finance,
    )
    contract = contract_close(contract=active, actor=finance)

    assert contract.status == Contract.Status.CLOSED
    assert _last_change(contract).history_change_reason == "closed"


def test_only_an_active_contract_is_closed(approved, finance):
    with pytest.raises(BusinessRuleError, match="Only an active contract"):
        contract_close(contract=approved, actor=finance)


def test_only_finance_closes(active, rep):
    with pytest.raises(PermissionDenied):
        contract_close(contract=active, actor=rep)


def test_every_transition_is_in_the_history_with_its_actor(active, rep, finance):
    changes = list(
        active.history.order_by("history_date", "pk").values_list(
            "history_change_reason", "history_user", "status"
        )
    )

    assert changes == [
        ("created", rep.pk, "draft"),
        ("submitted for review", rep.pk, "in_review"),
        ("approved by finance", finance.pk, "approved"),
        ("activated", finance.pk, "active"),
    ]


def test_factory_contract_clauses_are_complete():
    # The factory's clauses are complete, so tests only add milestones.
    contract = ContractFactory(customer=CustomerFactory())
    PaymentMilestone.objects.create(
        contract=contract, sequence=1, description="All", percent=Decimal("100"), trigger=T.SIGNING
    )
    assert contract_clause_problems(contract=contract) == []


# --- Segregation of duties ------------------------------------------------------------


def test_finance_who_drafted_and_submitted_cannot_approve(customer, finance):
    contract = contract_create(
        actor=finance, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )
    contract_submit_for_review(contract=contract, actor=finance)

    with pytest.raises(BusinessRuleError, match="another finance user"):
        contract_review(contract=contract, actor=finance, approve=True)
    with pytest.raises(BusinessRuleError, match="another finance user"):
        contract_review(contract=contract, actor=finance, approve=False, comment="Mine")

    contract.refresh_from_db()
    assert contract.status == Contract.Status.IN_REVIEW
    assert contract.reviewed_by is None
    other = FinanceUserFactory()
    contract_review(contract=contract, actor=other, approve=True)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    assert contract.reviewed_by == other


def test_finance_who_only_changed_the_reps_draft_cannot_review_it(draft, rep, finance):
    contract_update(
        contract=draft,
        actor=finance,
        data=contract_data(title="Reworded by finance"),
        milestones=milestones_30_60_10(),
    )
    contract_submit_for_review(contract=draft, actor=rep)

    with pytest.raises(BusinessRuleError, match="another finance user"):
        contract_review(contract=draft, actor=finance, approve=True)


def test_finance_who_only_submitted_cannot_review_it(draft, finance):
    contract_submit_for_review(contract=draft, actor=finance)

    with pytest.raises(BusinessRuleError, match="another finance user"):
        contract_review(contract=draft, actor=finance, approve=True)


def test_a_reviewer_who_sent_the_draft_back_reviews_it_again(in_review, rep, finance):
    contract_review(contract=in_review, actor=finance, approve=False, comment="Fix the seat.")
    contract_update(
        contract=in_review, actor=rep, data=contract_data(), milestones=milestones_30_60_10()
    )
    contract_submit_for_review(contract=in_review, actor=rep)

    contract = contract_review(contract=in_review, actor=finance, approve=True)

    assert contract.status == Contract.Status.APPROVED


def test_the_drafter_cannot_approve_its_own_longer_terms(customer, finance):
    contract = contract_create(
        actor=finance,
        customer=customer,
        data=contract_data(credit_terms_days=45),
        milestones=milestones_30_60_10(),
    )

    with pytest.raises(BusinessRuleError, match="another finance user"):
        contract_terms_approve(contract=contract, actor=finance, reason="Seasonal business")

    contract.refresh_from_db()
    assert contract.terms_approved_by is None
