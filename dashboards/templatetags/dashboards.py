"""Template helpers of the daily pages, and the customer file's sections for the customer page.

The customer page (receivables) loads this library and calls
`{% customer_file customer %}`: receivables itself imports nothing from the
collection apps, the sections come from here.
"""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.roles import Role, has_role
from dashboards.selectors.customer_file import customer_file_get
from dashboards.selectors.kpis import RANK_LEVELS
from dunning.models import CollectionCase, LevelCode
from receivables.selectors.ageing import BUCKETS

register = template.Library()


@register.simple_tag
def optional_url(name: str, *args: object) -> str:
    """The URL of a page another part of the app provides, or "" while it does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag
def sort_value(current: str, field: str) -> str:
    """The `order` value a column header links to: ascending first, then descending."""
    return f"-{field}" if current == field else field


@register.simple_tag
def sort_mark(current: str, field: str) -> str:
    if current == field:
        return "▲"
    if current == f"-{field}":
        return "▼"
    return ""


@register.inclusion_tag("dashboards/_sort_header.html", takes_context=True)
def sort_header(context: template.Context, field: str, label: str, target: str = "") -> dict:
    """A column header that sorts the list by the field, then reverses; keeps other filters."""
    current = context.get("order", "")
    return {
        "request": context["request"],
        "value": sort_value(current, field),
        "mark": sort_mark(current, field),
        "label": label,
        "target": target,
    }


@register.filter
def rung_label(rank: int | None) -> str:
    """The ladder level a rung rank stands for ("" for none)."""
    level = RANK_LEVELS.get(rank)
    return str(LevelCode(level).label) if level else ""


@register.simple_tag
def overdue_reasons() -> list[tuple[str, str]]:
    """The overdue reasons a rep can record (all but "unknown")."""
    return [
        (value, label)
        for value, label in CollectionCase.OverdueReason.choices
        if value != CollectionCase.OverdueReason.UNKNOWN
    ]


@register.filter
def reason_label(value: str) -> str:
    """The overdue reason's label."""
    return str(dict(CollectionCase.OverdueReason.choices).get(value, value or ""))


@register.filter
def days_since(day, today) -> int | None:
    """Days from a date to today (None when there is no date)."""
    if not day:
        return None
    return (today - day).days


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.inclusion_tag("dashboards/_customer_file.html", takes_context=True)
def customer_file(context: template.Context, customer) -> dict[str, object]:
    """Every section of the customer file, read with a bounded number of queries."""
    request = context["request"]
    today = timezone.localdate()
    sections = customer_file_get(user=request.user, customer=customer, as_of=today)
    return {
        **sections,
        "customer": customer,
        "today": today,
        "buckets": BUCKETS,
        "request": request,
        "user": request.user,
        "is_finance": has_role(request.user, Role.FINANCE),
        "is_manager": has_role(request.user, Role.MANAGER),
        "csrf_token": context.get("csrf_token"),
    }
