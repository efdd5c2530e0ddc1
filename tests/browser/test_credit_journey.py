"""A new customer's way to credit, in Chromium: rep drafts and submits, finance approves less."""

import re

import pytest
from playwright.sync_api import Page, expect

from receivables.models import Customer
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
FACTORS = (
    "Industry position",
    "Operating condition",
    "Financial health",
    "Cooperation history and reputation",
    "Payment habits",
)


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {username}")).to_be_visible()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Log out")).click()
    expect(page.get_by_label("Username")).to_be_visible()


def test_rep_gets_a_customer_assessed_and_finance_approves_a_lower_limit(live_server, page: Page):
    SalesRepFactory(username="rep1")
    SalesRepFactory(username="rep2")
    FinanceUserFactory(username="finance1")
    base = live_server.url

    # rep1 creates the customer.
    _log_in(page, base, "rep1")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("button", name="New customer").click()
    page.get_by_label("Code").fill("C-8001")
    page.get_by_label("Name").fill("Qingdao Harbour Cranes Ltd.")
    page.get_by_label("Industry").fill("Machinery")
    page.get_by_label("Currency").fill("CNY")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Qingdao Harbour Cranes Ltd.")).to_be_visible()
    expect(page.get_by_text("No finance contact")).to_be_visible()
    customer_url = page.url

    # ... adds its finance contact ...
    page.get_by_role("link", name="Add the finance contact").click()
    expect(page.get_by_label("Role")).to_have_value("finance")
    page.get_by_label("Name").fill("Grace Lin")
    page.get_by_label("Email").fill("ap@cranes.example")
    page.get_by_label("IM handle").fill("wechat:gracelin")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Grace Lin", exact=True)).to_be_visible()
    expect(page.get_by_text("No finance contact")).to_have_count(0)

    # ... fills the scorecard and submits it; a missing source is refused first.
    page.get_by_role("button", name="New credit assessment").click()
    for factor in FACTORS:
        page.get_by_label(f"{factor} (weight").select_option("4")
        page.get_by_label(f"{factor}: justification").fill(f"{factor}: checked, solid.")
    page.get_by_label("Requested limit").fill("100000")
    page.get_by_label("Requested terms (days)").fill("30")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Tick at least one source")).to_be_visible()
    page.get_by_label("Public records").check()
    page.get_by_label("Third-party credit agency").check()
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_test_id("assessment-status")).to_have_text("Submitted")
    expect(page.get_by_test_id("assessment-grade")).to_have_text("A")
    expect(page.get_by_text("capped as a new customer")).to_be_visible()
    _log_out(page)

    # finance1 finds it in the queue and approves less than requested.
    _log_in(page, base, "finance1")
    page.locator("#nav-queues summary").click()
    page.get_by_role("link", name="Credit approvals", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Qingdao Harbour Cranes"))
    expect(row).to_be_visible()
    row.get_by_role("button", name="Review").click()
    approve = page.locator("form[action$='/approve/']")
    # A new customer: the policy caps what can be approved (50,000.00 and 15 days).
    approve.get_by_label("Approved limit").fill("80000")
    approve.get_by_label("Comment").fill("Try more.")
    approve.get_by_role("button", name="Approve").click()
    expect(
        page.get_by_text("the credit policy caps new customers at 50,000.00 CNY")
    ).to_be_visible()
    approve.get_by_label("Approved limit").fill("40000")
    approve.get_by_label("Approved terms (days)").fill("15")
    approve.get_by_label("Comment").fill("Start with a smaller limit.")
    approve.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("now has a limit of 40,000.00 CNY")).to_be_visible()
    expect(page.get_by_text("Nothing waits for approval.")).to_be_visible()
    _log_out(page)

    # rep1 sees the new limit and the history line.
    _log_in(page, base, "rep1")
    page.goto(customer_url)
    expect(page.get_by_test_id("credit-limit")).to_have_text("CNY 40,000.00")
    expect(page.get_by_test_id("payment-terms")).to_have_text("15 days")
    history = page.get_by_role("row", name=re.compile("finance1.*Customer: changed"))
    expect(history).to_contain_text("credit limit: 0.00 → 40,000.00")
    expect(history).to_contain_text("payment terms (days): 0 → 15")
    _log_out(page)

    # rep2 cannot open rep1's customer, not even by URL.
    _log_in(page, base, "rep2")
    response = page.goto(customer_url)
    assert response is not None
    assert response.status == 404
    customer = Customer.objects.get(code="C-8001")
    assert customer.credit_limit == 40000
    assert customer_url.endswith(customer.get_absolute_url())
