"""Portal sections other apps' pages include (their views import nothing of the portal)."""

from django import template

from portal.models import PortalLink
from portal.selectors import confirmation_rate
from receivables.models import Customer

register = template.Library()

LINK_ROWS = 10


@register.inclusion_tag("portal/_customer_links.html")
def portal_customer_links(customer: Customer) -> dict:
    """The customer's latest links to its page, with revoke buttons, and a way to make one."""
    links = list(PortalLink.objects.filter(customer=customer).order_by("-created_at")[:LINK_ROWS])
    return {"customer": customer, "links": links}


@register.inclusion_tag("portal/_confirmation_rate.html")
def portal_confirmation_rate() -> dict:
    """The latest period's confirmation rate (manager dashboard, finance desk)."""
    return {"rate": confirmation_rate()}
