"""Timeline rows for a customer's collection case."""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser

from dunning.models import CaseEvent, CollectionCase, CollectionTask
from receivables.models import Customer


def task_created_data(task: CollectionTask) -> dict:
    """What the timeline keeps of a new task (saved, so it has its id): worded when read.

    The daily run passes the rows it wrote (`communications.NewTask`), read the same way."""
    data = {
        "task": task.pk,
        "kind": task.kind,
        "task_params": task.params,
        "due_date": task.due_date.isoformat(),
    }
    if task.communication_id is not None:
        data["communication"] = task.communication_id
    return data


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
    event = CaseEvent(
        customer=customer, case=case, kind=kind, actor=actor, text=text, data=data or {}
    )
    if case is None:
        event.case = CollectionCase.objects.filter(
            customer=customer, status=CollectionCase.Status.OPEN
        ).first()
    event.save()
    return event


def case_events_create_many(*, events: Sequence[CaseEvent]) -> list[CaseEvent]:
    """Write many timeline rows at once (two statements): each row without a case goes
    on its customer's open case, as `case_event_create` puts one."""
    events = list(events)
    caseless = {event.customer_id for event in events if event.case_id is None}
    if caseless:
        open_cases = {}
        for case in CollectionCase.objects.filter(
            customer_id__in=caseless, status=CollectionCase.Status.OPEN
        ).order_by("-pk"):
            open_cases[case.customer_id] = case
        for event in events:
            if event.case_id is None:
                event.case = open_cases.get(event.customer_id)
    return CaseEvent.objects.bulk_create(events, batch_size=500)
