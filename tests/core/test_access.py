import pytest
from django.urls import reverse

from tests.factories import (
    CustomerFactory,
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_anonymous_requests_redirect_to_login(client):
    for url in (reverse("core:home"), reverse("receivables:customer_list"), "/customers/1/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_login_page_and_healthz_are_public(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_sales_rep_sees_only_own_customers(client):
    rep = SalesRepFactory()
    own = CustomerFactory(sales_rep=rep, name="Own Customer Co")
    other = CustomerFactory(name="Other Rep Customer Co")
    client.force_login(rep)

    listing = client.get(reverse("receivables:customer_list")).content.decode()

    assert own.name in listing
    assert other.name not in listing
    assert client.get(own.get_absolute_url()).status_code == 200
    assert client.get(other.get_absolute_url()).status_code == 404


def test_another_reps_customer_answers_like_a_missing_one(client):
    rep = SalesRepFactory()
    other = CustomerFactory()
    client.force_login(rep)

    foreign = client.get(other.get_absolute_url())
    missing = client.get(reverse("receivables:customer_detail", kwargs={"pk": other.pk + 1000}))

    assert foreign.status_code == missing.status_code == 404


@pytest.mark.parametrize("factory", [FinanceUserFactory, ManagerFactory])
def test_finance_and_managers_see_every_customer(client, factory):
    customers = CustomerFactory.create_batch(3)
    client.force_login(factory())

    listing = client.get(reverse("receivables:customer_list")).content.decode()

    for customer in customers:
        assert customer.name in listing
        assert client.get(customer.get_absolute_url()).status_code == 200


def test_user_without_role_sees_nothing(client):
    customer = CustomerFactory()
    client.force_login(UserFactory())

    assert customer.name not in client.get(reverse("receivables:customer_list")).content.decode()
    assert client.get(customer.get_absolute_url()).status_code == 404


def test_customer_list_queries_are_bounded(client, django_assert_max_num_queries):
    rep = SalesRepFactory()
    CustomerFactory.create_batch(60, sales_rep=rep)
    client.force_login(rep)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("receivables:customer_list"))

    assert response.status_code == 200


def test_post_without_csrf_token_is_refused():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
