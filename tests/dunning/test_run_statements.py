"""A chunk of the daily run costs a fixed number of statements, whatever its customers."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import SupplementaryAgreement
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    LevelCode,
)
from dunning.services.run import dunning_chunk_process
from receivables.models import Customer
from tests.factories.cases import (
    AgreementInstalmentFactory,
    CollectionCaseFactory,
    SupplementaryAgreementFactory,
)
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)  # a Monday


def _book(*, count: int, as_of: date) -> list[Customer]:
    """`count` customers, half of each kind, with every kind of work the run does.

    Even: a finance address; an invoice one day overdue (reminder: email and a
    call task), one due tomorrow (pre-due), an instalment of an approved plan
    overdue (labelled `INV#n`), and an invoice 61 days overdue whose earlier
    rungs were carried out (legal: a manager task, the credit hold and email).
    Odd: no address and an open case with nothing overdue: the case closes,
    the pre-due email fails for the missing address and becomes a call task.
    """
    customers = []
    for position in range(count):
        with_address = position % 2 == 0
        customer = dunning_customer(finance_email="ap@customer.example" if with_address else None)
        due_invoice(customer=customer, due=as_of + timedelta(days=1))
        if with_address:
            due_invoice(customer=customer, due=as_of - timedelta(days=1))
            replaced = due_invoice(customer=customer, due=as_of - timedelta(days=40))
            agreement = SupplementaryAgreementFactory(
                customer=customer,
                invoices=[replaced],
                status=SupplementaryAgreement.Status.APPROVED,
            )
            AgreementInstalmentFactory(
                agreement=agreement, sequence=1, due_date=as_of - timedelta(days=2)
            )
            old = due_invoice(customer=customer, due=as_of - timedelta(days=61))
            for level, days in (
                (LevelCode.REMINDER, 60),
                (LevelCode.DEMAND_LETTER, 46),
                (LevelCode.EXECUTIVE, 31),
            ):
                DunningStep.objects.create(
                    customer=customer,
                    invoice=old,
                    level=level,
                    fired_on=old.due_date + timedelta(days=days),
                    due_date=old.due_date,
                    currency=old.currency,
                    outstanding=Decimal("1000.00"),
                    batch=uuid.uuid4(),
                )
        else:
            CollectionCaseFactory(customer=customer, opened_on=as_of - timedelta(days=30))
        customers.append(customer)
    return customers


def _chunk_statements(*, customers: list[Customer], as_of: date) -> int:
    run = DunningRun.objects.create(business_date=as_of, policy=ensure_default_policy())
    chunk = DunningRunChunk.objects.create(
        run=run, index=0, customer_ids=sorted(customer.pk for customer in customers)
    )
    with CaptureQueriesContext(connection) as queries:
        result = dunning_chunk_process(chunk_id=chunk.pk)
    half = len(customers) // 2
    ids = [customer.pk for customer in customers]
    # Every kind of work was done, for every customer of its kind.
    assert result.steps_created == 4 * half + half
    messages = Communication.objects.filter(customer_id__in=ids)
    assert messages.filter(level=LevelCode.REMINDER).count() == half
    assert messages.filter(level=LevelCode.LEGAL).count() == half
    assert messages.filter(level=LevelCode.PRE_DUE).count() == len(customers)
    assert messages.filter(failure_reason=Communication.FailureReason.MISSING_ADDRESS).count() == (
        half
    )
    assert (
        DunningStep.objects.filter(customer_id__in=ids, instalment__isnull=False)
        .exclude(communication=None)
        .count()
        == half
    )
    tasks = CollectionTask.objects.filter(customer_id__in=ids)
    assert tasks.filter(kind=CollectionTask.Kind.CALL).count() == 2 * half
    assert tasks.filter(kind=CollectionTask.Kind.LEGAL_REFERRAL).count() == half
    assert (
        Customer.objects.filter(pk__in=ids, credit_status=Customer.CreditStatus.ON_HOLD).count()
        == half
    )
    cases = CollectionCase.objects.filter(customer_id__in=ids)
    assert cases.filter(status=CollectionCase.Status.OPEN).count() == half
    assert cases.filter(status=CollectionCase.Status.CLOSED).count() == half
    assert CaseEvent.objects.filter(
        customer_id__in=ids, kind=CaseEvent.Kind.CASE_CLOSED
    ).count() == (half)
    return len(queries)


def test_a_chunk_of_twenty_customers_costs_the_statements_of_a_chunk_of_two():
    ManagerFactory()
    few = _chunk_statements(customers=_book(count=2, as_of=D), as_of=D)
    later = D + timedelta(days=7)
    many = _chunk_statements(customers=_book(count=20, as_of=later), as_of=later)

    assert many == few
