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


def test_chunks_are_cut_by_the_items_due_as_well_as_by_customers():
    """A chunk's transaction follows its items: many light customers share one, a heavy one
    has its own, and no chunk passes either bound past its first customer."""
    from collections import Counter

    from dunning.services.run import RunWork

    work = RunWork(
        customer_ids=[1, 2, 3, 4, 5, 6, 7],
        skipped=Counter(),
        due_levels=[],
        items=Counter({1: 1, 2: 1, 3: 9, 4: 1, 6: 2, 7: 1}),  # 5: a case to close only
    )
    assert work.slices(customers=10, items=3) == [[1, 2], [3], [4, 5, 6], [7]]
    assert work.slices(customers=10, items=4) == [[1, 2], [3], [4, 5, 6, 7]]
    assert work.slices(customers=2, items=100) == [[1, 2], [3, 4], [5, 6], [7]]
    assert work.slices(customers=10, items=100) == [[1, 2, 3, 4, 5, 6, 7]]
    assert (
        RunWork(customer_ids=[], skipped=Counter(), due_levels=[]).slices(customers=10, items=10)
        == []
    )


def test_the_plan_counts_each_customers_items_due_for_its_chunks():
    from dunning.services.run import run_dunning

    as_of = D
    customers = _book(count=4, as_of=as_of)
    # Even customers have 4 items due (pre-due, reminder, instalment, legal), odd ones 1.
    result = run_dunning(as_of=as_of, chunk_size=10, chunk_items=5)
    chunks = list(DunningRunChunk.objects.filter(run_id=result.run_id).order_by("index"))
    ids = [customer.pk for customer in customers]
    assert [chunk.customer_ids for chunk in chunks] == [ids[0:2], ids[2:4]]
    assert sum(chunk.steps_created for chunk in chunks) == result.steps_created == 10
