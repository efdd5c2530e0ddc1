"""Credit assessment workflow: every transition and every refusal, through the services."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.exceptions import BusinessRuleError
from receivables.models import CreditAssessment, CreditPolicy, Customer
from receivables.models.credit import CreditSource
from receivables.services.credit import (
    credit_assessment_approve,
    credit_assessment_create,
    credit_assessment_reject,
    credit_assessment_submit,
    credit_assessment_update,
)
from tests.factories.credit import CreditAssessmentFactory, credit_assessment_input
from tests.factories.customers import CustomerFactory
from tests.factories.users import (
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

GRADE_B_SCORES = (4, 3, 4, 3, 3)  # 3.40
GRADE_D_SCORES = (2, 2, 1, 2, 2)  # 1.75


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def customer(rep):
    """An established customer (has paid before) with no credit yet."""
    return CustomerFactory(sales_rep=rep, is_new=False, credit_limit=0, payment_terms_days=0)


def _submitted(*, rep, customer, scores=GRADE_B_SCORES, limit="300000.00", terms=60):
    return credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(
            scores=scores, requested_limit=Decimal(limit), requested_terms_days=terms
        ),
        submit=True,
    )


# --- draft ------------------------------------------------------------------


def test_rep_drafts_an_assessment_with_its_score_grade_and_recommendation(rep, customer):
    assessment = credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(
            scores=GRADE_B_SCORES, requested_limit="250000", requested_terms_days=45
        ),
    )

    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.DRAFT
    assert assessment.requested_by == rep
    assert assessment.score == Decimal("3.40")
    assert assessment.grade == "B"
    assert assessment.recommended_limit == Decimal("500000.00")
    assert assessment.recommended_terms_days == 60
    assert assessment.capped_as_new is False
    assert assessment.requested_limit == Decimal("250000.00")
    assert assessment.currency == customer.currency
    customer.refresh_from_db()
    assert customer.credit_limit == 0


def test_a_draft_may_lack_sources_and_justifications(rep, customer):
    assessment = credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(sources=(), justification=""),
    )

    assert assessment.status == CreditAssessment.Status.DRAFT
    assert assessment.sources() == []


def test_a_rep_cannot_assess_another_reps_customer(customer):
    with pytest.raises(BusinessRuleError, match="cannot change this customer"):
        credit_assessment_create(
            actor=SalesRepFactory(), customer=customer, data=credit_assessment_input()
        )

    assert not CreditAssessment.objects.exists()


def test_a_user_without_a_role_cannot_assess(customer):
    with pytest.raises(BusinessRuleError, match="role cannot assess"):
        credit_assessment_create(
            actor=UserFactory(), customer=customer, data=credit_assessment_input()
        )

    assert not CreditAssessment.objects.exists()


def test_a_customer_has_at_most_one_open_assessment(rep, customer):
    first = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    with pytest.raises(BusinessRuleError, match=f"open credit assessment \\(#{first.pk}\\)"):
        credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    assert CreditAssessment.objects.count() == 1


def test_the_database_also_refuses_a_second_open_assessment(customer):
    CreditAssessmentFactory(customer=customer)

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAssessmentFactory(customer=customer, status=CreditAssessment.Status.SUBMITTED)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"scores": (0, 3, 3, 3, 3)}, "industry_position_score", "from 1 to 5"),
        ({"scores": (3, 6, 3, 3, 3)}, "operating_condition_score", "from 1 to 5"),
        ({"scores": (3, 3, "x", 3, 3)}, "financial_health_score", "from 1 to 5"),
        ({"scores": (3, 3, 3, True, 3)}, "cooperation_history_score", "from 1 to 5"),
        ({"requested_limit": "-1"}, "requested_limit", "cannot be negative"),
        ({"requested_limit": "abc"}, "requested_limit", "must be a number"),
        ({"requested_limit": 1000.5}, "requested_limit", "must be a number"),
        ({"requested_limit": "NaN"}, "requested_limit", "must be a number"),
        ({"requested_limit": "1e15"}, "requested_limit", "must be a number"),
        ({"requested_limit": "1000000000000.00"}, "requested_limit", "too large"),
        ({"requested_terms_days": -1}, "requested_terms_days", "between 0 and 365"),
        ({"requested_terms_days": 366}, "requested_terms_days", "between 0 and 365"),
        ({"requested_terms_days": "soon"}, "requested_terms_days", "whole number of days"),
        ({"sources": ("gossip",)}, "sources", "Unknown source"),
        ({"justification": "x" * 501}, "industry_position_justification", "500 characters"),
    ],
)
def test_bad_scorecard_input_is_refused_and_nothing_is_saved(
    rep, customer, overrides, field, message
):
    with pytest.raises(BusinessRuleError, match=message) as refused:
        credit_assessment_create(
            actor=rep, customer=customer, data=credit_assessment_input(**overrides)
        )

    assert refused.value.field == field
    assert not CreditAssessment.objects.exists()


# --- submit -----------------------------------------------------------------


def test_create_and_submit_in_one_step(rep, customer):
    assessment = _submitted(rep=rep, customer=customer)

    assert assessment.status == CreditAssessment.Status.SUBMITTED
    assert assessment.submitted_at is not None


def test_submission_without_a_source_is_refused_and_nothing_is_saved(rep, customer):
    with pytest.raises(BusinessRuleError, match="at least one source") as refused:
        credit_assessment_create(
            actor=rep, customer=customer, data=credit_assessment_input(sources=()), submit=True
        )

    assert refused.value.field == "sources"
    assert not CreditAssessment.objects.exists()


def test_submission_without_a_justification_is_refused(rep, customer):
    draft = credit_assessment_create(
        actor=rep, customer=customer, data=credit_assessment_input(justification="  ")
    )

    with pytest.raises(BusinessRuleError, match="write a short justification") as refused:
        credit_assessment_submit(actor=rep, assessment=draft)

    assert refused.value.field == "industry_position_justification"
    draft.refresh_from_db()
    assert draft.status == CreditAssessment.Status.DRAFT
    assert draft.submitted_at is None


def test_the_author_submits_a_complete_draft(rep, customer):
    draft = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    submitted = credit_assessment_submit(actor=rep, assessment=draft)

    submitted.refresh_from_db()
    assert submitted.status == CreditAssessment.Status.SUBMITTED
    assert submitted.submitted_at is not None


def test_only_the_author_submits_a_draft(rep, customer):
    draft = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    with pytest.raises(BusinessRuleError, match=r"Only .* who drafted"):
        credit_assessment_submit(actor=FinanceUserFactory(), assessment=draft)

    draft.refresh_from_db()
    assert draft.status == CreditAssessment.Status.DRAFT


def test_a_submitted_assessment_cannot_be_submitted_again(rep, customer):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="is submitted"):
        credit_assessment_submit(actor=rep, assessment=assessment)


# --- update -----------------------------------------------------------------


def test_the_author_updates_a_draft_and_the_score_follows(rep, customer):
    draft = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    updated = credit_assessment_update(
        actor=rep,
        assessment=draft,
        data=credit_assessment_input(scores=(5, 5, 5, 5, 5), requested_limit="900000"),
    )

    updated.refresh_from_db()
    assert (updated.score, updated.grade) == (Decimal("5.00"), "A")
    assert updated.recommended_limit == Decimal("1000000.00")
    assert updated.requested_limit == Decimal("900000.00")


def test_an_update_with_bad_input_changes_nothing(rep, customer):
    draft = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    with pytest.raises(BusinessRuleError):
        credit_assessment_update(
            actor=rep, assessment=draft, data=credit_assessment_input(scores=(9, 3, 3, 3, 3))
        )

    draft.refresh_from_db()
    assert draft.industry_position_score == 3


def test_someone_else_cannot_update_a_draft(rep, customer):
    draft = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    with pytest.raises(BusinessRuleError, match="who drafted"):
        credit_assessment_update(
            actor=FinanceUserFactory(), assessment=draft, data=credit_assessment_input()
        )


def test_a_submitted_assessment_cannot_be_updated(rep, customer):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="can no longer be changed"):
        credit_assessment_update(actor=rep, assessment=assessment, data=credit_assessment_input())


# --- approve ----------------------------------------------------------------


def test_finance_approves_a_lower_limit_and_shorter_terms_and_the_customer_gets_them(
    rep, finance, customer
):
    assessment = _submitted(rep=rep, customer=customer, limit="300000.00", terms=60)

    approved = credit_assessment_approve(
        actor=finance,
        assessment=assessment,
        approved_limit="80000",
        approved_terms_days=30,
        comment="Start smaller.",
    )

    approved.refresh_from_db()
    customer.refresh_from_db()
    assert approved.status == CreditAssessment.Status.APPROVED
    assert (approved.approved_limit, approved.approved_terms_days) == (Decimal("80000.00"), 30)
    assert approved.decided_by == finance
    assert approved.decided_at is not None
    assert approved.decision_comment == "Start smaller."
    assert (customer.credit_limit, customer.payment_terms_days) == (Decimal("80000.00"), 30)
    change = customer.history.first()
    assert change.history_user == finance
    assert change.history_change_reason == f"credit_assessment:{approved.pk}"
    assert change.prev_record.credit_limit == Decimal("0.00")


def test_the_requester_can_never_approve_even_as_finance(finance):
    customer = CustomerFactory(is_new=False)
    assessment = _submitted(rep=finance, customer=customer)

    with pytest.raises(BusinessRuleError, match="You requested this assessment"):
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="1000",
            approved_terms_days=10,
            comment="Mine.",
        )

    assessment.refresh_from_db()
    customer.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED
    assert customer.credit_limit == Decimal("100000.00")


@pytest.mark.parametrize("factory", [SalesRepFactory, ManagerFactory, UserFactory])
def test_only_finance_approves(rep, customer, factory):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="Only finance"):
        credit_assessment_approve(
            actor=factory(),
            assessment=assessment,
            approved_limit="1000",
            approved_terms_days=10,
            comment="OK",
        )

    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED


@pytest.mark.parametrize(
    ("limit", "terms", "field", "message"),
    [
        ("300000.01", 60, "approved_limit", "more than the requested limit"),
        ("300000.00", 61, "approved_terms_days", "longer terms than the requested"),
        ("-5", 30, "approved_limit", "cannot be negative"),
        ("lots", 30, "approved_limit", "must be a number"),
        ("1000", 366, "approved_terms_days", "between 0 and 365"),
    ],
)
def test_approval_beyond_the_request_or_with_bad_figures_is_refused(
    rep, finance, customer, limit, terms, field, message
):
    assessment = _submitted(rep=rep, customer=customer, limit="300000.00", terms=60)

    with pytest.raises(BusinessRuleError, match=message) as refused:
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit=limit,
            approved_terms_days=terms,
            comment="OK",
        )

    assert refused.value.field == field
    customer.refresh_from_db()
    assert customer.credit_limit == 0


def test_approval_needs_a_comment(rep, finance, customer):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="comment") as refused:
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="1000",
            approved_terms_days=10,
            comment=" ",
        )

    assert refused.value.field == "comment"


def test_approving_more_than_the_grade_allows_needs_a_written_reason(rep, finance, customer):
    assessment = _submitted(
        rep=rep, customer=customer, scores=GRADE_D_SCORES, limit="50000.00", terms=30
    )
    assert (assessment.grade, assessment.recommended_limit) == ("D", Decimal("0.00"))

    with pytest.raises(BusinessRuleError, match=r"Grade D recommends at most 0\.00") as refused:
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="20000",
            approved_terms_days=0,
            comment="OK",
        )
    assert refused.value.field == "override_reason"
    customer.refresh_from_db()
    assert customer.credit_limit == 0

    approved = credit_assessment_approve(
        actor=finance,
        assessment=assessment,
        approved_limit="20000",
        approved_terms_days=0,
        comment="OK",
        override_reason="Parent company guarantee on file.",
    )

    assert approved.override_reason == "Parent company guarantee on file."
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("20000.00")


def test_longer_terms_than_the_grade_allows_also_need_a_reason(rep, finance, customer):
    assessment = _submitted(
        rep=rep, customer=customer, scores=GRADE_D_SCORES, limit="0.00", terms=30
    )

    with pytest.raises(BusinessRuleError, match="write a reason"):
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="0",
            approved_terms_days=15,
            comment="OK",
        )


def test_a_new_customers_cap_is_exceeded_only_by_finance_with_a_reason(rep, finance):
    customer = CustomerFactory(sales_rep=rep, is_new=True, credit_limit=0)
    assessment = _submitted(rep=rep, customer=customer, limit="300000.00", terms=60)
    assert assessment.capped_as_new
    assert (assessment.recommended_limit, assessment.recommended_terms_days) == (
        Decimal("50000.00"),
        15,
    )

    # Without a reason, the cap holds, and the message asks for one
    with pytest.raises(BusinessRuleError, match=r"caps new customers .* Write a reason") as error:
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="60000",
            approved_terms_days=15,
            comment="OK",
        )
    assert error.value.field == "override_reason"

    # With a reason, finance may exceed it, and the reason is kept as the audit line
    approved = credit_assessment_approve(
        actor=finance,
        assessment=assessment,
        approved_limit="60000",
        approved_terms_days=15,
        comment="OK",
        override_reason="Listed group, parent guarantee on file.",
    )
    assert approved.status == CreditAssessment.Status.APPROVED
    assert approved.override_reason == "Listed group, parent guarantee on file."
    assert approved.history.filter(override_reason=approved.override_reason).exists()
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("60000.00")


def test_the_new_customer_cap_follows_the_policy_edited_in_admin(rep, finance):
    CreditPolicy.objects.filter(pk=1).update(
        new_customer_max_limit=Decimal("10000.00"), new_customer_max_terms_days=7
    )
    customer = CustomerFactory(sales_rep=rep, is_new=True)

    assessment = _submitted(rep=rep, customer=customer, limit="300000.00", terms=60)

    assert (assessment.recommended_limit, assessment.recommended_terms_days) == (
        Decimal("10000.00"),
        7,
    )


@pytest.mark.parametrize("status", ["draft", "approved", "rejected"])
def test_only_a_submitted_assessment_can_be_decided(finance, status):
    assessment = CreditAssessmentFactory(status=status)

    with pytest.raises(BusinessRuleError, match="can no longer be decided"):
        credit_assessment_approve(
            actor=finance,
            assessment=assessment,
            approved_limit="1",
            approved_terms_days=1,
            comment="OK",
        )
    with pytest.raises(BusinessRuleError, match="can no longer be decided"):
        credit_assessment_reject(actor=finance, assessment=assessment, comment="No")


def test_the_database_refuses_a_decider_who_is_the_requester(finance):
    assessment = CreditAssessmentFactory(
        requested_by=finance, status=CreditAssessment.Status.SUBMITTED
    )
    assessment.decided_by = finance

    with pytest.raises(IntegrityError), transaction.atomic():
        assessment.save()


# --- reject -----------------------------------------------------------------


def test_finance_rejects_with_a_comment_and_the_customer_keeps_its_credit(rep, finance):
    customer = CustomerFactory(
        sales_rep=rep, is_new=False, credit_limit=Decimal("5000"), payment_terms_days=10
    )
    assessment = _submitted(rep=rep, customer=customer)

    rejected = credit_assessment_reject(
        actor=finance, assessment=assessment, comment="Audited accounts missing."
    )

    rejected.refresh_from_db()
    customer.refresh_from_db()
    assert rejected.status == CreditAssessment.Status.REJECTED
    assert rejected.decided_by == finance
    assert rejected.decision_comment == "Audited accounts missing."
    assert rejected.approved_limit is None
    assert (customer.credit_limit, customer.payment_terms_days) == (Decimal("5000.00"), 10)


def test_rejection_needs_a_comment(rep, finance, customer):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="needs to know why"):
        credit_assessment_reject(actor=finance, assessment=assessment, comment="")

    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED


def test_the_requester_and_non_finance_cannot_reject(rep, customer):
    assessment = _submitted(rep=rep, customer=customer)

    with pytest.raises(BusinessRuleError, match="Only finance"):
        credit_assessment_reject(actor=rep, assessment=assessment, comment="No")
    own = _submitted(rep=(finance := FinanceUserFactory()), customer=CustomerFactory())
    with pytest.raises(BusinessRuleError, match="You requested"):
        credit_assessment_reject(actor=finance, assessment=own, comment="No")


def test_after_a_rejection_a_new_assessment_may_be_drafted(rep, finance, customer):
    credit_assessment_reject(
        actor=finance, assessment=_submitted(rep=rep, customer=customer), comment="No"
    )

    again = credit_assessment_create(actor=rep, customer=customer, data=credit_assessment_input())

    assert again.status == CreditAssessment.Status.DRAFT


def test_a_reassessment_replaces_the_limit_of_the_previous_approval(rep, finance, customer):
    first = _submitted(rep=rep, customer=customer, limit="300000", terms=60)
    credit_assessment_approve(
        actor=finance,
        assessment=first,
        approved_limit="300000",
        approved_terms_days=60,
        comment="OK",
    )
    second = _submitted(rep=rep, customer=customer, limit="100000", terms=30)

    credit_assessment_approve(
        actor=finance,
        assessment=second,
        approved_limit="100000",
        approved_terms_days=30,
        comment="Reduced after late payments.",
    )

    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.credit_limit, customer.payment_terms_days) == (Decimal("100000.00"), 30)
    assert customer.history.count() == 3  # created, first approval, second approval


def test_sources_are_recorded(rep, customer):
    assessment = credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(
            sources=(CreditSource.INDUSTRY_REPORT, CreditSource.PEER_REFERENCES)
        ),
    )

    assert assessment.sources() == [CreditSource.INDUSTRY_REPORT, CreditSource.PEER_REFERENCES]
