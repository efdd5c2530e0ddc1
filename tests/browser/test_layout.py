"""Layout in Chromium on the seeded demo: nothing overflows a 390 px phone on the key pages
of every role, the English navigation keeps to one row at 1366 px, and table cells never
break a date or an amount across lines."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from contracts.models import Contract
from dunning.models import CollectionCase, Communication
from receivables.models import Customer, Invoice
from tests.browser.test_daily_pages import login
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}


def _key_pages(username: str) -> list[str]:
    customer = Customer.objects.filter(sales_rep__username="rep1").order_by("code").first()
    case = CollectionCase.objects.filter(customer__sales_rep__username="rep1").first()
    invoice = Invoice.objects.filter(customer__sales_rep__username="rep1").first()
    contract = Contract.objects.filter(customer__sales_rep__username="rep1").first()
    communication = Communication.objects.filter(customer__sales_rep__username="rep1").first()
    pages = [
        "/",
        "/customers/",
        customer.get_absolute_url(),
        "/customers/invoices/",
        invoice.get_absolute_url(),
        "/contracts/",
        contract.get_absolute_url(),
        "/dunning/cases/",
    ]
    if case is not None:
        pages.append(reverse("dunning:case_detail", args=[case.pk]))
    if communication is not None:
        pages.append(communication.get_absolute_url())
    if username == "finance1":
        pages += ["/dashboard/finance/", "/dashboard/", "/dunning/letters/"]
    if username == "manager1":
        pages += ["/dashboard/", "/dunning/agreements/"]
    return pages


def _overflow(page: Page) -> dict:
    return page.evaluate(
        """() => {
            const width = document.documentElement.scrollWidth;
            const culprits = [];
            for (const el of document.querySelectorAll('body *')) {
                const box = el.getBoundingClientRect();
                if (box.right > window.innerWidth + 1 && box.width > 0) {
                    culprits.push(el.tagName + '.' + el.className + '#' + el.id);
                }
                if (culprits.length > 5) break;
            }
            return {width, culprits};
        }"""
    )


def test_nothing_overflows_a_390_px_phone(seeded_demo, live_server, page: Page):
    # One demo load for every role and both languages (loading it is the slow part).
    too_wide = {}
    for username in ("rep1", "finance1", "manager1"):
        page.context.clear_cookies()
        login(page, live_server, username)
        for language in ("en", "zh-hans"):
            page.context.add_cookies(
                [{"name": "django_language", "value": language, "url": live_server.url}]
            )
            page.set_viewport_size(PHONE)
            for path in _key_pages(username):
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, path
                result = _overflow(page)
                if result["width"] > PHONE["width"]:
                    too_wide[f"{username} {language} {path}"] = result
    assert not too_wide, too_wide


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_the_english_navigation_keeps_to_one_row_at_1366_px(live_server, page: Page, role):
    # The navigation depends on the roles only: the longest are finance's and an admin's.
    if role == "admin":
        user = UserFactory(username="admin-1366", is_staff=True, is_superuser=True)
    else:
        user = UserFactory(username="finance-1366", role="finance")
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/customers/")

    tops = page.evaluate(
        """() => [...document.querySelectorAll('.site-header nav > ul > li')]
            .map(li => [li.innerText.trim().slice(0, 20),
                        Math.round(li.getBoundingClientRect().top)])"""
    )
    # Items of one row differ by a few pixels (a menu, a form); a second row starts a
    # line height lower.
    first = min(top for _text, top in tops)
    assert all(top < first + 20 for _text, top in tops), tops


def test_tables_never_break_a_date_or_an_amount(live_server, page: Page):
    # Given invoices and payments listed on a phone
    customer = CustomerFactory(code="NOWRAP-1", name="A customer with a rather long name")
    for number in range(3):
        InvoiceFactory(customer=customer, number=f"INV-NOWRAP-{number}", amount="36000.00")
    UserFactory(username="finance-nowrap", role="finance")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("finance-nowrap")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()

    broken = []
    for path in ["/customers/invoices/", "/dashboard/finance/", customer.get_absolute_url()]:
        page.goto(f"{live_server.url}{path}")
        broken += page.evaluate(
            """() => [...document.querySelectorAll('td')]
                .filter(td => /^(\\d{4}-\\d{2}-\\d{2}|[A-Z]{3} [\\d,]+\\.\\d{2}|[\\d,]+\\.\\d{2})$/
                    .test(td.innerText.trim()))
                .filter(td => td.getClientRects().length > 0
                    && getComputedStyle(td).whiteSpace !== 'nowrap')
                .map(td => location.pathname + ': ' + td.innerText.trim())"""
        )
    # Then every cell that is a date or an amount keeps it on one line
    assert not broken, broken[:10]
