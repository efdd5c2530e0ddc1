"""The payments part of issue 4's journey, in a real browser.

finance1 opens a customer with two overdue invoices, records a partial
payment from the customer page, is brought back to it and sees the new
balance and ageing; the rep who owns the customer sees the same figures.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from receivables.models import Invoice, Payment
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


def test_finance_records_a_partial_payment_and_sees_balance_and_ageing(
    live_server, page: Page, browser
):
    today = timezone.localdate()
    FinanceUserFactory(username="finance1")
    rep = SalesRepFactory(username="rep1")
    customer = CustomerFactory(sales_rep=rep, code="C-8001", name="Suzhou Lakeside Textiles")
    older = InvoiceFactory(
        customer=customer,
        number="INV-8001-A",
        issue_date=today - timedelta(days=100),
        due_date=today - timedelta(days=70),
        amount=Decimal("3000.00"),
    )
    newer = InvoiceFactory(
        customer=customer,
        number="INV-8001-B",
        issue_date=today - timedelta(days=40),
        due_date=today - timedelta(days=10),
        amount=Decimal("2000.00"),
    )

    _log_in(page, live_server.url, "finance1")
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="C-8001").click()
    expect(page.locator("#customer-open-balance")).to_have_text("CNY 5,000.00")
    expect(page.locator('#customer-ageing [data-bucket="61-90"]')).to_have_text("3,000.00")
    expect(page.locator('#customer-ageing [data-bucket="1-30"]')).to_have_text("2,000.00")

    page.locator("#customer-invoices").get_by_role("button", name="Record a payment").click()
    page.get_by_label("Amount").fill("3,500.00")
    page.get_by_label("Bank reference").fill("ICBC-20260630-01")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Enter a plain amount such as 3500.00")).to_be_visible()

    page.get_by_label("Amount").fill("3500.00")
    page.get_by_label("Oldest due first").check()
    page.get_by_role("button", name="Record payment").click()

    expect(page).to_have_url(f"{live_server.url}{customer.get_absolute_url()}")
    expect(page.get_by_role("status")).to_contain_text("3,500.00 allocated, 0.00 left")
    expect(page.locator("#customer-open-balance")).to_have_text("CNY 1,500.00")
    expect(page.locator('#customer-ageing [data-bucket="61-90"]')).to_have_text("0.00")
    expect(page.locator('#customer-ageing [data-bucket="1-30"]')).to_have_text("1,500.00")
    expect(page.locator('#customer-ageing [data-bucket="total"]')).to_have_text("CNY 1,500.00")
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.outstanding) == (Invoice.Status.PAID, Decimal("1500.00"))
    assert Payment.objects.get().reference == "ICBC-20260630-01"

    # The owning rep sees the same balance, without the finance action.
    rep_page = browser.new_context().new_page()
    _log_in(rep_page, live_server.url, "rep1")
    rep_page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    expect(rep_page.locator("#customer-open-balance")).to_have_text("CNY 1,500.00")
    expect(
        rep_page.locator("#customer-invoices").get_by_role("button", name="Record a payment")
    ).to_have_count(0)
