"""Collection cases and what happens on them: disputes, promises to pay, the timeline."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.append_only import AppendOnlyModel
from core.events import TYPED_KEY, render
from receivables.models import Customer, Invoice

MONEY = {"max_digits": 14, "decimal_places": 2}


class SettlementReason(models.TextChoices):
    """Why work about an item ended without anyone doing it: the money settled the item."""

    PAID = "paid", _("Paid")
    CREDITED = "credited", _("Credited")
    CANCELLED = "cancelled", _("Invoice cancelled")
    REPLACED = "replaced_by_agreement", _("Replaced by a supplementary agreement")


class CollectionCase(models.Model):
    """A customer with overdue items has one open case, with an owner and a reason."""

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class OverdueReason(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        PROCESS_DELAY = "process_delay", _("Forgotten / internal process delay")
        DISPUTE = "dispute", _("Dispute")
        CASH_FLOW = "cash_flow", _("Cash-flow trouble")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="collection_cases",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="collection_cases",
    )
    overdue_reason = models.CharField(
        _("overdue reason"),
        max_length=16,
        choices=OverdueReason.choices,
        default=OverdueReason.UNKNOWN,
    )
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_reason = models.CharField(
        _("closed because"),
        max_length=24,
        choices=SettlementReason.choices,
        blank=True,
        help_text=_("Set when the money closed the case; a reversal reopens such a case."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["status", "-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="open"),
                name="collection_case_one_open_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.opened_on} ({self.get_status_display()})"


class Dispute(models.Model):
    """The customer contests invoices: dunning of those items pauses until it is resolved."""

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        VALID = "valid", _("Resolved: valid")
        REJECTED = "rejected", _("Resolved: rejected")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="disputes"
    )
    case = models.ForeignKey(
        CollectionCase,
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        related_name="disputes",
        null=True,
        blank=True,
    )
    invoices = models.ManyToManyField(Invoice, verbose_name=_("invoices"), related_name="disputes")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    reason = models.TextField(_("reason"))
    resolution_note = models.TextField(_("resolution note"), blank=True)
    opened_on = models.DateField(_("opened on"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["status", "-opened_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.opened_on} ({self.get_status_display()})"


class PromiseToPay(models.Model):
    """The customer promised an amount by a date: dunning of its items pauses until date + grace."""

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="promises_to_pay",
    )
    case = models.ForeignKey(
        CollectionCase,
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        related_name="promises",
        null=True,
        blank=True,
    )
    invoices = models.ManyToManyField(
        Invoice, verbose_name=_("invoices"), related_name="promises_to_pay"
    )
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3)
    promised_date = models.DateField(_("promised date"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["status", "promised_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.currency} {self.amount} by {self.promised_date}"


class CaseEvent(AppendOnlyModel):
    """One row of a customer's collection timeline: who did what, when, with which data.

    Evidence: written once, never changed or deleted.
    """

    scope_owner_path = "customer__sales_rep"

    class Kind(models.TextChoices):
        CASE_OPENED = "case_opened", _("Case opened")
        CASE_CLOSED = "case_closed", _("Case closed")
        CASE_UPDATED = "case_updated", _("Case updated")
        COMMUNICATION_QUEUED = "communication_queued", _("Message prepared")
        COMMUNICATION_APPROVED = "communication_approved", _("Message approved")
        COMMUNICATION_SENT = "communication_sent", _("Message sent")
        COMMUNICATION_FAILED = "communication_failed", _("Message failed")
        COMMUNICATION_CANCELLED = "communication_cancelled", _("Message cancelled")
        COMMUNICATION_RETRIED = "communication_retried", _("Message sent again")
        COMMUNICATION_HANDLED = "communication_handled", _("Message handled by phone")
        TASK_CREATED = "task_created", _("Task created")
        TASK_COMPLETED = "task_completed", _("Task completed")
        TASK_CLOSED = "task_closed", _("Task closed")
        TASK_REOPENED = "task_reopened", _("Task reopened")
        CASE_REOPENED = "case_reopened", _("Case reopened")
        CREDIT_HOLD_RELEASED = "credit_hold_released", _("Credit hold lifted")
        CONTACT_ATTEMPT = "contact_attempt", _("Contact attempt")
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        DISPUTE_RESOLVED = "dispute_resolved", _("Dispute resolved")
        PROMISE_MADE = "promise_made", _("Promise to pay")
        PROMISE_KEPT = "promise_kept", _("Promise kept")
        PROMISE_BROKEN = "promise_broken", _("Promise broken")
        AGREEMENT_PROPOSED = "agreement_proposed", _("Supplementary agreement proposed")
        AGREEMENT_APPROVED = "agreement_approved", _("Supplementary agreement approved")
        AGREEMENT_REJECTED = "agreement_rejected", _("Supplementary agreement rejected")
        DUNNING_PAUSED = "dunning_paused", _("Dunning paused")
        DUNNING_RESUMED = "dunning_resumed", _("Dunning resumed")
        CREDIT_HOLD = "credit_hold", _("Credit hold")
        PAYMENT_RECEIVED = "payment_received", _("Payment received")
        THANK_YOU_SENT = "thank_you_sent", _("Thank-you sent")
        NOTE = "note", _("Note")
        STATEMENT_SENT = "statement_sent", _("Statement of account sent")
        STATEMENT_FAILED = "statement_failed", _("Statement of account not delivered")
        EMAIL_BOUNCED = "email_bounced", _("Email bounced")
        PORTAL_BALANCE_CONFIRMED = "portal_balance_confirmed", _("Balance confirmed online")
        PORTAL_DISPUTE = "portal_dispute", _("Dispute sent online")
        PORTAL_PROMISE = "portal_promise", _("Promise to pay sent online")
        PORTAL_DOCUMENT_REQUESTED = "portal_document_requested", _("Document asked for online")
        RECEIPT_APPLIED = "receipt_applied", _("Bank receipt applied")
        RECEIPT_DISMISSED = "receipt_dismissed", _("Bank receipt marked not a customer's")
        RECEIPT_CLAIMED = "receipt_claimed", _("Bank receipt claimed")
        RECEIPT_CLAIM_REJECTED = "receipt_claim_rejected", _("Bank receipt claim rejected")
        BILL_RECEIVED = "bill_received", _("Acceptance bill received")
        BILL_ENDORSED = "bill_endorsed", _("Acceptance bill endorsed")
        BILL_DISCOUNTED = "bill_discounted", _("Acceptance bill discounted")
        BILL_COLLECTED = "bill_collected", _("Acceptance bill collected")
        BILL_DISHONOURED = "bill_dishonoured", _("Acceptance bill dishonoured")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="case_events"
    )
    case = models.ForeignKey(
        CollectionCase,
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        related_name="events",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        """The row's sentence in the reader's language, worded from its kind and parameters.

        Rows written before events stored parameters only keep their stored `text`.
        """
        if self.text:
            return self.text
        return render(self.kind, self.data if isinstance(self.data, dict) else {})

    @property
    def typed_note(self) -> str:
        """What the actor typed with this event, shown as typed (never translated)."""
        data = self.data if isinstance(self.data, dict) else {}
        note = data.get(TYPED_KEY)
        return note if isinstance(note, str) else ""
