"""Writes of the dashboards: the daily receivables snapshot."""

import logging
from datetime import date

from django.db import transaction

from dashboards.models import ReceivablesSnapshot, ReceivablesSnapshotDay
from dashboards.selectors.snapshots import receivables_positions

logger = logging.getLogger(__name__)


@transaction.atomic
def receivables_snapshot_take(*, business_date: date) -> int:
    """Store the receivables of each currency and rep at the end of the date; idempotent.

    Taking it again replaces the date's rows (an upsert on the date, currency
    and rep; rows no longer there go), so the beat task may run twice and the
    back-fill may overlap it. Returns the number of rows.
    """
    positions = receivables_positions(as_of=business_date)
    rows = [
        ReceivablesSnapshot(
            business_date=business_date,
            currency=currency,
            sales_rep_id=rep_id,
            receivables=position.receivables,
            current_receivables=position.current,
            month_sales=position.month_sales,
        )
        for (currency, rep_id), position in positions.items()
    ]
    ReceivablesSnapshot.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["business_date", "currency", "sales_rep"],
        update_fields=["receivables", "current_receivables", "month_sales"],
    )
    # A rep who no longer has receivables in a currency (customers moved,
    # invoices cancelled) keeps no row from an earlier take of the date.
    ReceivablesSnapshot.objects.filter(business_date=business_date).exclude(
        pk__in=[row.pk for row in rows]
    ).delete()
    ReceivablesSnapshotDay.objects.update_or_create(business_date=business_date)
    logger.info("receivables snapshot %s: %s rows", business_date, len(rows))
    return len(rows)
