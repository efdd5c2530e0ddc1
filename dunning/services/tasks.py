"""Tasks for people as a kind and parameters, worded when shown in the reader's language."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from dunning.models import CaseEvent, CollectionCase, CollectionTask, Communication
from dunning.services.events import case_event_create, task_created_data
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
    """Give the customer's case owner (or its rep) a task of a kind with its parameters (ids,
    addresses, ISO dates); record it on the timeline.

    `label` is data the task lists show after the kind (an address, a number), never a
    sentence.
    """
    # `what` names the task's wording (`core.events`: "task:<what>"), registered by its app.
    params = {"what": kind, **params}
    case = CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).first()
    if assignee is None:
        assignee = case.owner if case is not None else customer.sales_rep
    task = CollectionTask.objects.create(
        kind=kind,
        customer=customer,
        case=case,
        assignee=assignee,
        communication=communication,
        title=label[:200],
        params=params,
        due_date=due_date,
    )
    case_event_create(
        customer=customer,
        case=case,
        kind=CaseEvent.Kind.TASK_CREATED,
        data=task_created_data(task),
    )
    return task


def collection_task_open_exists(*, customer: Customer, kind: str, params: dict) -> bool:
    """Whether an open task of the kind with these parameters is already there."""
    # Key by key: SQLite has no JSON containment.
    params = {"what": kind, **params}
    lookups = {f"params__{key}": value for key, value in params.items()}
    return CollectionTask.objects.filter(
        customer=customer, kind=kind, status=CollectionTask.Status.OPEN, **lookups
    ).exists()


@dataclass(frozen=True)
class TaskInput:
    customer: Customer
    kind: str
    params: dict
    due_date: date


@transaction.atomic
def collection_tasks_create_many(*, tasks: list[TaskInput]) -> list[CollectionTask]:
    """Create many tasks in a constant number of statements, each on the timeline."""
    if not tasks:
        return []
    customer_ids = {task.customer.pk for task in tasks}
    cases = {
        case.customer_id: case
        for case in CollectionCase.objects.filter(
            customer_id__in=customer_ids, status=CollectionCase.Status.OPEN
        ).select_related("owner")
    }
    rows = []
    for task in tasks:
        case = cases.get(task.customer.pk)
        rows.append(
            CollectionTask(
                kind=task.kind,
                customer=task.customer,
                case=case,
                assignee_id=case.owner_id if case is not None else task.customer.sales_rep_id,
                params={"what": task.kind, **task.params},
                due_date=task.due_date,
            )
        )
    created = CollectionTask.objects.bulk_create(rows)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                customer_id=task.customer_id,
                case=task.case,
                kind=CaseEvent.Kind.TASK_CREATED,
                data=task_created_data(task),
            )
            for task in created
        ]
    )
    return created
