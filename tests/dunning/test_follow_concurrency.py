"""A payment settling items while a sender claims their message, on PostgreSQL with real
processes: the payment waits for the claim, and cancels only a message still unsent."""

from datetime import date, timedelta

import psycopg
import pytest
from django.db import connection

from dunning.models import (
    CollectionCase,
    CollectionTask,
    Communication,
    LevelCode,
    SettlementReason,
)
from dunning.services.run import run_dunning
from tests.dunning.processes import finish, python, test_database_url, wait_until
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.services import require_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

D = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()
    ensure_default_policy()


def reminded():
    customer = dunning_customer(code="FOLLOW-1")
    invoice = due_invoice(customer=customer, due=D, number="FOLLOW-INV-1")
    run_dunning(as_of=D + timedelta(days=1))
    communication = Communication.objects.get(customer=customer, level=LevelCode.REMINDER)
    assert communication.status == Communication.Status.PENDING
    return customer, invoice, communication


def pay_in_another_process(invoice):
    return python(
        "from decimal import Decimal\n"
        "from datetime import date\n"
        "from receivables.models import Invoice\n"
        "from receivables.services.payments import payment_record\n"
        f"invoice = Invoice.objects.get(pk={invoice.pk})\n"
        "payment_record(customer=invoice.customer, payment_date=date(2026, 3, 18),\n"
        "    amount=Decimal('1000.00'), currency=invoice.currency, reference='BANK-1',\n"
        "    actor=None)\n"
    )


def blocked_on_a_lock() -> bool:
    with psycopg.connect(test_database_url(), autocommit=True) as probe:
        waiting = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [connection.settings_dict["NAME"]],
        ).fetchone()[0]
    return waiting > 0


def claim_in_progress(communication) -> psycopg.Connection:
    """Another session holding the message as a sender's claim does, not yet committed."""
    sender = psycopg.connect(test_database_url())
    sender.execute(
        "SELECT id FROM dunning_communication WHERE id = %s FOR UPDATE", [communication.pk]
    )
    sender.execute(
        "UPDATE dunning_communication SET status = 'sending', attempts = attempts + 1"
        " WHERE id = %s",
        [communication.pk],
    )
    return sender


@pytest.mark.parametrize("claim_commits", [True, False])
def test_a_payment_waits_for_a_claim_and_cancels_only_an_unsent_message(claim_commits):
    # Given a pending reminder that a sender is claiming right now
    customer, invoice, communication = reminded()
    sender = claim_in_progress(communication)

    # When a payment settles its only invoice, in another process
    payment = pay_in_another_process(invoice)
    wait_until(blocked_on_a_lock, what="the payment to wait for the claimed message")
    # and the claim commits (the message goes out) or rolls back (the sender died)
    if claim_commits:
        sender.commit()
    else:
        sender.rollback()
    sender.close()
    finish(payment)

    # Then the payment committed with its follow-up: the message is the sender's if it
    # claimed it, cancelled otherwise; the call task and the case end either way
    communication.refresh_from_db()
    expected = Communication.Status.SENDING if claim_commits else Communication.Status.CANCELLED
    assert communication.status == expected
    task = CollectionTask.objects.get(customer=customer, kind=CollectionTask.Kind.CALL)
    assert (task.status, task.closed_reason) == (
        CollectionTask.Status.CANCELLED,
        SettlementReason.PAID,
    )
    case = CollectionCase.objects.get(customer=customer)
    assert case.status == CollectionCase.Status.CLOSED
