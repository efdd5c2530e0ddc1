"""Thin Celery tasks over the dunning services: the database decides, Celery only carries.

`dunning_run_task` (beat, daily) plans the business date's run and fans the
chunks of customers out to `dunning_chunk_task`; each chunk, once committed,
queues the messages it created for `communications_send_task`. The
`dunning_send_pending_task` sweep (beat, every minute) recovers from the
database whatever nobody works on: messages whose lease expired in `sending`
go back to pending, pending chunks whose lease expired are dispatched again,
runs whose chunks are all done are completed, and whatever is due is sent.
So a killed worker or a Redis that lost its queue costs a lease, not a day.
"""

import logging
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from dunning.models import DunningRunChunk
from dunning.services.promises import promise_review
from dunning.services.run import (
    dunning_chunk_process,
    dunning_chunks_recover,
    dunning_run_finish,
    dunning_runs_finish,
    run_dunning,
)
from dunning.services.send import communications_reap, communications_send, lease
from dunning.services.thanks import dunning_thank_you_for_paid

logger = logging.getLogger(__name__)


@shared_task(name="dunning.tasks.dunning_run_task", soft_time_limit=10 * 60, time_limit=15 * 60)
def dunning_run_task(as_of: str | None = None) -> dict[str, object]:
    """Plan the daily run for a business date (today, local time, by default) and fan it out."""
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    result = run_dunning(
        as_of=business_date,
        dispatch=lambda chunk_id: transaction.on_commit(lambda: dunning_chunk_task.delay(chunk_id)),
    )
    logger.info("dunning run %s: %s chunks dispatched", business_date, len(result.chunk_ids))
    return {
        "as_of": business_date.isoformat(),
        "run_id": result.run_id,
        "chunks": len(result.chunk_ids),
        "status": "dispatched",
    }


@shared_task(
    name="dunning.tasks.dunning_chunk_task",
    # Only the database going away is worth a retry; the chunk is idempotent.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def dunning_chunk_task(chunk_id: int) -> dict[str, object]:
    """Process one chunk of customers (idempotent: a chunk already done does nothing)."""
    result = dunning_chunk_process(chunk_id=chunk_id)
    pending = result.pending_ids
    if pending:
        transaction.on_commit(lambda: communications_send_task.delay(pending))
    run_id = DunningRunChunk.objects.values_list("run_id", flat=True).get(pk=chunk_id)
    dunning_run_finish(run_id=run_id)
    return {
        "chunk_id": chunk_id,
        "communications": len(result.communications),
        "already_done": result.already_done,
    }


@shared_task(
    name="dunning.tasks.communications_send_task", soft_time_limit=10 * 60, time_limit=15 * 60
)
def communications_send_task(ids: list[int] | None = None) -> dict[str, int]:
    """Claim and send pending messages (the given ones, or all that are due)."""
    summary = communications_send(ids=ids)
    return {
        "sent": len(summary.sent),
        "failed": len(summary.failed),
        "cancelled": len(summary.cancelled),
        "retrying": len(summary.retrying),
    }


@shared_task(
    name="dunning.tasks.dunning_send_pending_task", soft_time_limit=10 * 60, time_limit=15 * 60
)
def dunning_send_pending_task() -> dict[str, int]:
    """Sweep: recover expired leases from the database, finish runs, send everything due."""
    reaped = communications_reap()
    chunk_ids = dunning_chunks_recover(lease=lease())
    for chunk_id in chunk_ids:
        dunning_chunk_task.delay(chunk_id)
    finished = dunning_runs_finish()
    summary = communications_send()
    return {
        "reaped": reaped,
        "chunks_redispatched": len(chunk_ids),
        "runs_finished": len(finished),
        "sent": len(summary.sent),
        "failed": len(summary.failed),
        "cancelled": len(summary.cancelled),
        "retrying": len(summary.retrying),
    }


@shared_task(
    name="dunning.tasks.collections_review_task", soft_time_limit=10 * 60, time_limit=15 * 60
)
def collections_review_task(as_of: str | None = None) -> dict[str, object]:
    """Daily, before the run: decide promises to pay (kept/broken), thank for paid invoices."""
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    review = promise_review(as_of=business_date)
    thanks = dunning_thank_you_for_paid(as_of=business_date)
    return {
        "as_of": business_date.isoformat(),
        "promises_kept": len(review.kept),
        "promises_broken": len(review.broken),
        "thanked": len(thanks.sent),
        "thank_you_without_contact": len(thanks.no_contact),
    }


@shared_task(
    name="dunning.tasks.dunning_thank_you_task",
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def dunning_thank_you_task(customer_ids: list[int], as_of: str) -> dict[str, object]:
    """Right after a payment commits, thank its customers for the dunned invoices it settled."""
    thanks = dunning_thank_you_for_paid(
        as_of=date.fromisoformat(as_of), customer_ids=list(customer_ids)
    )
    return {"thanked": thanks.sent, "without_contact": thanks.no_contact, "failed": thanks.failed}
