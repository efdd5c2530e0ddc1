"""Acceptance bills: received through the bill service, so the payment and the invoices follow."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from bills.models import AcceptanceBill
from bills.services.bills import BillInput, acceptance_bill_receive
from receivables.models import Customer, Invoice

_numbers = count(1)


def bill_input(
    *,
    number: str | None = None,
    face: str = "1000.00",
    currency: str = "CNY",
    issue: date = date(2026, 3, 1),
    maturity: date | None = None,
    kind: str = AcceptanceBill.Kind.BANK,
) -> BillInput:
    """What a bank acceptance bill of six months says."""
    return BillInput(
        number=number or f"BILL-{next(_numbers):06d}",
        kind=kind,
        acceptor="Industrial Bank Shanghai Branch",
        drawer="Northwind Trading Co., Ltd.",
        issue_date=issue,
        maturity_date=maturity or issue + timedelta(days=182),
        face_amount=Decimal(face),
        currency=currency,
    )


def receive_bill(
    *,
    customer: Customer,
    received_on: date,
    invoices: list[Invoice] | None = None,
    face: str | None = None,
    actor=None,
    **fields,
) -> AcceptanceBill:
    """Receive a bill paying the invoices in full (their sum is the face unless given)."""
    invoices = invoices or []
    total = sum((invoice.outstanding for invoice in invoices), Decimal("0.00"))
    return acceptance_bill_receive(
        customer=customer,
        bill=bill_input(face=face or f"{total:.2f}", currency=customer.currency, **fields),
        received_on=received_on,
        actor=actor,
        allocations=[(invoice, invoice.outstanding) for invoice in invoices],
    )
