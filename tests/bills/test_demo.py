"""seed_demo's acceptance bills: every status the desk and the dashboard show, idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from bills.models import AcceptanceBill
from bills.selectors.bills import bills_maturing, bills_outstanding_by_maturity
from receivables.models import Invoice, Payment
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_has_bills_in_hand_by_maturity_and_settled_ones(seeded_demo):
    finance = FinanceUserFactory()
    today = timezone.localdate()

    statuses = sorted(AcceptanceBill.objects.values_list("status", flat=True))
    assert statuses == ["collected", "discounted", "endorsed", "held", "held", "held"]
    lists = {item.code: item.rows for item in bills_maturing(user=finance, as_of=today)}
    assert all(lists[code] for code in ("0-30", "31-60", "61-90"))
    (row,) = bills_outstanding_by_maturity(user=finance, as_of=today)
    assert row["windows"][-1]["count"] == 3
    bill_invoices = Invoice.objects.filter(
        number__in=[f"INV-{n}" for n in AcceptanceBill.objects.values_list("number", flat=True)]
    )
    assert sorted(bill_invoices.values_list("status", flat=True)) == ["paid"] * 6
    assert "6 acceptance bills created" in seeded_demo.output

    call_command("seed_demo", "--password", seeded_demo.password, stdout=StringIO())

    assert AcceptanceBill.objects.count() == 6
    assert Payment.objects.filter(method=Payment.Method.ACCEPTANCE_BILL).count() == 6
