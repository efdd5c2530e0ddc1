"""Customers with a statement schedule."""

from datetime import date
from decimal import Decimal

from receivables.models import Customer
from statements.models import Statement, StatementSchedule
from tests.factories.dunning import dunning_customer
from tests.factories.invoices import InvoiceFactory


def scheduled_customer(
    *,
    working_day: int = 1,
    send_at_zero_balance: bool = False,
    balance: Decimal | None = Decimal("1000.00"),
    issued: date = date(2026, 11, 10),
    **fields,
) -> Customer:
    """A customer on a monthly schedule, owing `balance` from an invoice issued on `issued`."""
    customer = dunning_customer(**fields)
    StatementSchedule.objects.create(
        customer=customer,
        frequency=StatementSchedule.Frequency.MONTHLY,
        working_day=working_day,
        send_at_zero_balance=send_at_zero_balance,
    )
    if balance:
        InvoiceFactory(customer=customer, issue_date=issued, amount=balance)
    return customer


def sent_statement(
    *, customer: Customer, period_start: date, period_end: date, closing: Decimal
) -> Statement:
    """A statement the monthly run sent (its PDF not rendered yet, as the run leaves it)."""
    return Statement.objects.create(
        customer=customer,
        period_start=period_start,
        period_end=period_end,
        business_date=period_end,
        currency=customer.currency,
        closing=closing,
        status=Statement.Status.SENT,
        recipient_email="ap@customer.example",
    )
