"""Thin Celery tasks: each calls one service."""

from datetime import date

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from statements.services.runs import statement_run, statements_reap, statements_send


@shared_task(time_limit=30 * 60, soft_time_limit=25 * 60)
def statement_run_task(as_of: str | None = None) -> dict:
    """Create today's due statements (once per customer and period), then send them."""
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    summary = statement_run(as_of=business_date)
    # Senders never share a statement (SKIP LOCKED): a month's thousands go out in parallel.
    for _sender in range(max(1, settings.STATEMENT_SENDERS)):
        statements_send_task.delay()
    return {"created": summary.created, "skipped_zero_balance": summary.skipped_zero_balance}


@shared_task(time_limit=15 * 60, soft_time_limit=12 * 60)
def statements_send_task(ids: list[int] | None = None) -> dict:
    """Return statements whose lease expired to the queue, then send what is due."""
    reaped = statements_reap()
    summary = statements_send(ids=ids)
    return {"reaped": reaped, "sent": len(summary.sent), "failed": len(summary.failed)}
