"""Issue 9's walk in Chromium: the work follows the money.

The morning's run chased a customer's two overdue invoices: a call for the rep, an open
case. finance1 pays both from the customer page; at once the rep's home drops the call
and the case closes as paid. finance1 reverses the payment; the call and the case come
back. manager1 approves an instalment plan for the older invoice; the dashboard, the
customer page and the case page then show the same overdue figure, to the cent.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from contracts.models import SupplementaryAgreement
from dunning.models import CollectionCase
from dunning.services.agreements import InstalmentInput, agreement_propose
from dunning.services.run import run_dunning
from receivables.models import Payment
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
CALL = "Call Northwind Trading about overdue"


def _logged_in(browser, base_url: str, username: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def test_paying_and_reversing_move_the_work_and_a_plan_reads_the_same_everywhere(
    live_server, browser
):
    today = timezone.localdate()
    ensure_default_policy()
    rep = SalesRepFactory(username="rep1")
    FinanceUserFactory(username="finance1")
    ManagerFactory(username="manager1")
    customer = dunning_customer(sales_rep=rep, code="C-9001", name="Northwind Trading")
    older = due_invoice(
        customer=customer, due=today - timedelta(days=40), number="INV-9001-A", amount="800.00"
    )
    due_invoice(
        customer=customer, due=today - timedelta(days=20), number="INV-9001-B", amount="1200.00"
    )
    run_dunning(as_of=today)
    case = CollectionCase.objects.get(customer=customer)
    case_url = f"{live_server.url}{reverse('dunning:case_detail', args=[case.pk])}"
    customer_url = f"{live_server.url}{customer.get_absolute_url()}"

    # The rep's morning: a call about both invoices, an open case.
    rep_page = _logged_in(browser, live_server.url, "rep1")
    expect(rep_page.get_by_text(CALL)).to_be_visible()
    rep_page.goto(case_url)
    expect(rep_page.get_by_test_id("case-overdue")).to_have_text("CNY 2,000.00")

    # finance1 pays everything from the customer page.
    finance_page = _logged_in(browser, live_server.url, "finance1")
    finance_page.goto(customer_url)
    finance_page.locator("#customer-invoices").get_by_role(
        "button", name="Record a payment"
    ).click()
    finance_page.get_by_label("Amount").fill("2000.00")
    finance_page.get_by_label("Bank reference").fill("CMB-9001-01")
    finance_page.get_by_label("Oldest due first").check()
    finance_page.get_by_role("button", name="Record payment").click()
    expect(finance_page.get_by_role("status")).to_contain_text("2,000.00 allocated, 0.00 left")

    # At once: no call on the rep's home, the case closed as paid, nothing overdue.
    rep_page.goto(f"{live_server.url}/")
    expect(rep_page.get_by_text(CALL)).to_have_count(0)
    rep_page.goto(case_url)
    expect(rep_page.get_by_text("Case closed, nothing overdue any more (Paid).")).to_be_visible()
    expect(rep_page.get_by_text("Nothing is overdue.")).to_be_visible()
    expect(rep_page.get_by_text("No open tasks.")).to_be_visible()

    # finance1 reverses the payment: the work comes back.
    finance_page.goto(f"{live_server.url}{Payment.objects.get().get_absolute_url()}")
    finance_page.get_by_text("Reverse this payment").click()
    finance_page.get_by_label("Reason").fill("Bounced by the bank")
    finance_page.get_by_role("button", name="Reverse payment").click()
    expect(
        finance_page.get_by_text("Payment reversed; its invoices are open again.")
    ).to_be_visible()
    rep_page.goto(f"{live_server.url}/")
    expect(rep_page.get_by_text(CALL)).to_be_visible()
    rep_page.goto(case_url)
    expect(rep_page.get_by_test_id("case-overdue")).to_have_text("CNY 2,000.00")
    expect(rep_page.get_by_role("button", name="Log a call", exact=True)).to_be_visible()

    # The rep proposed a plan for the older invoice; manager1 approves it on the dashboard.
    agreement_propose(
        customer=customer,
        invoices=[older],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=today + timedelta(days=10), amount=Decimal("500.00")),
            InstalmentInput(due_date=today + timedelta(days=40), amount=Decimal("300.00")),
        ],
        reason="Cash flow until the next season",
        actor=rep,
        as_of=today,
    )
    manager_page = _logged_in(browser, live_server.url, "manager1")
    manager_page.goto(f"{live_server.url}/dashboard/")
    expect(manager_page.get_by_test_id("kpi-overdue")).to_have_text("2,000.00")
    manager_page.locator("#agreements a", has_text="Review").first.click()
    manager_page.get_by_role("button", name="Approve").click()
    expect(manager_page.locator(".message-success")).to_be_visible()

    # Only the invoice outside the plan is overdue now, on every page alike.
    manager_page.goto(f"{live_server.url}/dashboard/")
    expect(manager_page.get_by_test_id("kpi-overdue")).to_have_text("1,200.00")
    manager_page.goto(customer_url)
    expect(manager_page.get_by_test_id("customer-overdue")).to_have_text("CNY 1,200.00")
    manager_page.goto(case_url)
    expect(manager_page.get_by_test_id("case-overdue")).to_have_text("CNY 1,200.00")
    # while the replaced invoice keeps its own due date
    manager_page.goto(f"{live_server.url}{older.get_absolute_url()}")
    expect(manager_page.get_by_text((today - timedelta(days=40)).isoformat()).first).to_be_visible()
