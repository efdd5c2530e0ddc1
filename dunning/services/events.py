"""Timeline rows for a customer's collection case."""

from django.contrib.auth.models import AbstractBaseUser

from dunning.models import CaseEvent, CollectionCase
from receivables.models import Customer


def case_event_create(
    *,
    customer: Customer,
    kind: str,
    text: str = "",
    actor: AbstractBaseUser | None = None,
    case: CollectionCase | None = None,
    data: dict | None = None,
) -> CaseEvent:
    """Write one timeline row, on the customer's open case when no case is given.

    Give the row's `kind` and its parameters in `data` (amounts as strings, dates ISO,
    ids, item labels; what a person typed as `data["note"]`); it is worded in the
    reader's language when shown (`core.events.render`, renderers in `dunning.events`).
    `text` is for rows written before that and must not carry a finished sentence.
    """
    if case is None:
        case = CollectionCase.objects.filter(
            customer=customer, status=CollectionCase.Status.OPEN
        ).first()
    return CaseEvent.objects.create(
        customer=customer, case=case, kind=kind, actor=actor, text=text, data=data or {}
    )
