"""A page of any list costs the same number of queries for a small and a large book."""

import pytest

from tests.api.conftest import make_book

pytestmark = pytest.mark.django_db

LISTS = [
    "customers/",
    "invoices/",
    "invoices/?overdue=true",
    "invoices/?bucket=90%2B&as_of=2026-01-15",
    "payments/",
    "credit-notes/",
    "contracts/",
    "milestones/",
    "cases/",
    "messages/",
    "promises/",
    "disputes/",
    "bank-receipts/",
    "bank-receipts/?date_from=2026-01-01",
    "acceptance-bills/",
    "acceptance-bills/?status=held",
    "ageing/",
    "ageing/?as_of=2026-01-15",
]
# Authentication (token, user, roles), the page and its prefetches, and the throttle-free rest.
MAX_QUERIES = 12


def _grow(users, *, books: int, invoices: int) -> None:
    for n in range(books):
        make_book(users["rep1"], code=f"G{n}", count=invoices)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(("books", "invoices"), [(1, 1), (6, 5)])
def test_a_page_takes_a_bounded_number_of_queries(
    api, users, django_assert_max_num_queries, path, books, invoices
):
    _grow(users, books=books, invoices=invoices)
    client = api("rep1")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/api/v1/{path}")
    assert response.status_code == 200
    body = response.json()
    if "results" in body:
        assert body["results"]


# What finance reads in bulk (the bench's API lists, and every receipt with its customer).
FINANCE_LISTS = [
    "invoices/?page_size=100",
    "invoices/?status=open&page_size=100",
    "customers/?page_size=100",
    "payments/?page_size=100",
    "bank-receipts/?page_size=100",
    "bank-receipts/?status=applied&account=G0-ICBC&date_from=2026-01-01",
    "acceptance-bills/?page_size=100",
]


@pytest.mark.parametrize("path", FINANCE_LISTS)
@pytest.mark.parametrize(("books", "invoices"), [(1, 1), (6, 5)])
def test_finance_pages_take_a_bounded_number_of_queries(
    api, users, django_assert_max_num_queries, path, books, invoices
):
    _grow(users, books=books, invoices=invoices)
    client = api("finance1")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/api/v1/{path}")
    assert response.status_code == 200
    assert response.json()["results"]


def test_the_bench_walks_api_pages_with_a_token_and_counts_statements(users):
    from bench.measure import API_PATHS, measure_api_list

    _grow(users, books=3, invoices=5)
    path = API_PATHS["api_invoices"].replace("page_size=100", "page_size=4")
    result = measure_api_list(
        "api_invoices", path, users["finance1"].pk, repeat=4, cap=30, budget=30
    )

    assert result.errors == 0, result.note
    assert len(result.samples) == 4
    assert 1 <= result.queries <= MAX_QUERIES
    assert "4 rows a page, 4 pages walked" in result.note
