"""Template side of `core.events`: rows stored as a kind and parameters, worded for the reader."""

from django import template

from core.events import formal_date_text, render

register = template.Library()


@register.simple_tag
def worded(kind: str, params: dict | None) -> str:
    """Word a row of `kind` with `params` in the active language."""
    return render(kind, params)


@register.filter
def formal_date(value) -> str:
    """A date as a formal letter in the active language writes it."""
    return formal_date_text(value)
