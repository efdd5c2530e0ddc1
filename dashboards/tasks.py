"""Thin Celery tasks of the dashboards."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from dashboards.services import receivables_snapshot_take


@shared_task(
    name="dashboards.tasks.receivables_snapshot_task",
    soft_time_limit=10 * 60,
    time_limit=15 * 60,
)
def receivables_snapshot_task(business_date: str | None = None) -> dict[str, object]:
    """Snapshot the receivables at the end of a business date (by default yesterday, local)."""
    day = (
        date.fromisoformat(business_date)
        if business_date
        else timezone.localdate() - timedelta(days=1)
    )
    rows = receivables_snapshot_take(business_date=day)
    return {"business_date": day.isoformat(), "rows": rows}
