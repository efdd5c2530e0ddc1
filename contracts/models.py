import secrets
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.models import Customer, Invoice

MONEY = {"max_digits": 14, "decimal_places": 2}


class LateFeeTerms(models.Model):
    """A late-fee clause: a rate per day or per year, grace days and a cap."""

    class RatePeriod(models.TextChoices):
        DAY = "day", _("per day")
        YEAR = "year", _("per year")

    late_fee_rate_percent = models.DecimalField(
        _("late-fee rate (%)"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Percent of the outstanding amount, e.g. 0.05 for 0.05 %."),
    )
    late_fee_rate_period = models.CharField(
        _("late-fee rate period"),
        max_length=8,
        choices=RatePeriod.choices,
        default=RatePeriod.DAY,
    )
    late_fee_grace_days = models.PositiveSmallIntegerField(_("late-fee grace days"), default=0)
    late_fee_cap_percent = models.DecimalField(
        _("late-fee cap (percent of overdue amount)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        abstract = True


class Contract(LateFeeTerms):
    """A sales contract whose payment clauses the demand letter will quote."""

    scope_owner_path = "customer__sales_rep"

    class PaymentType(models.TextChoices):
        PREPAYMENT = "prepayment", _("Prepayment")
        CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery")
        INSTALMENTS = "instalments", _("Instalments")
        CREDIT_TERMS = "credit_terms", _("Credit terms")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("number"), max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    signed_date = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("starts on"), null=True, blank=True)
    end_date = models.DateField(_("ends on"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    payment_type = models.CharField(_("payment type"), max_length=20, choices=PaymentType.choices)
    credit_terms_days = models.PositiveSmallIntegerField(
        _("credit terms (days)"), default=0, validators=[MaxValueValidator(365)]
    )
    payee_account_name = models.CharField(_("payee account name"), max_length=200, blank=True)
    payee_bank_name = models.CharField(_("payee bank"), max_length=200, blank=True)
    payee_bank_account = models.CharField(_("payee bank account"), max_length=64, blank=True)
    dispute_resolution_clause = models.TextField(_("dispute-resolution clause"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)
    terms_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("longer terms approved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    terms_approval_reason = models.TextField(_("reason for longer terms"), blank=True)
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
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "number"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("contracts:contract_detail", kwargs={"pk": self.pk})


class PaymentMilestone(models.Model):
    """One payment of a contract, due a number of days after its trigger event."""

    scope_owner_path = "contract__customer__sales_rep"

    class Trigger(models.TextChoices):
        SIGNING = "signing", _("Signing")
        DELIVERY = "delivery", _("Delivery")
        ACCEPTANCE = "acceptance", _("Acceptance")
        WARRANTY_END = "warranty_end", _("End of warranty")
        FIXED_DATE = "fixed_date", _("Fixed date")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="milestones"
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    description = models.CharField(_("description"), max_length=200)
    percent = models.DecimalField(
        _("percent"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    offset_days = models.PositiveSmallIntegerField(_("offset days"), default=0)
    fixed_date = models.DateField(_("fixed date"), null=True, blank=True)
    trigger_date = models.DateField(_("trigger date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    invoice = models.OneToOneField(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="milestone",
        null=True,
        blank=True,
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment milestone")
        verbose_name_plural = _("payment milestones")
        ordering = ["contract", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "sequence"], name="milestone_sequence_unique_per_contract"
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="milestone_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} #{self.sequence} {self.description}"


def proof_upload_to(instance: "DeliveryRecord", filename: str) -> str:
    """Store proofs under a random name; the original name is kept on the row."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"proofs/{secrets.token_hex(16)}{suffix}"


class DeliveryRecord(models.Model):
    """A delivery or acceptance, with the signed proof the demand letter cites."""

    scope_owner_path = "contract__customer__sales_rep"

    class Kind(models.TextChoices):
        DELIVERY = "delivery", _("Delivery")
        ACCEPTANCE = "acceptance", _("Acceptance")

    contract = models.ForeignKey(
        Contract,
        verbose_name=_("contract"),
        on_delete=models.CASCADE,
        related_name="delivery_records",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    occurred_on = models.DateField(_("date"))
    signer_name = models.CharField(_("signed by"), max_length=120)
    proof = models.FileField(_("proof"), upload_to=proof_upload_to, max_length=200)
    proof_original_name = models.CharField(_("original file name"), max_length=200, blank=True)
    proof_content_type = models.CharField(_("content type"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("delivery record")
        verbose_name_plural = _("delivery records")
        ordering = ["contract", "occurred_on", "pk"]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.get_kind_display()} {self.occurred_on}"


class SupplementaryAgreement(LateFeeTerms):
    """An instalment plan or extension that replaces the due dates of overdue items.

    Once approved, the covered invoices are dunned by the agreement's
    instalments instead of their own due dates.
    """

    scope_owner_path = "customer__sales_rep"

    class Kind(models.TextChoices):
        INSTALMENT_PLAN = "instalment_plan", _("Instalment plan")
        EXTENSION = "extension", _("Extension")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="supplementary_agreements",
    )
    contract = models.ForeignKey(
        Contract,
        verbose_name=_("original contract"),
        on_delete=models.PROTECT,
        related_name="supplementary_agreements",
        null=True,
        blank=True,
    )
    number = models.CharField(_("number"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED
    )
    invoices = models.ManyToManyField(
        Invoice, verbose_name=_("invoices replaced"), related_name="supplementary_agreements"
    )
    reason = models.TextField(_("reason"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supplementary agreement")
        verbose_name_plural = _("supplementary agreements")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class AgreementInstalment(models.Model):
    """One dated payment of a supplementary agreement (INVOICE#n in dunning output)."""

    scope_owner_path = "agreement__customer__sales_rep"

    agreement = models.ForeignKey(
        SupplementaryAgreement,
        verbose_name=_("agreement"),
        on_delete=models.CASCADE,
        related_name="instalments",
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    # Today's figures, stored as invoices store theirs: what the instalment still asks for
    # and the currency of the invoices replaced (else the customer's). Written only by
    # `contracts.services.instalments` from the rule in `contracts.selectors.instalments`;
    # a date in the past computes them from history instead.
    outstanding = models.DecimalField(_("outstanding"), default=0, **MONEY)
    currency = models.CharField(_("currency"), max_length=3, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["agreement", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "sequence"], name="instalment_sequence_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(
                condition=Q(outstanding__gte=0, outstanding__lte=models.F("amount")),
                name="instalment_outstanding_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.number} #{self.sequence}"


__all__ = [
    "AgreementInstalment",
    "Contract",
    "DeliveryRecord",
    "PaymentMilestone",
    "SupplementaryAgreement",
]
