"""Admin for customers, contacts and credit: every page opens; workflow records stay read-only."""

from decimal import Decimal

import pytest
from django.urls import reverse

from receivables.models import CreditGrade, CreditPolicy
from receivables.services.credit import credit_check, customer_hold
from tests.admin_forms import customer_change_data
from tests.factories.credit import CreditAssessmentFactory
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import FinanceUserFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = (
    "customer",
    "contact",
    "creditassessment",
    "creditpolicy",
    "creditgrade",
    "creditoverride",
    "creditholdevent",
)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_every_credit_admin_page_opens(admin_client):
    customer = CustomerFactory()
    ContactFactory(customer=customer)
    CreditAssessmentFactory(customer=customer)
    finance = FinanceUserFactory()
    credit_check(customer=customer, amount=Decimal("1e6"), actor=finance, override_reason="x")
    customer_hold(customer=customer, actor=finance, reason="Hold.")

    for model in MODELS:
        changelist = admin_client.get(reverse(f"admin:receivables_{model}_changelist"))
        assert changelist.status_code == 200, model
    assert (
        admin_client.get(
            reverse("admin:receivables_customer_change", args=[customer.pk])
        ).status_code
        == 200
    )


def test_assessments_overrides_and_holds_cannot_be_added_or_changed_in_admin(admin_client):
    assessment = CreditAssessmentFactory()

    for model in ("creditassessment", "creditoverride", "creditholdevent", "creditgrade"):
        assert admin_client.get(reverse(f"admin:receivables_{model}_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:receivables_creditassessment_change", args=[assessment.pk]),
        {"status": "approved"},
    )
    assessment.refresh_from_db()
    assert response.status_code == 403
    assert assessment.status == "draft"


def test_finance_policy_and_grades_are_edited_in_admin_with_history(admin_client):
    grade = CreditGrade.objects.get(grade="B")
    url = reverse("admin:receivables_creditgrade_change", args=[grade.pk])

    refused = admin_client.post(
        url,
        {"min_score": "2.40", "max_limit": "500000.00", "max_terms_days": "60", "description": ""},
    )
    accepted = admin_client.post(
        url,
        {"min_score": "3.30", "max_limit": "400000.00", "max_terms_days": "45", "description": ""},
    )
    policy_saved = admin_client.post(
        reverse("admin:receivables_creditpolicy_change", args=[1]),
        {"new_customer_max_limit": "30000.00", "new_customer_max_terms_days": "10"},
    )

    assert refused.status_code == 200
    assert "Grade C has a minimum score of 2.50" in refused.content.decode()
    assert accepted.status_code == policy_saved.status_code == 302
    grade.refresh_from_db()
    assert (grade.min_score, grade.max_limit, grade.max_terms_days) == (
        Decimal("3.30"),
        Decimal("400000.00"),
        45,
    )
    assert CreditPolicy.objects.get().new_customer_max_limit == Decimal("30000.00")
    assert CreditPolicy.history.count() == 1
    assert grade.history.count() == 1


def test_the_contact_admin_refuses_what_the_app_refuses(admin_client):
    customer = CustomerFactory()
    url = reverse("admin:receivables_contact_add")
    base = {"customer": customer.pk, "name": "  Ann Li ", "phone": "", "im_handle": ""}

    no_email = admin_client.post(url, {**base, "role": "finance", "email": ""})
    no_way = admin_client.post(url, {**base, "role": "procurement", "email": ""})
    saved = admin_client.post(url, {**base, "role": "finance", "email": " ap@example.com "})

    assert no_email.context["adminform"].form.errors["email"] == [
        "A finance contact needs an email address: payment reminders go to it."
    ]
    assert no_way.context["adminform"].form.errors["email"] == [
        "Give at least one way to reach the contact: email, phone or IM handle."
    ]
    assert saved.status_code == 302
    contact = customer.contacts.get()  # only the valid one, trimmed as in the app
    assert (contact.name, contact.email) == ("Ann Li", "ap@example.com")


def test_the_customers_contact_inline_refuses_a_finance_contact_without_email(admin_client):
    contact = ContactFactory(role="finance", email="ap@example.com")
    url, data = customer_change_data(admin_client, contact.customer)
    data.update(
        {
            "contacts-0-id": contact.pk,
            "contacts-0-customer": contact.customer_id,
            "contacts-0-name": contact.name,
            "contacts-0-role": "finance",
            "contacts-0-email": "",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.email == "ap@example.com"
    assert "A finance contact needs an email address" in response.content.decode()


def test_a_contact_stays_with_its_customer_in_the_admin(admin_client):
    contact = ContactFactory(role="finance", email="ap@example.com")
    other = CustomerFactory()
    url = reverse("admin:receivables_contact_change", args=[contact.pk])

    page = admin_client.get(url)
    response = admin_client.post(
        url,
        {
            "customer": other.pk,
            "name": contact.name,
            "role": "finance",
            "email": "ap@example.com",
            "phone": "",
            "im_handle": "",
        },
    )

    assert "customer" not in page.context["adminform"].form.fields
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.customer_id != other.pk


def test_a_customers_code_and_currency_stay_as_created_in_the_admin(admin_client):
    customer = CustomerFactory(code="C-7001", currency="CNY")
    url = reverse("admin:receivables_customer_change", args=[customer.pk])

    page = admin_client.get(url)

    fields = page.context["adminform"].form.fields
    assert "currency" not in fields
    assert "code" not in fields
    assert (
        "currency"
        in admin_client.get(reverse("admin:receivables_customer_add"))
        .context["adminform"]
        .form.fields
    )
