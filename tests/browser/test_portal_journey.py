"""The customer's contact, on a phone (375 px), opens the link from the email:
confirms the balance, disputes one line and promises to pay the rest."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from dunning.models import CaseEvent, CollectionTask, Dispute, PromiseToPay
from portal.models import BalanceConfirmation
from portal.services.links import portal_link_create
from tests.factories.cases import overdue_invoice
from tests.factories.dunning import dunning_customer, ensure_default_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_contact_confirms_disputes_and_promises_on_a_phone(live_server, page: Page, tmp_path):
    ensure_default_policy()
    today = timezone.localdate()
    customer = dunning_customer(code="C-P375", name="Shenzhen Phone Parts", language="zh-hans")
    disputed, *rest = (
        overdue_invoice(
            customer=customer,
            due=today - timedelta(days=days),
            amount=amount,
            number=f"INV-P-{index}",
        )
        for index, (days, amount) in enumerate(
            [(40, "3000.00"), (20, "5000.00"), (10, "2000.00")], start=1
        )
    )
    _link, token = portal_link_create(customer=customer, as_of=today - timedelta(days=1))
    photo = tmp_path / "damaged.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n fake photo")

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/p/{token}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_test_id("language-switch").click()
    expect(page.get_by_role("heading", name="Open items")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # confirms the balance as of yesterday
    confirm = page.locator("#confirm")
    expect(confirm).to_contain_text("10,000.00")
    confirm.get_by_label("Your name").fill("Qian Li")
    confirm.get_by_label("Your position").fill("Finance manager")
    confirm.get_by_role("button", name="Confirm the balance").click()
    expect(page.get_by_test_id("done")).to_contain_text("confirmation of the balance")
    expect(page.get_by_test_id("confirmed")).to_be_visible()

    # disputes one line, with a photo
    dispute = page.locator("#dispute")
    dispute.get_by_label("INV-P-1", exact=False).check()
    dispute.get_by_label("What is wrong").fill("Two cartons arrived crushed")
    dispute.get_by_label("Attachment", exact=False).set_input_files(str(photo))
    dispute.get_by_label("Your name").fill("Qian Li")
    dispute.get_by_role("button", name="Send the dispute").click()
    expect(page.get_by_test_id("done")).to_contain_text("received your dispute")

    # promises to pay the rest
    promise = page.locator("#promise")
    expect(promise).not_to_contain_text("INV-P-1")
    for invoice in rest:
        promise.get_by_label(invoice.number, exact=False).check()
    promise.get_by_label("Amount").fill("7000.00")
    promise.get_by_label("Paid by").fill((today + timedelta(days=14)).isoformat())
    promise.get_by_label("Your name").fill("Qian Li")
    promise.get_by_role("button", name="Send the payment date").click()
    expect(page.get_by_test_id("done")).to_contain_text("payment date is recorded")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(tmp_path / "portal-375.png"), full_page=True)

    confirmation = BalanceConfirmation.objects.get(customer=customer)
    assert confirmation.balance == Decimal("10000.00")
    assert confirmation.name == "Qian Li"
    assert list(Dispute.objects.get(customer=customer).invoices.all()) == [disputed]
    promise_row = PromiseToPay.objects.get(customer=customer)
    assert promise_row.amount == Decimal("7000.00")
    assert set(promise_row.invoices.all()) == set(rest)
    kinds = set(CaseEvent.objects.filter(customer=customer).values_list("kind", flat=True))
    assert {
        CaseEvent.Kind.PORTAL_BALANCE_CONFIRMED,
        CaseEvent.Kind.PORTAL_DISPUTE,
        CaseEvent.Kind.PORTAL_PROMISE,
    } <= kinds
    assert (
        CollectionTask.objects.filter(
            customer=customer, kind=CollectionTask.Kind.CUSTOMER_PORTAL
        ).count()
        == 3
    )
