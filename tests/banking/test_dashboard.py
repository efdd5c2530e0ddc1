"""The manager dashboard's cash-application figures, read through banking's selectors."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from banking.selectors.dashboard import (
    cash_application_figures,
    receipts_unmatched_by_age,
)
from banking.services.receipts import bank_statement_import
from tests.banking.conftest import HEADER
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(account, book):
    statement = (
        HEADER
        + "A,2026-03-01,400.00,CNY,Acme Trading Co.,,\n"  # applied
        + "B,2026-03-01,1400.00,CNY,Acme Trading Co.,,\n"  # suggested
        + "C,2026-02-20,50.00,CNY,Nobody,,\n"  # unmatched, 10 days old
        + "D,2026-01-10,70.00,CNY,Nobody,,\n"  # unmatched, 51 days old
    )
    return bank_statement_import(account=account, data=statement.encode())


def test_figures(imported, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        figures = cash_application_figures(as_of=date(2026, 3, 2), currency="CNY")
    assert figures["applied"]["today"] == Decimal("400.00")
    assert figures["applied"]["month"] == Decimal("400.00")
    assert figures["straight_through"] == {
        "receipts": 4,
        "automatic": 1,
        "rate": Decimal("25.0"),
    }
    assert figures["waiting"] == receipts_unmatched_by_age(as_of=date(2026, 3, 2))
    assert figures["waiting"] == [
        {"bucket": "0-7", "count": 1, "amount": Decimal("1400.00")},
        {"bucket": "8-30", "count": 1, "amount": Decimal("50.00")},
        {"bucket": "31+", "count": 1, "amount": Decimal("70.00")},
    ]


def test_the_manager_dashboard_shows_them(imported):
    client = Client()
    client.force_login(ManagerFactory())
    page = client.get(reverse("dashboards:dashboard")).content.decode()
    assert 'data-testid="kpi-straight-through">25.0 %' in page
    assert 'data-testid="kpi-cash-today">400.00' in page
