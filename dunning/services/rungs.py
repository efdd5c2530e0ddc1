"""The highest rung each invoice has reached, kept on the invoice beside its steps.

The steps stay the record (append-only, dated); `Invoice.dunning_rung` is what they
say today, so today's ladder is a pass over the open invoices, not over every step
ever fired. The daily run refreshes the invoices of the steps each chunk writes.
"""

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from dunning.models import RUNG_RANKS, DunningStep
from dunning.selectors.rungs import step_rank
from receivables.models import Invoice


def invoices_rung_refresh(*, steps: QuerySet[DunningStep]) -> int:
    """Set the stored rung of the invoices of these steps from all their steps (one UPDATE)."""
    top = (
        DunningStep.objects.filter(invoice=OuterRef("pk"), level__in=list(RUNG_RANKS))
        .annotate(rank=step_rank())
        .order_by("-rank")
        .values("rank")[:1]
    )
    invoice_ids = steps.filter(invoice__isnull=False, level__in=list(RUNG_RANKS)).values(
        "invoice_id"
    )
    return Invoice.objects.filter(pk__in=invoice_ids).update(
        dunning_rung=Coalesce(Subquery(top, output_field=IntegerField()), Value(0))
    )
