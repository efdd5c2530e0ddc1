"""Template side of `core.events`: rows stored as a kind and parameters, worded for the reader."""

from django import template

from core.events import render

register = template.Library()


@register.simple_tag
def worded(kind: str, params: dict | None) -> str:
    """Word a row of `kind` with `params` in the active language."""
    return render(kind, params)
