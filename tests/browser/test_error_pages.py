"""The 403 and 404 pages are the site's own, styled and in the reader's language, at 390 px."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from receivables.models import Customer
from tests.browser.test_daily_pages import login, to_chinese

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _looks_like_ours(page: Page) -> None:
    # The site's header and stylesheet, not a bare server answer; nothing wider than a phone.
    assert page.locator("header nav").count() >= 1
    assert page.evaluate("() => document.styleSheets.length") >= 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_another_reps_customer_and_a_finance_only_page_answer_styled_in_both_languages(
    seeded_demo, live_server, page: Page
):
    # Given rep1 on a phone, and a customer of rep2's
    theirs = Customer.objects.filter(sales_rep__username="rep2").order_by("code").first()
    login(page, live_server, "rep1")
    page.set_viewport_size({"width": 390, "height": 844})

    # When rep1 opens it, and then finance's webhooks page, in English
    not_found = page.goto(f"{live_server.url}{theirs.get_absolute_url()}")
    assert not_found.status == 404
    _looks_like_ours(page)
    assert page.locator("h1").inner_text() == "Page not found"
    forbidden = page.goto(f"{live_server.url}{reverse('integrations:webhook_list')}")
    assert forbidden.status == 403
    _looks_like_ours(page)
    assert page.locator("h1").inner_text() == "Not allowed"

    # Then in Chinese the same pages speak Chinese
    page.goto(f"{live_server.url}/")
    to_chinese(page)
    page.goto(f"{live_server.url}{theirs.get_absolute_url()}")
    assert page.locator("h1").inner_text() == "找不到页面"
    page.goto(f"{live_server.url}{reverse('integrations:webhook_list')}")
    assert page.locator("h1").inner_text() == "不允许"
    _looks_like_ours(page)
