"""A timeline written in English is read in Chinese (issue 11, part 1), in a real browser.

The ladder runs and a rep logs a call from an English session; the same rep switches
the header's language to Chinese: the case's timeline and tasks are worded in Chinese,
while what the rep typed stays as typed, marked as theirs.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from dunning.models import CollectionCase
from dunning.services.cases import CallOutcome, collection_case_log_call
from dunning.services.run import run_dunning
from receivables.models import Contact
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_a_timeline_written_in_english_reads_in_chinese(live_server, page: Page):
    today = timezone.localdate()
    ensure_default_policy()
    rep = SalesRepFactory(username="rep-lang")
    rep.set_password(PASSWORD)
    rep.save()
    customer = CustomerFactory(sales_rep=rep, code="C-LANG", name="Blue Sea Foods")
    ContactFactory(
        customer=customer, role=Contact.Role.FINANCE, name="Ms Qian", email="ap@bluesea.example"
    )
    InvoiceFactory(
        customer=customer,
        number="INV-LANG-1",
        issue_date=today - timedelta(days=40),
        due_date=today - timedelta(days=1),
        amount=Decimal("9000.00"),
    )
    with translation.override("en"):
        run_dunning(as_of=today)
        case = CollectionCase.objects.get(customer=customer)
        collection_case_log_call(
            case=case,
            outcome=CallOutcome.REACHED,
            note="Ms Qian says the money leaves on Friday",
            contact_name="Ms Qian",
            actor=rep,
            as_of=today,
        )

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rep-lang")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/dunning/cases/{case.pk}/")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Case opened: items overdue on")
    expect(timeline).to_contain_text("Call (Ms Qian): Reached the customer.")

    with page.expect_navigation():
        page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto(f"{live_server.url}/dunning/cases/{case.pk}/")

    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(f"已立案：{today.isoformat()} 有逾期款项。")  # noqa: RUF001
    expect(timeline).to_contain_text("致电 Blue Sea Foods 催收逾期款项 INV-LANG-1")
    expect(timeline).not_to_contain_text("Case opened")
    expect(timeline).not_to_contain_text("about overdue")
    typed = timeline.locator("[data-typed]")
    expect(typed).to_contain_text("Ms Qian says the money leaves on Friday")
    expect(typed).to_contain_text("rep-lang")
    expect(page.locator("main")).to_contain_text("致电 Blue Sea Foods 催收逾期款项 INV-LANG-1")
