"""Tasks for people, written as a kind and its parameters (worded at display time)."""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from dunning.models import CaseEvent, CollectionTask, Communication
from dunning.services.events import case_event_create
from receivables.models import Customer


@transaction.atomic
def collection_task_create(
    *,
    customer: Customer,
    kind: str,
    params: dict,
    due_date: date,
    assignee: AbstractBaseUser | None = None,
    communication: Communication | None = None,
    label: str = "",
) -> CollectionTask:
    """Create an open task of a kind with its parameters (ids, addresses, ISO dates) for the
    assignee (default: the customer's sales rep), and its timeline row.

    `label` is data the task lists show after the kind (an address, a number), never a
    sentence.
    """
    assignee = assignee or customer.sales_rep
    task = CollectionTask.objects.create(
        kind=kind,
        customer=customer,
        assignee=assignee,
        communication=communication,
        title=label[:200],
        params=params,
        due_date=due_date,
    )
    case_event_create(
        customer=customer,
        kind=CaseEvent.Kind.TASK_CREATED,
        data={
            "task": task.pk,
            "kind": kind,
            "assignee": assignee.get_username() if assignee else None,
            **({"communication": communication.pk} if communication else {}),
            **params,
        },
    )
    return task


def collection_task_open_exists(*, customer: Customer, kind: str, params: dict) -> bool:
    """Whether an open task of the kind with these parameters is already there."""
    # Key by key: SQLite has no JSON containment.
    lookups = {f"params__{key}": value for key, value in params.items()}
    return CollectionTask.objects.filter(
        customer=customer, kind=kind, status=CollectionTask.Status.OPEN, **lookups
    ).exists()
