"""Credit pages: scorecard form, queue, decisions, holds; wiring, roles and bad input."""

from decimal import Decimal

import pytest
from django.urls import reverse

from receivables.models import CreditAssessment, CreditHoldEvent, Customer
from receivables.models.credit import CreditFactor, score_field
from receivables.services.credit import credit_assessment_create, customer_hold
from tests.factories.credit import CreditAssessmentFactory, credit_assessment_input
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    return SalesRepFactory(username="rep1")


@pytest.fixture
def finance():
    return FinanceUserFactory(username="finance1")


@pytest.fixture
def customer(rep):
    return CustomerFactory(sales_rep=rep, is_new=False, credit_limit=0, payment_terms_days=0)


def _scorecard(**overrides) -> dict[str, object]:
    data: dict[str, object] = {"requested_limit": "300000", "requested_terms_days": "60"}
    for factor in CreditFactor:
        data[score_field(factor)] = "4"
        data[f"{factor.value}_justification"] = "Seen in the annual report."
    data["sources"] = ["public_records", "credit_agency"]
    data.update(overrides)
    return data


def _submitted(rep, customer) -> CreditAssessment:
    return credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(requested_limit="300000", requested_terms_days=60),
        submit=True,
    )


def test_a_rep_fills_the_scorecard_and_submits_it(client, rep, customer):
    client.force_login(rep)
    assert (
        client.get(reverse("receivables:credit_assessment_create", args=[customer.pk])).status_code
        == 200
    )

    response = client.post(
        reverse("receivables:credit_assessment_create", args=[customer.pk]),
        _scorecard(action="submit"),
    )

    assessment = CreditAssessment.objects.get()
    assert response.status_code == 302
    assert response.url == assessment.get_absolute_url()
    assert assessment.status == CreditAssessment.Status.SUBMITTED
    assert (assessment.score, assessment.grade) == (Decimal("4.00"), "A")
    page = client.get(response.url).content.decode()
    assert "Waiting for finance" in page


def test_a_rep_saves_a_draft_edits_it_and_submits_it(client, rep, customer):
    client.force_login(rep)
    client.post(
        reverse("receivables:credit_assessment_create", args=[customer.pk]),
        _scorecard(action="draft", sources=[]),
    )
    assessment = CreditAssessment.objects.get()
    assert assessment.status == CreditAssessment.Status.DRAFT
    assert (
        client.get(
            reverse("receivables:credit_assessment_update", args=[assessment.pk])
        ).status_code
        == 200
    )

    client.post(
        reverse("receivables:credit_assessment_update", args=[assessment.pk]),
        _scorecard(action="draft", sources=["peer_references"], requested_limit="200000"),
    )
    client.post(reverse("receivables:credit_assessment_submit", args=[assessment.pk]))

    assessment.refresh_from_db()
    assert assessment.requested_limit == Decimal("200000.00")
    assert assessment.status == CreditAssessment.Status.SUBMITTED


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sources": []}, "Tick at least one source"),
        ({score_field(CreditFactor.FINANCIAL_HEALTH): "6"}, "Select a valid choice"),
        ({score_field(CreditFactor.FINANCIAL_HEALTH): "0"}, "Select a valid choice"),
        ({"requested_limit": "-1"}, "greater than or equal to 0"),
        ({"requested_limit": "a lot"}, "Enter a plain amount"),
        ({"requested_limit": "12e3"}, "exponent notation"),
        ({"requested_terms_days": "366"}, "less than or equal to 365"),
        ({"requested_terms_days": "-3"}, "greater than or equal to 0"),
        ({"payment_habits_justification": ""}, "write a short justification"),
    ],
)
def test_bad_scorecard_input_gets_a_clear_message_and_saves_nothing(
    client, rep, customer, overrides, message
):
    client.force_login(rep)

    response = client.post(
        reverse("receivables:credit_assessment_create", args=[customer.pk]),
        _scorecard(action="submit", **overrides),
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CreditAssessment.objects.exists()


def test_the_queue_is_for_finance_only_and_lists_the_oldest_first(client, rep, finance):
    first = _submitted(rep, CustomerFactory(sales_rep=rep, name="First Co"))
    second = _submitted(rep, CustomerFactory(sales_rep=rep, name="Second Co"))
    url = reverse("receivables:credit_assessment_queue")

    for user in (rep, ManagerFactory()):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(finance)
    page = client.get(url).content.decode()

    assert page.index("First Co") < page.index("Second Co")
    assert first.get_absolute_url() in page
    assert second.get_absolute_url() in page
    assert "Credit approvals" in page


def test_the_navigation_offers_credit_approvals_to_finance_only(client, rep, finance):
    url = reverse("receivables:customer_list")
    client.force_login(rep)
    assert "Credit approvals" not in client.get(url).content.decode()
    client.force_login(finance)
    assert "Credit approvals" in client.get(url).content.decode()


def test_finance_approves_a_lower_limit_from_the_page(client, rep, finance, customer):
    assessment = _submitted(rep, customer)
    client.force_login(finance)
    page = client.get(assessment.get_absolute_url()).content.decode()
    assert "Approve" in page

    response = client.post(
        reverse("receivables:credit_assessment_approve", args=[assessment.pk]),
        {"approved_limit": "80000", "approved_terms_days": "30", "comment": "Start small."},
    )

    assert response.status_code == 302
    assert response.url == reverse("receivables:credit_assessment_queue")
    customer.refresh_from_db()
    assert (customer.credit_limit, customer.payment_terms_days) == (Decimal("80000.00"), 30)


def test_approving_above_the_grade_without_a_reason_shows_the_form_again(
    client, rep, finance, customer
):
    assessment = credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(scores=(2, 2, 1, 2, 2), requested_limit="50000"),
        submit=True,
    )
    client.force_login(finance)

    response = client.post(
        reverse("receivables:credit_assessment_approve", args=[assessment.pk]),
        {"approved_limit": "50000", "approved_terms_days": "0", "comment": "OK"},
    )

    assert response.status_code == 200
    assert "write a reason to approve more" in response.content.decode()
    customer.refresh_from_db()
    assert customer.credit_limit == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"approved_limit": "-1", "approved_terms_days": "30", "comment": "x"}, "greater than"),
        ({"approved_limit": "abc", "approved_terms_days": "30", "comment": "x"}, "Enter a plain"),
        ({"approved_limit": "1", "approved_terms_days": "400", "comment": "x"}, "less than or"),
        ({"approved_limit": "1", "approved_terms_days": "3", "comment": ""}, "required"),
        ({"approved_limit": "300001", "approved_terms_days": "3", "comment": "x"}, "more than"),
    ],
)
def test_bad_approval_input_changes_nothing(client, rep, finance, customer, data, message):
    assessment = _submitted(rep, customer)
    client.force_login(finance)

    response = client.post(
        reverse("receivables:credit_assessment_approve", args=[assessment.pk]), data
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED
    customer.refresh_from_db()
    assert customer.credit_limit == 0


def test_the_requester_cannot_approve_from_the_page(client, finance):
    customer = CustomerFactory(is_new=False, credit_limit=0)
    assessment = _submitted(finance, customer)
    client.force_login(finance)
    assert "Approve</button>" not in client.get(assessment.get_absolute_url()).content.decode()

    response = client.post(
        reverse("receivables:credit_assessment_approve", args=[assessment.pk]),
        {"approved_limit": "1000", "approved_terms_days": "10", "comment": "Mine"},
        follow=True,
    )

    assert "You requested this assessment" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED


def test_a_rep_cannot_approve_or_reject_their_own_customers_assessment(client, rep, customer):
    assessment = _submitted(rep, customer)
    client.force_login(rep)

    approve = client.post(
        reverse("receivables:credit_assessment_approve", args=[assessment.pk]),
        {"approved_limit": "1000", "approved_terms_days": "10", "comment": "Mine"},
        follow=True,
    )
    reject = client.post(
        reverse("receivables:credit_assessment_reject", args=[assessment.pk]),
        {"comment": "No"},
        follow=True,
    )

    assert "Only finance can approve or reject" in approve.content.decode()
    assert "Only finance can approve or reject" in reject.content.decode()
    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.SUBMITTED


def test_finance_rejects_with_a_comment(client, rep, finance, customer):
    assessment = _submitted(rep, customer)
    client.force_login(finance)

    empty = client.post(
        reverse("receivables:credit_assessment_reject", args=[assessment.pk]), {"comment": ""}
    )
    done = client.post(
        reverse("receivables:credit_assessment_reject", args=[assessment.pk]),
        {"comment": "No audited accounts."},
    )

    assert empty.status_code == 200
    assert done.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == CreditAssessment.Status.REJECTED
    client.force_login(rep)
    assert "No audited accounts." in client.get(assessment.get_absolute_url()).content.decode()


def test_another_reps_assessment_answers_404(client, customer):
    assessment = CreditAssessmentFactory(customer=customer)
    client.force_login(SalesRepFactory())

    for name in ("credit_assessment_detail", "credit_assessment_update"):
        assert client.get(reverse(f"receivables:{name}", args=[assessment.pk])).status_code == 404
    for name in (
        "credit_assessment_submit",
        "credit_assessment_approve",
        "credit_assessment_reject",
    ):
        assert client.post(reverse(f"receivables:{name}", args=[assessment.pk])).status_code == 404


def test_finance_puts_on_hold_and_releases_from_the_customer_page(client, finance, customer):
    client.force_login(finance)
    hold_url = reverse("receivables:customer_hold", args=[customer.pk])
    release_url = reverse("receivables:customer_release", args=[customer.pk])

    assert "Put on credit hold" in client.get(customer.get_absolute_url()).content.decode()
    client.post(hold_url, {"reason": ""})
    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    client.post(hold_url, {"reason": "Cheque bounced."})
    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "Cheque bounced." in page
    client.post(release_url, {"reason": "Paid."})
    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    assert customer.credit_hold_events.count() == 2


def test_a_rep_cannot_hold_or_release_their_customer(client, rep, customer):
    client.force_login(rep)

    response = client.post(
        reverse("receivables:customer_hold", args=[customer.pk]),
        {"reason": "Please."},
        follow=True,
    )
    customer_hold(customer=customer, actor=FinanceUserFactory(), reason="Finance.")
    client.post(reverse("receivables:customer_release", args=[customer.pk]), {"reason": "Please."})

    assert "Only finance can put a customer on credit hold" in response.content.decode()
    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert CreditHoldEvent.objects.count() == 1
