"""Portal sections other apps' pages include (their views import nothing of the portal)."""

from django import template

from dunning.models import Dispute
from portal.selectors import confirmation_rate
from receivables.models import Customer

register = template.Library()


@register.inclusion_tag("portal/_customer_links.html")
def portal_customer_links(customer: Customer) -> dict:
    """Make a link to the customer's page; its links (to revoke) are one click away.

    No query: the customer page keeps its query budget (tests/dashboards/test_query_bounds.py).
    """
    return {"customer": customer, "links": None}


@register.inclusion_tag("portal/_confirmation_rate.html")
def portal_confirmation_rate() -> dict:
    """The latest period's confirmation rate (manager dashboard, finance desk)."""
    return {"rate": confirmation_rate()}


@register.inclusion_tag("portal/_dispute_attachments.html")
def portal_dispute_attachments(dispute: Dispute) -> dict:
    """Files the contact attached to the dispute on the customer's page."""
    return {"attachments": list(dispute.portal_attachments.all())}
