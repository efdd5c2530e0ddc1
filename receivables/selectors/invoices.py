"""Reads over invoices, payments and credit: open balances, lists, credit left."""

from decimal import Decimal

from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce

from core.money import money_quantize
from receivables.models import Customer, Invoice

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)


def customer_open_receivables(*, customer: Customer) -> Decimal:
    """Sum what the customer still owes on its invoices that are not cancelled."""
    total = Invoice.objects.filter(customer=customer, status=Invoice.Status.OPEN).aggregate(
        total=Coalesce(Sum("outstanding"), ZERO)
    )["total"]
    return money_quantize(total)
