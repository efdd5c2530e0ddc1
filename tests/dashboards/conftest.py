"""A book of thousands of rows, written with bulk inserts, for the query-bound tests."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import Contract, PaymentMilestone, SupplementaryAgreement
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    Dispute,
    DunningStep,
    LevelCode,
    PromiseToPay,
)
from dunning.services.rungs import invoices_rung_refresh
from receivables.models import Contact, Customer, Invoice, Payment, PaymentAllocation
from tests.factories.users import SalesRepFactory


@dataclass
class Book:
    rep: object
    customers: list[Customer]
    invoices: int


def book_create(*, rep, customers: int, invoices_per_customer: int, prefix: str) -> Book:
    """Customers of the rep with invoices at every age, payments, steps, cases and promises."""
    today = timezone.localdate()
    rows = Customer.objects.bulk_create(
        Customer(
            code=f"{prefix}-{index:05d}",
            name=f"{prefix} Customer {index}",
            currency="CNY",
            sales_rep=rep,
            credit_limit=Decimal("100000.00"),
            payment_terms_days=30,
        )
        for index in range(customers)
    )
    Contact.objects.bulk_create(
        Contact(customer=customer, name="AP", role=Contact.Role.FINANCE, email="ap@x.example")
        for customer in rows[::2]
    )
    invoices = Invoice.objects.bulk_create(
        Invoice(
            number=f"{prefix}-INV-{customer.pk}-{n}",
            customer=customer,
            issue_date=today - timedelta(days=30 + 9 * n),
            due_date=today - timedelta(days=9 * n - 20),
            amount=Decimal("1000.00"),
            outstanding=Decimal("1000.00") if n % 3 else Decimal("400.00"),
            currency="CNY",
            status=Invoice.Status.OPEN,
            delivered_at=timezone.now() if n % 2 else None,
        )
        for customer in rows
        for n in range(invoices_per_customer)
    )
    payments = Payment.objects.bulk_create(
        Payment(
            customer=invoice.customer,
            payment_date=today - timedelta(days=3),
            amount=Decimal("700.00"),
            allocated_amount=Decimal("600.00"),
            currency="CNY",
            reference=f"{prefix}-PAY-{invoice.pk}",
        )
        for invoice in invoices[::3]
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoice, amount=Decimal("600.00"))
        for payment, invoice in zip(payments, invoices[::3], strict=True)
    )
    batch = uuid.uuid4()
    DunningStep.objects.bulk_create(
        DunningStep(
            customer=invoice.customer,
            invoice=invoice,
            level=LevelCode.REMINDER,
            fired_on=today - timedelta(days=5),
            due_date=invoice.due_date,
            currency="CNY",
            outstanding=invoice.outstanding,
            batch=batch,
        )
        for invoice in invoices[::4]
        if invoice.due_date < today
    )
    invoices_rung_refresh(steps=DunningStep.objects.filter(batch=batch))
    cases = CollectionCase.objects.bulk_create(
        CollectionCase(
            customer=customer,
            owner=rep,
            opened_on=today - timedelta(days=20),
            overdue_reason=(
                CollectionCase.OverdueReason.UNKNOWN
                if index % 2
                else CollectionCase.OverdueReason.CASH_FLOW
            ),
        )
        for index, customer in enumerate(rows)
    )
    CollectionTask.objects.bulk_create(
        CollectionTask(
            kind=CollectionTask.Kind.CALL,
            customer=case.customer,
            case=case,
            assignee=rep,
            title=f"Call {case.customer.name}",
            due_date=today,
        )
        for case in cases
    )
    PromiseToPay.objects.bulk_create(
        PromiseToPay(
            customer=case.customer,
            case=case,
            amount=Decimal("300.00"),
            currency="CNY",
            promised_date=today - timedelta(days=index % 40),
            status=[PromiseToPay.Status.OPEN, PromiseToPay.Status.KEPT, PromiseToPay.Status.BROKEN][
                index % 3
            ],
        )
        for index, case in enumerate(cases)
    )
    Dispute.objects.bulk_create(
        Dispute(customer=case.customer, case=case, reason="Damaged", opened_on=today)
        for case in cases[::5]
    )
    CaseEvent.objects.bulk_create(
        CaseEvent(customer=case.customer, case=case, kind=CaseEvent.Kind.NOTE, text=f"note {n}")
        for case in cases
        for n in range(3)
    )
    Communication.objects.bulk_create(
        Communication(
            business_date=today,
            customer=customer,
            level=LevelCode.DEMAND_LETTER,
            currency="CNY",
            status=Communication.Status.AWAITING_APPROVAL,
        )
        for customer in rows[::4]
    )
    agreements = SupplementaryAgreement.objects.bulk_create(
        SupplementaryAgreement(
            customer=customer,
            number=f"{prefix}-SA-{customer.pk}",
            kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        )
        for customer in rows[::6]
    )
    contracts = Contract.objects.bulk_create(
        Contract(
            number=f"{prefix}-HT-{customer.pk}",
            customer=customer,
            amount=Decimal("10000.00"),
            currency="CNY",
            payment_type=Contract.PaymentType.CREDIT_TERMS,
            status=Contract.Status.ACTIVE,
        )
        for customer in rows[:10]
    )
    PaymentMilestone.objects.bulk_create(
        PaymentMilestone(
            contract=contract,
            sequence=1,
            description="All",
            percent=Decimal("100"),
            trigger=PaymentMilestone.Trigger.SIGNING,
        )
        for contract in contracts
    )
    del agreements
    return Book(rep=rep, customers=rows, invoices=len(invoices))


@pytest.fixture
def big_book(db):
    """Two reps with 3,000 invoices each (150 customers of 20 invoices)."""
    rep = SalesRepFactory(username="bigrep")
    other = SalesRepFactory(username="otherrep")
    own = book_create(rep=rep, customers=150, invoices_per_customer=20, prefix="OWN")
    theirs = book_create(rep=other, customers=150, invoices_per_customer=20, prefix="OTHER")
    return own, theirs
