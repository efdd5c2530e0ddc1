"""Thin Celery tasks of the customer portal."""

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from portal.services.reminders import confirmation_reminders_send


@shared_task(
    name="portal.tasks.confirmation_reminders_task",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=10 * 60,
    time_limit=15 * 60,
)
def confirmation_reminders_task(as_of: str | None = None) -> dict[str, object]:
    """Remind the silent customers of every period whose reminder day has come (beat, daily)."""
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    summary = confirmation_reminders_send(as_of=business_date)
    return {
        "as_of": business_date.isoformat(),
        "periods": summary.periods,
        "reminded": summary.reminded,
    }
