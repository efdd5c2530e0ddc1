"""The API's world: the five demo roles, two reps' books, a token per user, a frozen clock."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from api.services import api_token_create
from banking.models import BankAccount, BankReceipt
from receivables.services.invoices import credit_note_issue
from tests.factories.bills import receive_bill
from tests.factories.cases import (
    CollectionCaseFactory,
    CommunicationFactory,
    DisputeFactory,
    PromiseToPayFactory,
)
from tests.factories.contracts import PDF_BYTES, ContractFactory, PaymentMilestoneFactory
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.invoices import InvoiceFactory, PaymentFactory
from tests.factories.users import (
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 2)
ROLES = ("rep1", "rep2", "finance1", "manager1", "admin")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def users(db) -> dict:
    return {
        "rep1": SalesRepFactory(username="rep1"),
        "rep2": SalesRepFactory(username="rep2"),
        "finance1": FinanceUserFactory(username="finance1"),
        "manager1": ManagerFactory(username="manager1"),
        "admin": UserFactory(username="admin", is_superuser=True, is_staff=True),
    }


@pytest.fixture
def tokens(users) -> dict[str, str]:
    return {
        name: api_token_create(user=user, name=f"{name} test")[1] for name, user in users.items()
    }


@pytest.fixture
def api(tokens):
    """`api("rep1")`: a client that sends rep1's token."""

    def client_for(role: str, **headers) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[role]}", **headers)
        return client

    return client_for


@dataclass
class Book:
    customer: object
    invoice: object
    current_invoice: object
    payment: object
    credit_note: object
    contract: object
    milestone: object
    case: object
    message: object
    promise: object
    dispute: object
    receipt: object
    unmatched_receipt: object
    bill: object


def make_book(rep, *, code: str, count: int = 1) -> Book:
    """A rep's customer with invoices of every age, a payment, a contract and collections."""
    customer = CustomerFactory(
        sales_rep=rep, code=code, name=f"{code} Trading", credit_limit=Decimal("500000.00")
    )
    ContactFactory(customer=customer, role="finance", name=f"{code} AP")
    invoices = [
        InvoiceFactory(
            customer=customer,
            number=f"{code}-INV-{n}",
            issue_date=date(2025, 10, 1),
            due_date=date(2025, 10, 1 + n % 28),
        )
        for n in range(count)
    ]
    invoice = invoices[0]
    current_invoice = InvoiceFactory(
        customer=customer,
        number=f"{code}-CUR",
        amount=Decimal("300.00"),
        due_date=date(2026, 3, 20),
    )
    payment = PaymentFactory(customer=customer, reference=f"{code}-BANK")
    contract = ContractFactory(customer=customer, number=f"{code}-HT")
    milestone = PaymentMilestoneFactory(contract=contract, sequence=1)
    case = CollectionCaseFactory(customer=customer)
    message = CommunicationFactory(customer=customer, channels=["email", "letter"])
    message.letter_pdf.save("letter.pdf", ContentFile(PDF_BYTES), save=True)
    account = BankAccount.objects.create(code=f"{code}-ICBC", number=f"6222{code}", currency="CNY")
    receipt = BankReceipt.objects.create(
        bank_account=account,
        transaction_id=f"{code}-TX-1",
        date=date(2026, 2, 20),
        amount=payment.amount,
        currency="CNY",
        payer_name=f"{code} Trading",
        payer_account=f"9558{code}",
        memo=f"{code}-INV-0",
        status=BankReceipt.Status.APPLIED,
        customer=customer,
        payment=payment,
    )
    unmatched = BankReceipt.objects.create(
        bank_account=account,
        transaction_id=f"{code}-TX-2",
        date=date(2026, 2, 25),
        amount=Decimal("88.00"),
        currency="CNY",
        payer_name="Unknown payer",
        memo="goods",
    )
    bill = receive_bill(
        customer=customer,
        received_on=date(2026, 2, 1),
        face="500.00",
        number=f"{code}-BILL",
        issue=date(2026, 1, 10),
    )
    return Book(
        customer=customer,
        invoice=invoice,
        current_invoice=current_invoice,
        payment=payment,
        credit_note=credit_note_issue(
            invoice=invoice,
            number=f"{code}-CN",
            amount=Decimal("10.00"),
            issue_date=date(2026, 2, 1),
            reason="Price correction",
            actor=None,
        ),
        contract=contract,
        milestone=milestone,
        case=case,
        message=message,
        promise=PromiseToPayFactory(customer=customer, case=case, invoices=[invoice]),
        dispute=DisputeFactory(customer=customer, case=case, invoices=[current_invoice]),
        receipt=receipt,
        unmatched_receipt=unmatched,
        bill=bill,
    )


@pytest.fixture
def books(users) -> dict[str, Book]:
    return {
        "rep1": make_book(users["rep1"], code="R1"),
        "rep2": make_book(users["rep2"], code="R2"),
    }
