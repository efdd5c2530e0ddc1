"""Dunning-engine helpers: a customer the ladder can write to, its invoices, payments, runs."""

from datetime import date, timedelta
from decimal import Decimal

from dunning.models import DunningPolicy
from receivables.models import Contact, Customer, Invoice, Payment
from receivables.services.payments import payment_record
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.invoices import InvoiceFactory


def dunning_customer(*, finance_email: str | None = "ap@customer.example", **fields) -> Customer:
    """A customer with a finance contact (or none, with finance_email=None)."""
    fields.setdefault("language", Customer.Language.ENGLISH)
    customer = CustomerFactory(**fields)
    if finance_email is not None:
        ContactFactory(
            customer=customer, role=Contact.Role.FINANCE, name="Finance", email=finance_email
        )
    return customer


def executive_contact(*, customer: Customer, email: str = "ceo@customer.example") -> Contact:
    return ContactFactory(customer=customer, role=Contact.Role.EXECUTIVE, name="CEO", email=email)


def due_invoice(
    *, customer: Customer, due: date, amount: str = "1000.00", number: str | None = None, **fields
) -> Invoice:
    """An open invoice issued 30 days before it falls due."""
    extra = {"number": number} if number else {}
    return InvoiceFactory(
        customer=customer,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        **extra,
        **fields,
    )


def pay(*, invoice: Invoice, amount: str, on: date) -> Payment:
    """Record a payment through the payment service, allocated to the invoice."""
    return payment_record(
        customer=invoice.customer,
        payment_date=on,
        amount=Decimal(amount),
        currency=invoice.currency,
        reference=f"PAY-{invoice.number}-{on:%Y%m%d}-{amount}",
        actor=None,
        allocations=[(invoice, Decimal(amount))],
    )


def ensure_default_policy() -> DunningPolicy:
    """The migrated default policy (tests/conftest.py writes it back after every flush)."""
    return DunningPolicy.objects.get(is_active=True)


def active_policy() -> DunningPolicy:
    return ensure_default_policy()


def daily(start: date, end: date):
    """Every date from start to end inclusive."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def carry_out() -> None:
    """What follows a run: finance approves the held letters and every due message goes out.

    The ladder climbs only over rungs that were carried out.
    """
    from dunning.models import Communication
    from dunning.services.communications import communication_approve
    from dunning.services.send import communications_send
    from tests.factories.users import FinanceUserFactory

    held = Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL)
    if held.exists():
        finance = FinanceUserFactory()
        for communication in held:
            communication_approve(communication=communication, actor=finance)
    communications_send()
