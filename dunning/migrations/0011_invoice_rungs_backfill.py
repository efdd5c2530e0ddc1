"""Fill `Invoice.dunning_rung` from the steps already written (once; the run keeps it since)."""

from django.db import migrations
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

# As in dunning.models.RUNG_RANKS when this migration was written.
RANKS = {"reminder": 1, "demand_letter": 2, "executive": 3, "legal": 4}


def backfill(apps, schema_editor):
    Step = apps.get_model("dunning", "DunningStep")
    Invoice = apps.get_model("receivables", "Invoice")
    rank = Case(
        *(When(level=level, then=Value(value)) for level, value in RANKS.items()),
        output_field=IntegerField(),
    )
    top = (
        Step.objects.filter(invoice=OuterRef("pk"), level__in=list(RANKS))
        .annotate(rank=rank)
        .order_by("-rank")
        .values("rank")[:1]
    )
    stepped = Step.objects.filter(invoice__isnull=False, level__in=list(RANKS)).values("invoice_id")
    Invoice.objects.filter(pk__in=stepped).update(
        dunning_rung=Coalesce(Subquery(top, output_field=IntegerField()), Value(0))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0010_run_plans_what_is_due"),
        ("receivables", "0012_invoice_dunning_rung"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
