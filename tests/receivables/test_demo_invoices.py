"""seed_demo's invoices and payments (seeding twice is checked in tests/core/test_seed_demo.py)."""

from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from receivables.models import Customer, Invoice, Payment
from receivables.selectors.ageing import BUCKETS, ageing_report
from receivables.selectors.invoices import customer_unallocated_credit

pytestmark = pytest.mark.django_db


def test_seed_demo_has_invoices_at_every_age_partial_payments_and_credit(seeded_demo):
    assert Payment.objects.exists()
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
    assert "invoices and" in seeded_demo.output
