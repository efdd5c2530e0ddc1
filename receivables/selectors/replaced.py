"""Invoices whose due dates an approved agreement has replaced, as seen from receivables.

Receivables imports neither contracts nor dunning, yet its invoice page and
invoice list must not call an invoice "overdue" once an approved instalment
plan replaces its due dates (its instalments are what falls overdue then).
Contracts registers, when its app is ready, the condition that says so; until
something registers, no invoice is replaced.
"""

from collections.abc import Callable

from django.db.models import Exists, Q, QuerySet

from receivables.models import Invoice

# Each builds an expression on an invoice row (`ref` names its pk): it is replaced.
_conditions: list[Callable[..., Exists]] = []


def invoice_replaced_register(*, condition: Callable[..., Exists]) -> None:
    """Register a condition (called with `ref=`) telling that an invoice is replaced."""
    if condition not in _conditions:
        _conditions.append(condition)


def invoice_replaced_q(*, ref: str = "pk") -> Q:
    """Condition on an invoice row: a registered rule replaces its due date (never when none)."""
    condition = Q(pk__in=[])
    for build in _conditions:
        condition |= Q(build(ref=ref))
    return condition


def invoices_exclude_replaced(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Leave out the invoices whose due dates a registered rule replaces."""
    for build in _conditions:
        queryset = queryset.exclude(build(ref="pk"))
    return queryset


def invoice_is_replaced(*, invoice: Invoice) -> bool:
    """Whether a registered rule replaces the invoice's due date (one query, none if no rule)."""
    if not _conditions:
        return False
    return Invoice.objects.filter(pk=invoice.pk).filter(invoice_replaced_q()).exists()
