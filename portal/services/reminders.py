"""Reminders for customers who left a balance confirmation unanswered: once per period.

A period is a balance date customers were asked to confirm (links with
`as_of`). N working days (business calendar) after that date, every customer
of the period who neither confirmed nor disputed through the portal gets one
reminder: a task for its rep. The unique (customer, as_of) key makes the
reminder exactly once; a second beat, or a rerun, finds nothing to insert and
the rows it would claim already carry their task or are locked.
"""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from dunning.calendar import business_calendar
from dunning.models import CollectionTask
from dunning.services.tasks import TaskInput, collection_tasks_create_many
from portal.models import BalanceConfirmation, ConfirmationReminder, PortalAction, PortalLink
from receivables.models import Customer

DEFAULT_REMINDER_WORKING_DAYS = 5


def reminder_working_days() -> int:
    return int(
        getattr(
            settings, "PORTAL_CONFIRMATION_REMINDER_WORKING_DAYS", DEFAULT_REMINDER_WORKING_DAYS
        )
    )


def reminder_due_on(*, as_of: date) -> date:
    """The working day the silent customers of a period are reminded."""
    return business_calendar().get_nth_working_day(as_of, reminder_working_days())


@dataclass
class ReminderSummary:
    periods: list[str] = field(default_factory=list)
    reminded: int = 0


def _silent_customers(*, as_of: date):
    return Customer.objects.filter(
        Exists(PortalLink.objects.filter(customer=OuterRef("pk"), as_of=as_of))
    ).exclude(
        Exists(BalanceConfirmation.objects.filter(customer=OuterRef("pk"), as_of=as_of))
        | Exists(
            PortalAction.objects.filter(
                customer=OuterRef("pk"), as_of=as_of, kind=PortalAction.Kind.DISPUTE
            )
        )
        | Exists(ConfirmationReminder.objects.filter(customer=OuterRef("pk"), as_of=as_of))
    )


def confirmation_reminders_send(*, as_of: date, max_periods: int = 24) -> ReminderSummary:
    """Remind the silent customers of every period whose reminder day has come (once each)."""
    summary = ReminderSummary()
    periods = (
        PortalLink.objects.filter(as_of__isnull=False, as_of__lt=as_of)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .distinct()[:max_periods]
    )
    for period in periods:  # a loop over balance dates, a handful; never over customers
        if reminder_due_on(as_of=period) > as_of:
            continue
        summary.periods.append(period.isoformat())
        summary.reminded += _period_remind(period=period, today=as_of)
    return summary


@transaction.atomic
def _period_remind(*, period: date, today: date) -> int:
    """Insert the period's reminders, then give each one claimed without a task its task."""
    ConfirmationReminder.objects.bulk_create(
        [
            ConfirmationReminder(customer_id=pk, as_of=period, business_date=today)
            for pk in _silent_customers(as_of=period).values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    claimed = list(
        ConfirmationReminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(as_of=period, task__isnull=True)
        .select_related("customer")
        .order_by("pk")
    )
    if not claimed:
        return 0
    tasks = collection_tasks_create_many(
        tasks=[
            TaskInput(
                customer=reminder.customer,
                kind=CollectionTask.Kind.CONFIRMATION_SILENT,
                params={"customer": reminder.customer.name, "as_of": period.isoformat()},
                due_date=today,
            )
            for reminder in claimed
        ]
    )
    for reminder, task in zip(claimed, tasks, strict=True):
        reminder.task = task
    ConfirmationReminder.objects.bulk_update(claimed, ["task"])
    return len(claimed)
