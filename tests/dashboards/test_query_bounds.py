"""Every daily page costs the same number of queries, at most 25, on a small and a larger book."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from receivables.models import Customer
from tests.dashboards.conftest import book_create
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

# The customer page reads its ageing with the customer (annotated), so every page stays at
# 25 or fewer (the dashboard reads the policy's tolerance inside its queries).
MAX_QUERIES = 25


def _pages(rep, customer) -> list[tuple[str, str, str]]:
    return [
        ("manager dashboard", "manager", reverse("dashboards:dashboard")),
        (
            "ageing drill-down 90+",
            "manager",
            reverse("dashboards:ageing_invoices") + "?bucket=90%2B",
        ),
        ("ageing drill-down, rep", "rep", reverse("dashboards:ageing_invoices")),
        ("finance desk", "finance", reverse("dashboards:finance_desk")),
        ("rep home", "rep", reverse("dashboards:rep_home")),
        ("manager customer list", "manager", reverse("receivables:customer_list")),
        ("customer page", "rep", customer.get_absolute_url()),
    ]


def _counts(client, users, pages) -> dict[str, int]:
    counts = {}
    for label, role, url in pages:
        client.force_login(users[role])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, label
        counts[label] = len(queries)
    return counts


def test_every_page_costs_the_same_bounded_queries_on_a_small_and_a_larger_book(
    client, django_assert_max_num_queries
):
    # Given a small book: two reps, 20 invoices over four customers
    rep, other = SalesRepFactory(), SalesRepFactory()
    users = {"rep": rep, "manager": ManagerFactory(), "finance": FinanceUserFactory()}
    small = book_create(rep=rep, customers=2, invoices_per_customer=5, prefix="S1")
    book_create(rep=other, customers=2, invoices_per_customer=5, prefix="S2")
    pages = _pages(rep, small.customers[0])
    client.get(reverse("dashboards:dashboard"))  # warm the session and caches alike
    small_counts = _counts(client, users, pages)

    # When the book grows tenfold, to 200 invoices over 22 customers of three reps
    book_create(rep=rep, customers=6, invoices_per_customer=10, prefix="L1")
    book_create(rep=other, customers=6, invoices_per_customer=10, prefix="L2")
    book_create(rep=SalesRepFactory(), customers=6, invoices_per_customer=10, prefix="L3")
    larger_counts = _counts(client, users, pages)

    # Then every page runs the same number of queries, at most MAX_QUERIES
    assert larger_counts == small_counts
    for label, role, url in pages:
        client.force_login(users[role])
        with django_assert_max_num_queries(MAX_QUERIES):
            assert client.get(url).status_code == 200, label


def test_the_customer_page_costs_at_most_max_queries(client, django_assert_max_num_queries):
    rep = SalesRepFactory()
    customer = book_create(rep=rep, customers=2, invoices_per_customer=5, prefix="S1").customers[0]
    client.force_login(rep)

    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(customer.get_absolute_url())


def test_every_demo_customer_page_costs_at_most_max_queries(
    client, seeded_demo, django_assert_max_num_queries
):
    # Given the demo: customers with credit stories, holds, contracts, cases, promises,
    # disputes, plans and letters
    customers = list(Customer.objects.select_related("sales_rep").order_by("code"))
    assert len(customers) > 1

    for customer in customers:
        client.force_login(customer.sales_rep)
        # When the customer's rep opens its page, then it costs at most MAX_QUERIES queries
        with django_assert_max_num_queries(MAX_QUERIES):
            assert client.get(customer.get_absolute_url()).status_code == 200, customer.code
