from django import template

from statements.models import Statement
from statements.services.runs import statement_portal_link as _statement_portal_link

register = template.Library()


@register.simple_tag
def statement_portal_link(statement: Statement) -> str:
    """The customer's own page for the statement ("" until the portal is wired in)."""
    return _statement_portal_link(statement)
