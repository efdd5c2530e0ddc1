from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.models.customers import Customer

MONEY = {"max_digits": 14, "decimal_places": 2}


class Invoice(models.Model):
    """A receivable: what the customer owes, from when, and proof it reached them.

    `outstanding` is kept by the payment services under a row lock, so that the
    daily run and the dashboards read the open balance without aggregating
    allocations; as-of reports recompute it from dated allocations.
    """

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    class DeliveryMethod(models.TextChoices):
        COURIER = "courier", _("Courier")
        EMAIL = "email", _("Email")
        E_INVOICE = "e_invoice", _("E-invoice platform")
        HAND = "hand", _("By hand")
        POST = "post", _("Registered post")

    number = models.CharField(_("number"), max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(0)])
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    contract_number = models.CharField(
        _("contract number"),
        max_length=64,
        blank=True,
        help_text=_("The sales contract the invoice bills, as written on it."),
    )
    delivery_method = models.CharField(
        _("delivery method"), max_length=16, choices=DeliveryMethod.choices, blank=True
    )
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    receipt_confirmed_by = models.CharField(_("receipt confirmed by"), max_length=120, blank=True)
    receipt_confirmed_at = models.DateTimeField(_("receipt confirmed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The highest rung of the dunning ladder the invoice has reached (0: none), kept by the
    # daily run beside the steps it writes, so today's ladder reads the open invoices alone.
    dunning_rung = models.PositiveSmallIntegerField(_("dunning rung reached"), default=0)

    history = HistoricalRecords(excluded_fields=["dunning_rung"])

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["due_date", "number"]
        indexes = [
            models.Index(fields=["customer", "status", "due_date"]),
            models.Index(fields=["status", "due_date"]),
            # Today's figures read the open items only: these stay the size of
            # the open book however much history piles up, and cover what the
            # ageing and the dashboards group, filter and order by.
            # With the issue date and the key, the day's totals are read from the index
            # alone (the agreements' anti-join needs the key); with the rung, today's
            # ladder too (the overdue rows carry it). Key columns, not INCLUDE: SQLite
            # has no INCLUDE.
            models.Index(
                fields=[
                    *("currency", "due_date", "customer", "outstanding", "issue_date"),
                    *("id", "dunning_rung"),
                ],
                condition=Q(status="open"),
                name="invoice_open_due_idx",
            ),
            models.Index(
                fields=["customer", "currency", "due_date", "outstanding"],
                condition=Q(status="open"),
                name="invoice_open_customer_idx",
            ),
            # The delivery queues (rep home, finance desk) look for the rare open invoice
            # without proof of delivery or receipt; without these they walk every open one.
            models.Index(
                fields=["due_date", "number"],
                condition=Q(status="open")
                & (Q(delivered_at__isnull=True) | Q(receipt_confirmed_at__isnull=True)),
                name="invoice_open_unconfirmed_idx",
            ),
            models.Index(
                fields=["issue_date", "id"],
                condition=Q(status="open", delivered_at__isnull=True),
                name="invoice_open_undelivered_idx",
            ),
            models.Index(
                fields=["delivered_at", "id"],
                condition=Q(
                    status="open", delivered_at__isnull=False, receipt_confirmed_at__isnull=True
                ),
                name="invoice_open_unreceipted_idx",
            ),
            # The month's credit sales read a window of issue dates.
            models.Index(
                fields=["currency", "issue_date", "amount"], name="invoice_currency_issue_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(outstanding__gte=0) & Q(outstanding__lte=F("amount")),
                name="invoice_outstanding_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")), name="invoice_due_not_before_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("receivables:invoice_detail", kwargs={"pk": self.pk})

    def days_past_due(self, *, as_of: date) -> int:
        """Days since the due date; zero or less while not yet due."""
        return (as_of - self.due_date).days

    @property
    def has_proof_of_delivery(self) -> bool:
        return self.delivered_at is not None

    @property
    def has_confirmation_of_receipt(self) -> bool:
        return self.receipt_confirmed_at is not None


class Payment(models.Model):
    """Money received from a customer; allocated to invoices, the rest is credit."""

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        POSTED = "posted", _("Posted")
        REVERSED = "reversed", _("Reversed")

    class Method(models.TextChoices):
        """How the money came: cash in the bank, or a bill that pays at its maturity."""

        TRANSFER = "transfer", _("Bank transfer")
        ACCEPTANCE_BILL = "acceptance_bill", _("Acceptance bill")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    payment_date = models.DateField(_("payment date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    # What of it is allocated to invoices, kept by the payment services with each allocation
    # (as `Invoice.outstanding` is), so "which payments hold credit" reads an index.
    allocated_amount = models.DecimalField(
        _("allocated"), default=Decimal("0.00"), editable=False, **MONEY
    )
    currency = models.CharField(_("currency"), max_length=3)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    method = models.CharField(
        _("method"),
        max_length=16,
        choices=Method.choices,
        default=Method.TRANSFER,
        help_text=_(
            "An acceptance bill settles its invoices at once but is not cash until it is "
            "collected, discounted or endorsed."
        ),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.POSTED
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("reversal reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # The allocated amount is derived from the allocations, which keep their own history.
    history = HistoricalRecords(excluded_fields=["allocated_amount"])

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-payment_date", "-pk"]
        # Finance's desk reads the payments of a recent window by date.
        indexes = [
            models.Index(fields=["payment_date", "id"], name="payment_date_id_idx"),
            # Finance's desk and the customer page look for the few posted payments that
            # still hold credit.
            models.Index(
                fields=["customer", "payment_date", "id"],
                condition=Q(status="posted", allocated_amount__lt=F("amount")),
                name="payment_with_credit_idx",
            ),
            # The desk's queue of them, oldest first: PostgreSQL cannot tell that few
            # payments hold credit and would walk the date index through every payment.
            models.Index(
                fields=["payment_date", "id"],
                condition=Q(status="posted", allocated_amount__lt=F("amount")),
                name="payment_credit_date_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0) & Q(allocated_amount__lte=F("amount")),
                name="payment_allocated_within_amount",
            ),
            # The bank reference, date and amount identify a receipt: recording
            # it twice (a re-imported statement) is refused.
            models.UniqueConstraint(
                fields=["customer", "reference", "payment_date", "amount"],
                condition=Q(status="posted") & ~Q(reference=""),
                name="payment_unique_posted_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.payment_date} {self.currency} {self.amount}"

    def get_absolute_url(self) -> str:
        return reverse("receivables:payment_detail", kwargs={"pk": self.pk})


class PaymentAllocation(models.Model):
    """The part of a payment that settles one invoice."""

    scope_owner_path = "payment__customer__sales_rep"

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.CASCADE, related_name="allocations"
    )
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class CreditNote(models.Model):
    """Reduces what an invoice asks for (a valid dispute, a corrected invoice)."""

    scope_owner_path = "invoice__customer__sales_rep"

    number = models.CharField(_("number"), max_length=64, unique=True)
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="credit_notes"
    )
    issue_date = models.DateField(_("issue date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["issue_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number
