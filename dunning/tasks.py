import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="dunning.tasks.dunning_run_task")
def dunning_run_task(as_of: str | None = None) -> dict[str, str]:
    """The daily dunning run for a business date (today, local time, by default).

    The ladder itself lands with the dunning issue; until then the run only
    records that it happened.
    """
    business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
    logger.info("dunning run for %s: no dunning policy installed yet", business_date)
    return {"as_of": business_date.isoformat(), "status": "no_policy"}
