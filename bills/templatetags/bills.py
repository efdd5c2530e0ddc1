"""The bills' sections on pages of other apps: the finance desk, the dashboard, the customer page.

Those pages load this library (`{% load bills %}`) and call one tag; their own
apps import nothing from `bills`.
"""

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bills.selectors.bills import (
    acceptance_bill_list,
    bills_maturing,
    bills_outstanding_by_maturity,
)
from core.roles import Role, has_role

register = template.Library()

WINDOW_LABELS = {
    "past": _("Past maturity, not collected"),
    "0-30": _("Maturing within 30 days"),
    "31-60": _("Maturing in 31 to 60 days"),
    "61-90": _("Maturing in 61 to 90 days"),
    "90+": _("Maturing after 90 days"),
    "total": _("Total"),
}
CUSTOMER_BILLS_LIMIT = 20


@register.filter
def maturity_window_label(code: str) -> str:
    return str(WINDOW_LABELS.get(code, code))


@register.inclusion_tag("bills/_desk_maturing.html", takes_context=True)
def bills_desk(context: template.Context) -> dict[str, object]:
    """Finance desk: held bills past maturity and maturing in 30, 60 and 90 days."""
    request = context["request"]
    today = timezone.localdate()
    return {"lists": bills_maturing(user=request.user, as_of=today), "today": today}


@register.inclusion_tag("bills/_dashboard_maturity.html", takes_context=True)
def bills_dashboard(context: template.Context) -> dict[str, object]:
    """Manager dashboard: bills in hand by maturity window, per currency (one query)."""
    request = context["request"]
    today = timezone.localdate()
    return {
        "rows": bills_outstanding_by_maturity(user=request.user, as_of=today),
        "today": today,
    }


@register.inclusion_tag("bills/_customer_bills.html", takes_context=True)
def customer_bills(context: template.Context, customer) -> dict[str, object]:
    """Customer page: the customer's bills, latest maturity first (one query, bounded)."""
    request = context["request"]
    bills = list(
        acceptance_bill_list(user=request.user, customer=customer).order_by(
            "-maturity_date", "-number"
        )[: CUSTOMER_BILLS_LIMIT + 1]
    )
    return {
        "customer": customer,
        "bills": bills[:CUSTOMER_BILLS_LIMIT],
        "has_more": len(bills) > CUSTOMER_BILLS_LIMIT,
        "is_finance": has_role(request.user, Role.FINANCE),
    }
