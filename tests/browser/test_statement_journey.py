"""A statement of account from the customer page, in a real browser.

The rep who owns a customer opens its page, asks for last month's statement as
a PDF and gets the document with the month's invoice and the closing balance.
"""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page
from pypdf import PdfReader

from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_the_rep_downloads_a_statement_from_the_customer_page(live_server, page: Page):
    today = timezone.localdate()
    start = today.replace(day=1) - timedelta(days=1)
    start = start.replace(day=1)
    end = today.replace(day=1) - timedelta(days=1)
    rep = SalesRepFactory(username="rep1")
    customer = CustomerFactory(
        sales_rep=rep, code="C-9001", name="Ningbo Harbour Tools", language="en"
    )
    InvoiceFactory(
        customer=customer,
        number="INV-9001",
        issue_date=start + timedelta(days=4),
        amount=Decimal("4321.00"),
    )

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rep1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    form = page.locator("#statements form")
    form.locator('input[name="date_from"]').fill(start.isoformat())
    form.locator('input[name="date_to"]').fill(end.isoformat())
    form.locator('select[name="format"]').select_option("pdf")
    with page.expect_download() as download_info:
        form.get_by_role("button", name="Download").click()

    download = download_info.value
    assert download.suggested_filename == (f"statement-C-9001-{start:%Y%m%d}-{end:%Y%m%d}.pdf")
    text = PdfReader(io.BytesIO(download.path().read_bytes())).pages[0].extract_text()
    assert "INV-9001" in text
    assert "4,321.00" in text
