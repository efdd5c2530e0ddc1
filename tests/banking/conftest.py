import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from banking.models import BankAccount
from banking.services.accounts import customer_payer_account_record
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory

TODAY = date(2026, 3, 2)
HEADER = "transaction_id,date,amount,currency,payer_name,payer_account,memo\n"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel("2026-03-02 10:00 +08:00", tick=False):
        yield


@pytest.fixture
def account(db) -> BankAccount:
    return BankAccount.objects.create(code="ICBC-1", number="6222000011112222", currency="CNY")


@pytest.fixture
def book(db):
    """Two customers: ACME (known by account) with three open invoices, and 华南贸易."""
    acme = CustomerFactory(code="ACME", name="Acme Trading Co.")
    customer_payer_account_record(customer=acme, account="6217 0000 1111")
    invoices = [
        InvoiceFactory(
            customer=acme,
            number=f"INV-{n}",
            due_date=date(2026, 1, n),
            amount=Decimal(amount),
            outstanding=Decimal(amount),
        )
        for n, amount in ((1, "1000.00"), (2, "2500.00"), (3, "400.00"))
    ]
    south = CustomerFactory(code="HN", name="华南贸易\uff08深圳\uff09有限公司")
    south_invoice = InvoiceFactory(
        customer=south,
        number="HN-77",
        due_date=date(2026, 2, 1),
        amount=Decimal("8000.00"),
        outstanding=Decimal("8000.00"),
    )
    return {"acme": acme, "invoices": invoices, "south": south, "south_invoice": south_invoice}


def run_import(path, *args: str) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_bank_statement",
        "--file",
        str(path),
        "--bank-account",
        "ICBC-1",
        "--format",
        "json",
        *args,
        stdout=out,
        stderr=err,
    )
    return json.loads(out.getvalue()), err.getvalue()


def write(tmp_path, text: str, name: str = "statement.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
