"""Daily snapshots of the receivables, so history figures read one row per day, not history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReceivablesSnapshotDay(models.Model):
    """A business date whose snapshot was taken: its rows are complete (none means zero)."""

    business_date = models.DateField(_("business date"), unique=True)
    taken_at = models.DateTimeField(_("taken at"), auto_now=True)

    class Meta:
        verbose_name = _("receivables snapshot day")
        verbose_name_plural = _("receivables snapshot days")
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return self.business_date.isoformat()


class ReceivablesSnapshot(models.Model):
    """One sales rep's receivables in one currency at the end of a business date.

    The figures follow the ageing's as-of rule: invoices issued by the date
    (never cancelled ones), less posted payments dated and credit notes issued
    by it. `month_sales` is the credit sales from the first of the month
    through the date, so the month-end row holds the month's sales.
    """

    scope_owner_path = "sales_rep"

    business_date = models.DateField(_("business date"))
    currency = models.CharField(_("currency"), max_length=3)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        on_delete=models.CASCADE,
        related_name="receivables_snapshots",
    )
    receivables = models.DecimalField(_("receivables"), max_digits=14, decimal_places=2)
    current_receivables = models.DecimalField(_("not yet due"), max_digits=14, decimal_places=2)
    month_sales = models.DecimalField(
        _("credit sales of the month"), max_digits=14, decimal_places=2
    )

    class Meta:
        verbose_name = _("receivables snapshot")
        verbose_name_plural = _("receivables snapshots")
        ordering = ["-business_date", "currency", "sales_rep"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "currency", "sales_rep"],
                name="receivables_snapshot_unique_day_currency_rep",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_date} {self.currency} {self.sales_rep_id}: {self.receivables}"
