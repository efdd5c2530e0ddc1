"""A customer with open invoices, a proof, a sent letter, and a link to its page."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile

from contracts.models import Contract
from dunning.models import Communication
from portal.models import PortalLink
from portal.services.links import portal_link_create
from receivables.models import Customer, Invoice
from tests.factories.cases import (
    CommunicationFactory,
    ContractFactory,
    DeliveryRecordFactory,
    overdue_invoice,
)
from tests.factories.dunning import dunning_customer, ensure_default_policy
from tests.factories.users import SalesRepFactory

TODAY = date(2026, 3, 2)
AS_OF = date(2026, 2, 28)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _private_throttle(settings):
    """Each test counts its own requests (the throttle's cache is shared otherwise)."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{uuid.uuid4()}",
        },
    }


@pytest.fixture(autouse=True)
def _policy(db):
    ensure_default_policy()


@dataclass
class Book:
    customer: Customer
    invoices: list[Invoice]
    contract: Contract
    proof_id: int
    letter: Communication
    link: PortalLink
    token: str


def make_book(*, code: str, name: str, language: str = "en") -> Book:
    rep = SalesRepFactory()
    customer = dunning_customer(code=code, name=name, sales_rep=rep, language=language)
    contract = ContractFactory(customer=customer, number=f"HT-{code}")
    invoices = [
        overdue_invoice(
            customer=customer,
            due=due,
            amount=amount,
            number=f"{code}-INV-{index}",
        )
        for index, (due, amount) in enumerate(
            [
                (date(2026, 1, 15), "3000.00"),
                (date(2026, 2, 10), "5000.00"),
                (date(2026, 2, 20), "2000.00"),
            ],
            start=1,
        )
    ]
    record = DeliveryRecordFactory(contract=contract, proof_original_name=f"{code}-proof.pdf")
    letter = CommunicationFactory(customer=customer, status=Communication.Status.PENDING)
    letter.letter_pdf.save(
        "letter.pdf", ContentFile(f"%PDF-1.4 letter of {code}".encode()), save=False
    )
    letter.save(update_fields=["letter_pdf"])
    Communication.objects.filter(pk=letter.pk).update(status=Communication.Status.SENT)
    letter.refresh_from_db()
    link, token = portal_link_create(customer=customer, as_of=AS_OF)
    return Book(
        customer=customer,
        invoices=invoices,
        contract=contract,
        proof_id=record.pk,
        letter=letter,
        link=link,
        token=token,
    )


@pytest.fixture
def book(db) -> Book:
    return make_book(code="C-ALPHA", name="Alpha Trading")


@pytest.fixture
def other_book(db) -> Book:
    return make_book(code="C-BETA", name="Beta Foods")


def total(book: Book) -> Decimal:
    return sum((invoice.amount for invoice in book.invoices), Decimal(0))
