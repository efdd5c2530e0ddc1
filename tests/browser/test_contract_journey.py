"""The contracts part of issue 4's journey, in a real browser.

finance1 drafts a contract with 30/60/10 milestones and submits it; finance2
(never the drafter) approves and activates it; finance1 records the delivery
with a proof file, issues the delivery milestone's invoice, marks it delivered
and confirmed on the invoice page and sees both on the contract page.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contracts.models import Contract, DeliveryRecord
from receivables.models import Invoice
from tests.factories.contracts import PDF_BYTES
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _fill_milestone(
    page: Page, row: int, description: str, percent: str, trigger: str, offset: str
):
    page.locator(f'[name="milestones-{row}-description"]').fill(description)
    page.locator(f'[name="milestones-{row}-percent"]').fill(percent)
    page.locator(f'[name="milestones-{row}-trigger"]').select_option(trigger)
    page.locator(f'[name="milestones-{row}-offset_days"]').fill(offset)


def test_finance_takes_a_contract_from_draft_to_an_invoiced_delivery(live_server, page: Page):
    FinanceUserFactory(username="finance1")
    FinanceUserFactory(username="finance2")
    customer = CustomerFactory(
        sales_rep=SalesRepFactory(),
        code="C-7001",
        name="Ningbo Harbour Machinery",
        credit_limit=Decimal("500000.00"),
        payment_terms_days=30,
    )
    today = timezone.localdate()

    _log_in(page, live_server.url, "finance1")
    page.get_by_role("link", name="Contracts").click()
    page.get_by_role("button", name="New contract").click()

    # Draft with three milestones; the first try adds up to 90 % and is refused.
    page.get_by_label("Number").fill("HT-E2E-001")
    page.get_by_label("Customer").select_option(str(customer.pk))
    page.get_by_label("Title").fill("Harbour crane retrofit")
    page.get_by_label("Amount:", exact=True).fill("100000.01")
    page.get_by_label("Currency").fill("CNY")
    page.get_by_label("Payment type").select_option("instalments")
    page.get_by_label("Credit terms (days)").fill("30")
    page.get_by_label("Payee account name").fill("Huikuan Demo Trading Co., Ltd.")
    page.get_by_label("Payee bank:", exact=True).fill("Bank of China, Ningbo Branch")
    page.get_by_label("Payee bank account").fill("6216 6100 0000 1234")
    page.get_by_label("Late-fee rate (%)").fill("0.05")
    page.get_by_label("Late-fee cap (percent of overdue amount)").fill("10")
    page.get_by_label("Dispute-resolution clause").fill("Ningbo Arbitration Commission.")
    _fill_milestone(page, 0, "Advance payment", "30", "signing", "10")
    _fill_milestone(page, 1, "On delivery", "50", "delivery", "30")
    _fill_milestone(page, 2, "After acceptance", "10", "acceptance", "15")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_text("The milestones add up to 90.00 %")).to_be_visible()
    assert not Contract.objects.exists()

    page.locator('[name="milestones-1-percent"]').fill("60")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="Contract HT-E2E-001")).to_be_visible()
    milestones = page.locator("#milestones tbody tr")
    expect(milestones).to_have_count(3)
    # 30 % of 100,000.01 rounds to 30,000.00, 60 % to 60,000.01; the last takes the rest.
    expect(milestones.nth(0)).to_contain_text("30,000.00")
    expect(milestones.nth(1)).to_contain_text("60,000.01")
    expect(milestones.nth(2)).to_contain_text("10,000.00")

    # Review and activation.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Contract submitted to finance for review.")).to_be_visible()
    expect(page.locator("#review-by-another")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    contract_url = page.url
    page.get_by_role("button", name="Log out finance1").click()
    _log_in(page, live_server.url, "finance2")
    page.goto(contract_url)
    page.get_by_label("Review comment").fill("Clauses and schedule checked.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Contract approved")).to_be_visible()
    page.get_by_label("Signed on").fill(today.isoformat())
    page.get_by_role("button", name="Activate contract").click()
    expect(page.get_by_text("Contract activated.")).to_be_visible()
    expect(page.locator('[data-status="active"]')).to_be_visible()
    page.get_by_role("button", name="Log out finance2").click()
    _log_in(page, live_server.url, "finance1")
    page.goto(contract_url)
    advance = Contract.objects.get().milestones.get(sequence=1)
    assert advance.due_date == today + timedelta(days=10)

    # Delivery with its signed proof.
    page.get_by_role("button", name="Record delivery or acceptance").click()
    page.get_by_label("Event").select_option("delivery")
    page.get_by_label("Date").fill(today.isoformat())
    page.get_by_label("Signed by").fill("Zhao Lei")
    page.get_by_label("Signed proof").set_input_files(
        files=[{"name": "delivery-note.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("1 milestone is now due")).to_be_visible()
    expect(page.get_by_role("link", name="delivery-note.pdf")).to_be_visible()
    record = DeliveryRecord.objects.get()
    assert record.proof_content_type == "application/pdf"

    # The proof downloads as an attachment.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="delivery-note.pdf").click()
    assert download_info.value.suggested_filename == "delivery-note.pdf"

    # Invoice the delivery milestone.
    milestones.nth(1).get_by_role("button", name="Issue invoice").click()
    expect(page.locator("#invoice-amount")).to_contain_text("60,000.01")
    page.get_by_label("Invoice number").fill("INV-E2E-002")
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_text("Invoice INV-E2E-002 issued")).to_be_visible()
    expect(milestones.nth(1)).to_contain_text("INV-E2E-002")
    expect(milestones.nth(1)).to_contain_text("not delivered")

    invoice = Invoice.objects.get(number="INV-E2E-002")
    assert invoice.amount == Decimal("60000.01")
    assert invoice.due_date == today + timedelta(days=30)
    assert invoice.milestone.sequence == 2
    assert Contract.objects.get().status == Contract.Status.ACTIVE

    # The invoice page (receivables) records its delivery and the confirmation of receipt.
    contract_url = page.url
    milestones.nth(1).get_by_role("link", name="INV-E2E-002").click()
    expect(page.locator("#proof-of-delivery")).to_contain_text("Missing")
    moment = (timezone.localtime() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_text("Record the delivery").click()
    page.get_by_label("Delivery method").select_option("courier")
    page.get_by_label("Tracking number").fill("SF1234567890")
    page.get_by_label("Delivered at").fill(moment)
    page.get_by_role("button", name="Save delivery").click()
    expect(page.locator("#proof-of-delivery")).to_contain_text("SF1234567890")
    page.get_by_text("Record the confirmation of receipt").click()
    page.get_by_label("Confirmed by").fill("Qian Hua (accounts payable)")
    page.get_by_label("Confirmed at").fill(moment)
    page.get_by_role("button", name="Save confirmation").click()
    expect(page.locator("#confirmation-of-receipt")).to_contain_text("Qian Hua")

    page.goto(contract_url)
    expect(milestones.nth(1)).to_contain_text("✓ delivered")
    expect(milestones.nth(1)).to_contain_text("✓ receipt confirmed")
