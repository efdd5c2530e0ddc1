"""Two finance users changing the same bill at once, on PostgreSQL with real processes: the
second waits for the first's row locks and then sees what it did."""

from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from bills.models import AcceptanceBill
from receivables.models import Invoice, Payment
from tests.dunning.processes import finish, python, test_database_url, wait_until
from tests.factories.bills import receive_bill
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.services import require_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

D = date(2026, 3, 2)
MATURITY = D + timedelta(days=40)


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()
    ensure_default_policy()


def blocked_on_a_lock() -> bool:
    with psycopg.connect(test_database_url(), autocommit=True) as probe:
        waiting = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [connection.settings_dict["NAME"]],
        ).fetchone()[0]
    return waiting > 0


def collecting_in_progress(bill: AcceptanceBill) -> psycopg.Connection:
    """Another finance user's collection, holding the locks the service takes, not committed."""
    other = psycopg.connect(test_database_url())
    other.execute(
        "SELECT id FROM receivables_customer WHERE id = %s FOR UPDATE", [bill.customer_id]
    )
    other.execute("SELECT id FROM bills_acceptancebill WHERE id = %s FOR UPDATE", [bill.pk])
    other.execute(
        "UPDATE bills_acceptancebill SET status = 'collected', settled_on = %s WHERE id = %s",
        [MATURITY, bill.pk],
    )
    return other


def dishonour_in_another_process(bill: AcceptanceBill):
    return python(
        "from datetime import date\n"
        "from bills.models import AcceptanceBill\n"
        "from bills.services.bills import acceptance_bill_dishonour\n"
        "from core.exceptions import BusinessRuleError\n"
        f"bill = AcceptanceBill.objects.get(pk={bill.pk})\n"
        "try:\n"
        f"    acceptance_bill_dishonour(bill=bill, dishonoured_on=date.fromisoformat("
        f"'{MATURITY.isoformat()}'), reason='Refused', actor=None)\n"
        "except BusinessRuleError as error:\n"
        "    print('refused:', error.message)\n"
        "else:\n"
        "    print('dishonoured')\n"
    )


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_dishonour_waits_for_a_collection_in_progress_and_applies_only_if_it_rolled_back(
    first_commits,
):
    # Given a held bill paying an invoice, and a collection of it in progress
    customer = dunning_customer(code="BILL-RACE")
    invoice = due_invoice(customer=customer, due=D, amount="700.00", number="BILL-RACE-1")
    bill = receive_bill(
        customer=customer,
        received_on=D + timedelta(days=5),
        invoices=[invoice],
        number="BA-RACE",
        issue=D,
        maturity=MATURITY,
    )
    other = collecting_in_progress(bill)

    # When another finance user records a dishonour of the same bill
    dishonour = dishonour_in_another_process(bill)
    wait_until(blocked_on_a_lock, what="the dishonour to wait for the collection's locks")
    if first_commits:
        other.commit()
    else:
        other.rollback()
    other.close()
    stdout, _stderr = finish(dishonour)

    # Then exactly one of them took effect, and the money agrees with it
    bill.refresh_from_db()
    invoice.refresh_from_db()
    if first_commits:
        assert stdout.startswith("refused:")
        assert bill.status == AcceptanceBill.Status.COLLECTED
        assert bill.payment.status == Payment.Status.POSTED
        assert (invoice.status, invoice.outstanding) == (Invoice.Status.PAID, Decimal("0.00"))
    else:
        assert stdout.strip() == "dishonoured"
        assert bill.status == AcceptanceBill.Status.DISHONOURED
        assert bill.payment.status == Payment.Status.REVERSED
        assert (invoice.status, invoice.outstanding) == (Invoice.Status.OPEN, Decimal("700.00"))
