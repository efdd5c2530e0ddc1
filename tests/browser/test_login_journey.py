import pytest
from playwright.sync_api import Page, expect

from tests.factories import CustomerFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_logs_in_sees_own_customers_and_switches_to_chinese(live_server, page: Page):
    rep = SalesRepFactory(username="rep1")
    CustomerFactory(sales_rep=rep, name="Own Customer Co")
    CustomerFactory(name="Someone Else Co")

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("rep1")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="My receivables")).to_be_visible()
    expect(page.get_by_text("Own Customer Co").first).to_be_visible()
    expect(page.get_by_text("Someone Else Co")).to_have_count(0)

    page.get_by_label("Language").select_option("zh-hans")

    expect(page.get_by_role("heading", name="我的应收款")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
