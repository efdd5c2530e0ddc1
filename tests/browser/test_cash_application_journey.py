"""Issue 12's new-user walk in a real browser.

finance1 uploads a GB18030 export of the bank (ICBC columns), previews it and
commits it; one receipt is applied, one is left unmatched. rep1 claims the
unmatched one for their customer; finance2 confirms the claim. The customer's
invoice is paid, its reminder task is closed and the timeline has the decisions.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from banking.models import BankAccount, BankReceipt, CustomerPayerAccount
from dunning.models import CaseEvent, CollectionTask
from dunning.services.run import run_dunning
from receivables.models import Invoice
from tests.factories.cases import overdue_invoice
from tests.factories.dunning import dunning_customer, ensure_default_policy
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def test_upload_claim_confirm_and_the_work_follows(live_server, page: Page, tmp_path):
    today = timezone.localdate()
    ensure_default_policy()
    FinanceUserFactory(username="finance1")
    FinanceUserFactory(username="finance2")
    rep = SalesRepFactory(username="rep1")
    known = dunning_customer(code="C-9001", name="苏州湖畔纺织有限公司", sales_rep=rep)
    overdue_invoice(
        customer=known, due=today - timedelta(days=20), amount="1200.00", number="INV-9001"
    )
    stranger = dunning_customer(code="C-9002", name="Wuxi Canal Metals", sales_rep=rep)
    invoice = overdue_invoice(
        customer=stranger, due=today - timedelta(days=5), amount="5000.00", number="INV-9002"
    )
    run_dunning(as_of=today)
    assert CollectionTask.objects.filter(customer=stranger, status="open").exists()
    BankAccount.objects.create(code="ICBC-1", number="6222000011112222", currency="CNY")
    day = (today - timedelta(days=1)).isoformat()
    export = (
        "交易日期,交易流水号,对方户名,对方账号,借方发生额,贷方发生额,余额,摘要\n"
        f'{day},ICBC-A,苏州湖畔纺织有限公司,6217001,,"1,200.00",9000.00,货款\n'
        f"{day},ICBC-B,无锡某某,6217999,,5000.00,14000.00,INV9002 货款\n"
    ).encode("gb18030")
    path = tmp_path / "icbc.csv"
    path.write_bytes(export)

    _log_in(page, live_server.url, "finance1")
    page.locator("#nav-cash summary").click()
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_role("button", name="Import a bank statement").click()
    page.get_by_label("Statement file").set_input_files(str(path))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-result")).to_contain_text("1 would be applied automatically")
    assert not BankReceipt.objects.exists()
    page.get_by_role("button", name="Commit the import").click()
    expect(page.get_by_role("status").first).to_contain_text("1 applied")
    expect(page.locator("body")).to_contain_text("无锡某某")
    _log_out(page)

    _log_in(page, live_server.url, "rep1")
    page.locator("#nav-cash summary").click()
    page.get_by_role("link", name="Receipt claims").click()
    expect(page.locator("#claimable")).to_contain_text("无锡某某")
    expect(page.locator("#claimable")).not_to_contain_text("苏州湖畔")
    page.locator("#claimable").get_by_role("button", name="Claim").click()
    page.get_by_label("Customer").select_option(label="C-9002 Wuxi Canal Metals")
    page.get_by_label("Invoice numbers it pays").fill("INV-9002")
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("status").first).to_contain_text("finance will confirm")
    _log_out(page)

    _log_in(page, live_server.url, "finance2")
    page.goto(f"{live_server.url}/banking/claims/")
    page.locator("#pending-claims").get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("Claim confirmed")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.outstanding == Decimal("0.00")
    assert not CollectionTask.objects.filter(customer=stranger, status="open").exists()
    assert CustomerPayerAccount.objects.filter(customer=stranger, account="6217999").exists()
    kinds = list(CaseEvent.objects.filter(customer=stranger).values_list("kind", flat=True))
    assert CaseEvent.Kind.RECEIPT_CLAIMED in kinds
    assert CaseEvent.Kind.RECEIPT_APPLIED in kinds
