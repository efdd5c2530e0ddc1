"""The collections journey of issue 5, in a real browser.

rep1 opens the customer's case, logs a call and records a promise to pay;
manager1 approves the instalment plan rep1 proposed; finance1 previews and
approves the demand letter, the sender stores it, and finance1 downloads it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from dunning.models import CaseEvent, Communication, PromiseToPay
from dunning.services.agreements import InstalmentInput, agreement_propose
from dunning.services.send import communications_send
from receivables.models import Contact
from tests.factories.cases import (
    CollectionCaseFactory,
    CommunicationFactory,
    ContractFactory,
    DunningStepFactory,
    invoice_under_contract,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _log_out(page: Page, username: str) -> None:
    page.get_by_role("button", name=f"Log out {username}").click()


def test_rep_manager_and_finance_work_a_collection_case(live_server, page: Page, tmp_path):
    today = timezone.localdate()
    rep = SalesRepFactory(username="rep1")
    ManagerFactory(username="manager1")
    FinanceUserFactory(username="finance1")
    customer = CustomerFactory(
        sales_rep=rep, code="C-8001", name="Qingdao Blue Sea Foods", language="en"
    )
    ContactFactory(
        customer=customer, role=Contact.Role.FINANCE, name="Ms Qian", email="ap@bluesea.example"
    )
    contract = ContractFactory(customer=customer, number="HT-E2E-COLL")
    promised, planned, lettered = (
        invoice_under_contract(
            contract=contract,
            number=number,
            issue_date=today - timedelta(days=60),
            due_date=today - timedelta(days=days),
            amount=Decimal(amount),
        )
        for number, days, amount in (
            ("INV-E2E-1", 20, "3000.00"),
            ("INV-E2E-2", 25, "8000.00"),
            ("INV-E2E-3", 30, "5000.00"),
        )
    )
    case = CollectionCaseFactory(customer=customer, owner=rep, opened_on=today - timedelta(days=19))
    agreement = agreement_propose(
        customer=customer,
        invoices=[planned],
        kind="instalment_plan",
        instalments=[
            InstalmentInput(due_date=today + timedelta(days=30), amount=Decimal("4000.00")),
            InstalmentInput(due_date=today + timedelta(days=60), amount=Decimal("4000.00")),
        ],
        reason="Waiting for a large payment of its own",
        actor=rep,
        as_of=today,
    )
    letter = CommunicationFactory(
        customer=customer,
        business_date=today,
        recipient_name="Ms Qian",
        recipient_email="ap@bluesea.example",
    )
    DunningStepFactory(invoice=lettered, communication=letter, fired_on=today)

    # rep1 opens the case from Collections and logs the call
    _log_in(page, live_server.url, "rep1")
    page.get_by_role("link", name="Collections").click()
    page.get_by_role("link", name="C-8001 Qingdao Blue Sea Foods").click()
    expect(
        page.get_by_role("heading", name="Collection case: Qingdao Blue Sea Foods")
    ).to_be_visible()
    call = page.locator(f'form[action="/dunning/cases/{case.pk}/call/"]')
    call.get_by_label("Outcome").select_option("reached")
    call.get_by_label("Spoke with").fill("Ms Qian")
    call.get_by_label("What was said").fill("Payment run next week, INV-E2E-1 first")
    call.get_by_role("button", name="Log the call").click()
    expect(page.get_by_text("Call logged.")).to_be_visible()
    expect(page.get_by_text("Payment run next week, INV-E2E-1 first")).to_be_visible()

    # ... and records the promise to pay
    page.get_by_role("button", name="Record a promise to pay").click()
    page.get_by_label("INV-E2E-1", exact=False).check()
    page.get_by_label("Amount promised").fill("3000.00")
    page.get_by_label("Promised payment date").fill((today + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Record the promise").click()
    expect(page.get_by_text("Promise to pay recorded")).to_be_visible()
    _log_out(page, "rep1")

    # manager1 approves the instalment plan rep1 proposed
    _log_in(page, live_server.url, "manager1")
    page.locator("#nav-queues summary").click()
    page.get_by_role("link", name="Agreements to approve").click()
    expect(page.get_by_text(agreement.number)).to_be_visible()
    page.get_by_role("button", name="Review").click()
    page.get_by_label("Comment").fill("Fine, two instalments")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"Agreement {agreement.number} approved")).to_be_visible()
    _log_out(page, "manager1")

    # finance1 previews and approves the demand letter
    _log_in(page, live_server.url, "finance1")
    page.locator("#nav-queues summary").click()
    page.get_by_role("link", name="Letters to approve").click()
    with page.expect_popup() as preview_popup:
        page.get_by_role("link", name="Preview PDF").click()
    preview_popup.value.close()
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("goes out with the next send")

    # the next send renders, stores and emails the letter
    communications_send(ids=[letter.pk])
    letter.refresh_from_db()
    assert letter.status == Communication.Status.SENT, letter.failure_detail
    assert letter.letter_pdf
    [email] = [message for message in mail.outbox if "ap@bluesea.example" in message.to]
    assert [attachment[2] for attachment in email.attachments] == ["application/pdf"]

    # finance1 downloads the stored PDF
    page.goto(f"{live_server.url}/dunning/messages/{letter.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the letter (PDF)").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == f"demand-letter-C-8001-{today.isoformat()}.pdf"
    assert target.read_bytes().startswith(b"%PDF")

    # the database agrees with what the pages said
    promise = PromiseToPay.objects.get()
    assert promise.amount == Decimal("3000.00")
    assert list(promise.invoices.all()) == [promised]
    agreement.refresh_from_db()
    assert agreement.status == "approved"
    attempt = CaseEvent.objects.get(kind=CaseEvent.Kind.CONTACT_ATTEMPT)
    assert attempt.actor == rep
