from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from receivables.models import Customer, Invoice, Payment
from receivables.selectors.ageing import BUCKETS, ageing_report
from receivables.selectors.invoices import customer_unallocated_credit

pytestmark = pytest.mark.django_db


def test_seed_demo_has_invoices_at_every_age_partial_payments_and_credit(capsys):
    call_command("seed_demo", "--password", "demo-pass")
    counts = (Invoice.objects.count(), Payment.objects.count())
    call_command("seed_demo", "--password", "demo-pass")

    assert (Invoice.objects.count(), Payment.objects.count()) == counts
    report = ageing_report(as_of=timezone.localdate(), currency="CNY")
    assert all(report.totals[bucket] > 0 for bucket in BUCKETS)
    partly_paid = Invoice.objects.filter(
        number__startswith="INV-DEMO-", status=Invoice.Status.OPEN, outstanding__lt=F("amount")
    )
    assert partly_paid.count() >= 2
    assert Invoice.objects.filter(number__startswith="INV-DEMO-", status="paid").exists()
    assert customer_unallocated_credit(customer=Customer.objects.get(code="C-2001")) == Decimal(
        "2000.00"
    )
    assert Invoice.objects.filter(
        number__startswith="INV-DEMO-", receipt_confirmed_at__isnull=False
    ).exists()
    assert Invoice.objects.filter(
        number__startswith="INV-DEMO-", delivered_at__isnull=True
    ).exists()
    assert "invoices and" in capsys.readouterr().out
