"""Acceptance bills in a real browser: finance receives a bill from the customer page, its
invoice is settled, the desk lists it by maturity, and a dishonour re-opens the invoice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bills.models import AcceptanceBill
from receivables.models import Invoice
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_finance_receives_a_bill_sees_it_on_the_desk_and_records_its_dishonour(
    live_server, page: Page
):
    today = timezone.localdate()
    FinanceUserFactory(username="finance1")
    customer = CustomerFactory(
        sales_rep=SalesRepFactory(username="rep1"), code="C-9001", name="Ningbo Harbour Tools"
    )
    invoice = InvoiceFactory(
        customer=customer,
        number="INV-9001",
        issue_date=today - timedelta(days=50),
        due_date=today - timedelta(days=20),
        amount=Decimal("8000.00"),
    )

    _log_in(page, live_server.url, "finance1")
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    expect(page.locator("#customer-open-balance")).to_have_text("CNY 8,000.00")
    page.locator("#customer-bills").get_by_role("button", name="Receive a bill").click()

    page.get_by_label("Bill number").fill("31005100000120260601")
    page.get_by_label("Kind").select_option("bank")
    page.get_by_label("Acceptor").fill("Bank of Ningbo")
    page.get_by_label("Drawer").fill("Ningbo Harbour Tools Co., Ltd.")
    page.get_by_label("Issue date").fill((today - timedelta(days=5)).isoformat())
    page.get_by_label("Maturity date").fill((today - timedelta(days=6)).isoformat())
    page.get_by_label("Face amount").fill("8000.00")
    page.get_by_label("To the invoices below").check()
    page.get_by_label("Allocate to INV-9001").fill("8000.00")
    page.get_by_role("button", name="Record the bill").click()
    expect(page.get_by_text("The maturity date is before the issue date.")).to_be_visible()

    page.get_by_label("Maturity date").fill((today + timedelta(days=25)).isoformat())
    page.get_by_role("button", name="Record the bill").click()

    expect(page.get_by_test_id("bill-status")).to_have_text("Held")
    expect(page.get_by_role("status")).to_contain_text("the invoices it pays are settled")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID

    page.goto(f"{live_server.url}/dashboard/finance/")
    expect(
        page.locator('#queue-bills [data-window="0-30"]').get_by_role(
            "link", name="31005100000120260601"
        )
    ).to_be_visible()
    page.locator("#queue-bills").get_by_role("link", name="31005100000120260601").click()

    page.get_by_label("Reason").fill("Refused at presentation")
    page.get_by_role("button", name="Record dishonour").click()

    expect(page.get_by_test_id("bill-status")).to_have_text("Dishonoured")
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    expect(page.locator("#customer-open-balance")).to_have_text("CNY 8,000.00")
    assert AcceptanceBill.objects.get().status == AcceptanceBill.Status.DISHONOURED
