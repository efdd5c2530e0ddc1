"""Cash-application pages through the Django test client: upload, queue, claims, scoping."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from banking.models import BankReceipt, CustomerAlias, CustomerPayerAccount, ReceiptClaim
from banking.services.receipts import bank_statement_import
from dunning.models import CaseEvent
from receivables.models import Invoice, Payment
from tests.banking.conftest import HEADER
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

STATEMENT = (
    HEADER
    + "Q1,2026-03-01,1400.00,CNY,Acme Trading Co.,,\n"  # suggested: INV-1 + INV-3
    + "Q2,2026-03-01,777.00,CNY,陌生公司,6200111,货款\n"  # unmatched
    + "Q3,2026-03-01,50.00,CNY,Our other account,6222,transfer\n"  # unmatched
)


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def imported(account, book):
    return bank_statement_import(account=account, data=STATEMENT.encode(), file_name="s.csv")


def test_upload_preview_then_commit_in_gb18030(account, book, finance):
    client = _login(finance)
    data = STATEMENT.encode("gb18030")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("banking:statement_upload"),
        {
            "action": "preview",
            "bank_account": account.pk,
            "profile": "auto",
            "file": SimpleUploadedFile("s.csv", data),
        },
    )
    assert response.status_code == 200
    assert "Preview" in response.content.decode()
    assert BankReceipt.objects.count() == 0
    response = client.post(reverse("banking:statement_upload"), {"action": "commit"})
    assert response.status_code == 302
    assert BankReceipt.objects.count() == 3
    assert BankReceipt.objects.get(transaction_id="Q2").payer_name == "陌生公司"


def test_upload_of_a_bad_file_lists_its_lines(account, book, finance):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _login(finance).post(
        reverse("banking:statement_upload"),
        {
            "action": "preview",
            "bank_account": account.pk,
            "profile": "auto",
            "file": SimpleUploadedFile("s.csv", (HEADER + "A,2026-03-01,abc,CNY,,,\n").encode()),
        },
    )
    assert "line 2: amount &#x27;abc&#x27; is not an amount" in response.content.decode()
    assert BankReceipt.objects.count() == 0


def test_upload_is_finance_only(account, book):
    assert _login(SalesRepFactory()).get(reverse("banking:statement_upload")).status_code == 403


def test_queue_shows_suggestions_with_bounded_queries(
    imported, finance, django_assert_max_num_queries
):
    client = _login(finance)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("banking:receipt_queue"))
    page = response.content.decode()
    assert "INV-1" in page
    assert "INV-3" in page
    assert "amount equals" in page


def test_apply_a_suggestion_in_one_click_records_the_payer(imported, finance, book):
    receipt = BankReceipt.objects.get(transaction_id="Q1")
    response = _login(finance).post(
        reverse("banking:receipt_apply", args=[receipt.pk]), {"suggestion": "0"}
    )
    assert response.status_code == 302
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.APPLIED
    assert receipt.decided_by == finance
    payment = Payment.objects.get(reference="Q1")
    assert sorted(a.invoice.number for a in payment.allocations.all()) == ["INV-1", "INV-3"]
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.RECEIPT_APPLIED, data__transaction_id="Q1")
    assert event.actor == finance
    assert event.text == ""
    assert event.data["items"] == ["INV-1", "INV-3"]


def test_reassign_to_another_customer_records_the_account(imported, finance):
    other = CustomerFactory(code="OTH", name="Other Co.")
    InvoiceFactory(customer=other, number="OTH-1", amount=Decimal("777.00"))
    receipt = BankReceipt.objects.get(transaction_id="Q2")
    _login(finance).post(
        reverse("banking:receipt_reassign", args=[receipt.pk]),
        {"customer_code": "OTH", "invoices": "OTH-1"},
    )
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.APPLIED
    assert Invoice.objects.get(number="OTH-1").status == Invoice.Status.PAID
    assert CustomerPayerAccount.objects.filter(customer=other, account_key="6200111").exists()
    assert CustomerAlias.objects.filter(customer=other, alias="陌生公司").exists()


def test_split_over_two_customers(imported, finance, book):
    receipt = BankReceipt.objects.get(transaction_id="Q2")
    _login(finance).post(
        reverse("banking:receipt_split", args=[receipt.pk]),
        {"parts": "ACME 400.00\nHN 377.00"},
    )
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.APPLIED
    assert sorted(receipt.applications.values_list("customer__code", "amount")) == [
        ("ACME", Decimal("400.00")),
        ("HN", Decimal("377.00")),
    ]


def test_dismiss_needs_a_reason(imported, finance):
    receipt = BankReceipt.objects.get(transaction_id="Q3")
    client = _login(finance)
    client.post(reverse("banking:receipt_dismiss", args=[receipt.pk]), {"reason": ""})
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.UNMATCHED
    client.post(reverse("banking:receipt_dismiss", args=[receipt.pk]), {"reason": "internal"})
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.NOT_CUSTOMER
    assert receipt.dismiss_reason == "internal"


def test_rep_claim_view_shows_only_public_fields(imported, book):
    rep = book["south"].sales_rep
    page = _login(rep).get(reverse("banking:claim_list")).content.decode()
    assert "陌生公司" in page
    assert "777.00" in page
    # Q1 is suggested for a known customer: not offered, and no customer name appears.
    assert "Acme" not in page
    assert "1,400.00" not in page
    assert "华南" not in page


def test_rep_claims_for_own_customer_and_another_finance_user_confirms(imported, book):
    south = book["south"]
    rep = south.sales_rep
    receipt = BankReceipt.objects.get(transaction_id="Q2")
    client = _login(rep)
    # Another rep's customer is not offered.
    response = client.post(
        reverse("banking:claim_create", args=[receipt.pk]),
        {"customer": book["acme"].pk, "invoices": ""},
    )
    assert response.status_code == 200
    assert not ReceiptClaim.objects.exists()
    response = client.post(
        reverse("banking:claim_create", args=[receipt.pk]),
        {"customer": south.pk, "invoices": "HN-77"},
    )
    assert response.status_code == 302
    claim = ReceiptClaim.objects.get()
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.CLAIMED
    # Claimed: no longer offered, cannot be claimed twice.
    assert client.get(reverse("banking:claim_create", args=[receipt.pk])).status_code == 404
    finance = FinanceUserFactory()
    _login(finance).post(reverse("banking:claim_decide", args=[claim.pk]), {"decision": "confirm"})
    claim.refresh_from_db()
    receipt.refresh_from_db()
    assert claim.status == ReceiptClaim.Status.CONFIRMED
    assert receipt.status == BankReceipt.Status.APPLIED
    assert Invoice.objects.get(number="HN-77").outstanding == Decimal("7223.00")
    assert CustomerPayerAccount.objects.filter(customer=south, account_key="6200111").exists()
    kinds = set(CaseEvent.objects.filter(customer=south).values_list("kind", flat=True))
    assert {CaseEvent.Kind.RECEIPT_CLAIMED, CaseEvent.Kind.RECEIPT_APPLIED} <= kinds


def test_claimer_never_confirms_their_own_claim(imported, book):
    from django.contrib.auth.models import Group

    from core.roles import Role

    south = book["south"]
    rep = south.sales_rep
    rep.groups.add(Group.objects.get(name=Role.FINANCE))
    receipt = BankReceipt.objects.get(transaction_id="Q2")
    client = _login(rep)
    client.post(
        reverse("banking:claim_create", args=[receipt.pk]), {"customer": south.pk, "invoices": ""}
    )
    claim = ReceiptClaim.objects.get()
    client.post(reverse("banking:claim_decide", args=[claim.pk]), {"decision": "confirm"})
    claim.refresh_from_db()
    assert claim.status == ReceiptClaim.Status.PENDING


def test_rejected_claim_reopens_the_receipt(imported, book):
    south = book["south"]
    receipt = BankReceipt.objects.get(transaction_id="Q2")
    _login(south.sales_rep).post(
        reverse("banking:claim_create", args=[receipt.pk]), {"customer": south.pk, "invoices": ""}
    )
    claim = ReceiptClaim.objects.get()
    _login(FinanceUserFactory()).post(
        reverse("banking:claim_decide", args=[claim.pk]), {"decision": "reject", "reason": "no"}
    )
    receipt.refresh_from_db()
    assert receipt.status == BankReceipt.Status.UNMATCHED


def test_queue_actions_are_finance_only_and_post_only(imported, book):
    receipt = BankReceipt.objects.get(transaction_id="Q1")
    rep = _login(book["acme"].sales_rep)
    url = reverse("banking:receipt_apply", args=[receipt.pk])
    assert rep.post(url, {"suggestion": "0"}).status_code == 403
    assert _login(FinanceUserFactory()).get(url).status_code == 405
    assert rep.get(reverse("banking:receipt_queue")).status_code == 403


def test_finance_records_a_bank_account_on_its_page(db):
    from banking.models import BankAccount

    client = _login(FinanceUserFactory())
    response = client.post(
        reverse("banking:bank_account_list"),
        {"code": "CMB-1", "number": "7550 1234", "currency": "cny", "name": "招商银行"},
    )
    assert response.status_code == 302
    account = BankAccount.objects.get(code="CMB-1")
    assert (account.number, account.currency) == ("7550 1234", "CNY")
    page = client.get(reverse("banking:bank_account_list")).content.decode()
    assert "CMB-1" in page
    assert _login(SalesRepFactory()).get(reverse("banking:bank_account_list")).status_code == 403


def test_bank_account_command_is_idempotent(db):
    from io import StringIO

    from django.core.management import call_command

    from banking.models import BankAccount

    for _ in range(2):
        call_command(
            "bank_account", "--code", "B1", "--number", "1", "--currency", "CNY", stdout=StringIO()
        )
    assert BankAccount.objects.count() == 1
