"""The customer page's balance and ageing panels.

The customer page belongs to the customer master; these inclusion tags let
it show invoices and ageing without knowing their selectors. Each tag is the
one place its panel reads data: it calls selectors and hands the partial
evaluated lists and numbers, so the partials themselves trigger no query.
The page has already checked that the user may see the customer.
"""

from django import template
from django.utils import timezone

from core.roles import Role, has_role
from receivables.models import Customer
from receivables.selectors.ageing import BUCKETS, customer_ageing
from receivables.selectors.invoices import (
    customer_balance,
    customer_open_invoices,
    customer_payments_with_credit,
)

register = template.Library()

INVOICES_SHOWN = 20


@register.inclusion_tag("receivables/_customer_invoices.html", takes_context=True)
def customer_invoices_panel(context: template.Context, customer: Customer) -> dict[str, object]:
    """Open invoices, the open balance and unapplied credit of the customer."""
    today = timezone.localdate()
    request = context.get("request")
    open_invoices = list(customer_open_invoices(customer=customer)[: INVOICES_SHOWN + 1])
    balance = customer_balance(customer=customer)
    return {
        "customer": customer,
        "balance": balance,
        "invoices": open_invoices[:INVOICES_SHOWN],
        "more_invoices": len(open_invoices) > INVOICES_SHOWN,
        # Which payments hold the credit is read only when there is credit (a query saved
        # on most pages).
        "credit_payments": (
            list(customer_payments_with_credit(customer=customer)[:10])
            if balance.unallocated_credit > 0
            else []
        ),
        "today": today,
        "is_finance": request is not None and has_role(request.user, Role.FINANCE),
        "request": request,
    }


@register.inclusion_tag("receivables/_customer_ageing.html")
def customer_ageing_panel(customer: Customer) -> dict[str, object]:
    """The customer's ageing buckets as of today."""
    today = timezone.localdate()
    amounts = customer_ageing(customer=customer, as_of=today, today=today)
    return {
        "customer": customer,
        "as_of": today,
        "buckets": [(bucket, amounts[bucket]) for bucket in BUCKETS],
        "total": amounts["total"],
    }
