"""Customer and contact pages: wiring, scope (404), bad input, query bounds."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from receivables.models import Contact, Customer
from receivables.services.credit import credit_assessment_approve, credit_assessment_create
from tests.factories.credit import credit_assessment_input
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    return SalesRepFactory(username="rep1")


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def test_a_rep_creates_a_customer_and_lands_on_its_page(rep_client, rep):
    response = rep_client.post(
        reverse("receivables:customer_create"),
        {"code": "C-7001", "name": "Wuxi Pumps", "currency": "cny", "language": "en"},
    )

    customer = Customer.objects.get(code="C-7001")
    assert response.status_code == 302
    assert response.url == customer.get_absolute_url()
    assert customer.sales_rep == rep
    assert customer.currency == "CNY"
    page = rep_client.get(response.url).content.decode()
    assert "Wuxi Pumps" in page
    assert "No finance contact" in page
    assert "No approved credit limit yet" in page


def test_the_create_form_reports_a_duplicate_code_and_saves_nothing(rep_client):
    CustomerFactory(code="C-7001")

    response = rep_client.post(
        reverse("receivables:customer_create"),
        {"code": "c-7001", "name": "Copy", "currency": "CNY", "language": "en"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "c-7001 is taken" in page
    assert "C-7002 is the next free one" in page
    assert Customer.objects.count() == 1


def test_the_create_form_suggests_the_next_free_code(rep_client):
    CustomerFactory(code="C-1001")
    CustomerFactory(code="C-1009")
    CustomerFactory(code="X-77")

    page = rep_client.get(reverse("receivables:customer_create")).content.decode()

    assert 'value="X-78"' in page  # the newest customer's pattern


def test_a_code_taken_by_another_reps_customer_names_the_next_free_one(rep_client):
    CustomerFactory(code="SH-0099")  # another rep's customer
    CustomerFactory(code="SH-0100")

    response = rep_client.post(
        reverse("receivables:customer_create"),
        {"code": "SH-0099", "name": "Copy", "currency": "CNY", "language": "en"},
    )

    assert "SH-0101 is the next free one" in response.content.decode()


def test_a_user_without_a_role_may_not_create_customers(client):
    client.force_login(UserFactory())

    assert client.get(reverse("receivables:customer_create")).status_code == 403


def test_finance_must_pick_the_owning_rep(client, rep):
    client.force_login(FinanceUserFactory())

    missing = client.post(
        reverse("receivables:customer_create"),
        {"code": "C-1", "name": "X", "currency": "CNY", "language": "en"},
    )
    given = client.post(
        reverse("receivables:customer_create"),
        {"code": "C-1", "name": "X", "currency": "CNY", "language": "en", "sales_rep": rep.pk},
    )

    assert missing.status_code == 200
    assert given.status_code == 302
    assert Customer.objects.get().sales_rep == rep


def test_a_rep_edits_master_data_but_not_the_code(rep_client, rep):
    customer = CustomerFactory(sales_rep=rep, code="C-1", name="Old")

    response = rep_client.post(
        reverse("receivables:customer_update", args=[customer.pk]),
        {"code": "C-HACK", "name": "New", "currency": "USD", "language": "en"},
    )

    customer.refresh_from_db()
    assert response.status_code == 302
    assert (customer.code, customer.name, customer.currency) == ("C-1", "New", "CNY")


def test_a_rep_adds_a_finance_contact_and_the_flag_goes_away(rep_client, rep):
    customer = CustomerFactory(sales_rep=rep)

    response = rep_client.post(
        reverse("receivables:contact_create", args=[customer.pk]),
        {"name": "Grace", "role": "finance", "email": "ap@customer.example", "phone": ""},
    )

    assert response.status_code == 302
    assert customer.contacts.get().role == Contact.Role.FINANCE
    assert "No finance contact" not in rep_client.get(customer.get_absolute_url()).content.decode()


def test_a_finance_contact_without_email_is_refused_with_a_message(rep_client, rep):
    customer = CustomerFactory(sales_rep=rep)

    response = rep_client.post(
        reverse("receivables:contact_create", args=[customer.pk]),
        {"name": "Grace", "role": "finance", "email": "", "phone": "123"},
    )

    assert response.status_code == 200
    assert "A finance contact needs an email address" in response.content.decode()
    assert not Contact.objects.exists()


def test_a_rep_edits_and_removes_a_contact(rep_client, rep):
    contact = ContactFactory(customer__sales_rep=rep, role="procurement", name="Old")
    url_args = [contact.customer_id, contact.pk]

    rep_client.post(
        reverse("receivables:contact_update", args=url_args),
        {"name": "New", "role": "procurement", "email": "n@customer.example"},
    )
    contact.refresh_from_db()
    assert contact.name == "New"
    confirm = rep_client.get(reverse("receivables:contact_delete", args=url_args))
    assert confirm.status_code == 200
    rep_client.post(reverse("receivables:contact_delete", args=url_args))
    assert not Contact.objects.exists()


def test_another_reps_customer_answers_404_everywhere(rep_client):
    other = CustomerFactory()
    contact = ContactFactory(customer=other)
    urls = [
        other.get_absolute_url(),
        reverse("receivables:customer_update", args=[other.pk]),
        reverse("receivables:contact_create", args=[other.pk]),
        reverse("receivables:contact_update", args=[other.pk, contact.pk]),
        reverse("receivables:contact_delete", args=[other.pk, contact.pk]),
        reverse("receivables:credit_assessment_create", args=[other.pk]),
    ]

    for url in urls:
        assert rep_client.get(url).status_code == 404, url
        assert rep_client.post(url, {"name": "x", "role": "other"}).status_code == 404, url
    assert rep_client.post(reverse("receivables:customer_hold", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    contact.refresh_from_db()
    assert contact.name != "x"


def test_a_contact_must_belong_to_the_customer_in_the_url(rep_client, rep):
    own = CustomerFactory(sales_rep=rep)
    contact = ContactFactory(customer__sales_rep=rep)

    url = reverse("receivables:contact_update", args=[own.pk, contact.pk])

    assert rep_client.get(url).status_code == 404


def test_the_customer_page_shows_contacts_position_assessments_and_history(client, rep):
    customer = CustomerFactory(sales_rep=rep, is_new=False, credit_limit=0, code="C-5")
    ContactFactory(customer=customer, role="finance", name="Grace", im_handle="wechat:grace")
    assessment = credit_assessment_create(
        actor=rep, customer=customer, data=credit_assessment_input(), submit=True
    )
    credit_assessment_approve(
        actor=FinanceUserFactory(username="finance1"),
        assessment=assessment,
        approved_limit="80000",
        approved_terms_days=30,
        comment="OK",
    )
    client.force_login(rep)

    page = client.get(customer.get_absolute_url()).content.decode()

    assert "Grace" in page
    assert "wechat:grace" in page
    assert "CNY 80,000.00" in page
    assert "Available credit" in page
    assert f"#{assessment.pk}" in page
    assert "credit limit: 0.00 → 80,000.00" in page
    assert "finance1" in page


def _customer_with_story(rep, *, contacts: int, assessments: int):
    customer = CustomerFactory(sales_rep=rep, is_new=False)
    ContactFactory.create_batch(contacts, customer=customer)
    for _ in range(assessments):
        assessment = credit_assessment_create(
            actor=rep, customer=customer, data=credit_assessment_input(), submit=True
        )
        credit_assessment_approve(
            actor=FinanceUserFactory(),
            assessment=assessment,
            approved_limit=Decimal("1000"),
            approved_terms_days=10,
            comment="OK",
        )
    return customer


def test_the_customer_page_queries_do_not_grow_with_its_history(client, rep):
    small = _customer_with_story(rep, contacts=1, assessments=1)
    large = _customer_with_story(rep, contacts=6, assessments=4)
    client.force_login(rep)
    client.get(small.get_absolute_url())

    with CaptureQueriesContext(connection) as small_queries:
        assert client.get(small.get_absolute_url()).status_code == 200
    with CaptureQueriesContext(connection) as large_queries:
        assert client.get(large.get_absolute_url()).status_code == 200

    assert len(large_queries) == len(small_queries)


def test_the_reps_customer_list_flags_a_missing_finance_contact(rep_client, rep):
    CustomerFactory(sales_rep=rep, name="Lonely Co")

    page = rep_client.get(reverse("receivables:customer_list")).content.decode()

    assert "No finance contact" in page


def test_the_customer_list_queries_are_bounded(rep_client, rep, django_assert_max_num_queries):
    for customer in CustomerFactory.create_batch(30, sales_rep=rep):
        ContactFactory(customer=customer)

    with django_assert_max_num_queries(8):
        response = rep_client.get(reverse("receivables:customer_list"))

    assert response.status_code == 200
