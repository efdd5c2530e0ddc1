"""The API's housekeeping, run by beat."""

from celery import shared_task

from api.services import idempotency_records_purge


@shared_task(name="api.tasks.idempotency_records_purge_task", soft_time_limit=10 * 60)
def idempotency_records_purge_task() -> dict[str, int]:
    """Delete the Idempotency-Key answers past their time to live."""
    return {"purged": idempotency_records_purge()}
