"""The daily run, the steps items reach, the messages that carry them and the tasks they make.

`DunningStep` is the idempotency key of the whole engine: an item (an invoice,
or an instalment of an approved supplementary agreement) reaches a level at
most once, enforced by two partial unique constraints.
"""

import secrets
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contracts.models import AgreementInstalment, SupplementaryAgreement
from core.append_only import ALL_FIELDS, AppendOnlyModel
from dunning.models.cases import SettlementReason
from dunning.models.policy import DunningPolicy, LevelCode
from receivables.models import Customer, Invoice

MONEY = {"max_digits": 14, "decimal_places": 2}


class DunningRun(models.Model):
    """One run per business date; repeating the date reuses the row."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")

    business_date = models.DateField(_("business date"), unique=True)
    policy = models.ForeignKey(
        DunningPolicy,
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        related_name="runs",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    repeat_count = models.PositiveIntegerField(
        _("times started"), default=1, help_text=_("How often this business date was run.")
    )
    # "kind:level" of what had an item due by its dates and the ladder when last planned
    # (None: not planned since this was recorded, so the chunks look at every level).
    due_levels = models.JSONField(_("levels due"), null=True, blank=True)
    skipped = models.JSONField(
        _("kept back"),
        default=dict,
        blank=True,
        help_text=_("Items due that a pause rule or the tolerance kept back, per reason."),
    )

    class Meta:
        verbose_name = _("dunning run")
        verbose_name_plural = _("dunning runs")
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return f"{self.business_date} ({self.get_status_display()})"


class DunningRunChunk(models.Model):
    """A slice of the run's customers, processed in one transaction by one worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(
        DunningRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="chunks"
    )
    index = models.PositiveIntegerField(_("index"))
    customer_ids = models.JSONField(_("customers"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    steps_created = models.PositiveIntegerField(_("steps created"), default=0)
    communications_created = models.PositiveIntegerField(_("communications created"), default=0)
    error = models.TextField(_("error"), blank=True)
    # The lease: when the chunk was last handed to a worker (dispatched or
    # re-dispatched). A pending chunk whose lease is older than
    # DUNNING_LEASE_SECONDS and whose row nobody holds is dispatched again.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dunning run chunk")
        verbose_name_plural = _("dunning run chunks")
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="dunning_chunk_index_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run.business_date} #{self.index}"


def letter_upload_to(instance: "Communication", filename: str) -> str:
    """Store letters under a random name: a guessed URL must not reveal a letter."""
    return f"letters/{secrets.token_hex(16)}.pdf"


class DeliveryState(models.TextChoices):
    """What the email provider reported after the message left us (anymail's events)."""

    UNKNOWN = "", _("Not reported")
    QUEUED = "queued", _("Queued by the provider")
    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Delivery delayed")
    BOUNCED = "bounced", _("Bounced")
    REJECTED = "rejected", _("Rejected by the provider")
    COMPLAINED = "complained", _("Marked as spam")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Link clicked")


class Communication(AppendOnlyModel):
    """One message to one customer for one level and currency, listing all its items.

    Lifecycle: `awaiting_approval` (the level needs finance approval) →
    `pending` → `sending` (claimed under a row lock) → `sent` | `failed`
    (with a reason); `cancelled` when the items no longer need it at send time.
    A failed message stays undelivered on the finance desk until finance
    sends it again or records it as handled by phone (`handled_at`).
    """

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class FailureReason(models.TextChoices):
        BOUNCE = "bounce", _("Bounced")
        BAD_ADDRESS = "bad_address", _("Bad address")
        MISSING_ADDRESS = "missing_address", _("No email address on file")
        BOUNCED_ADDRESS = "bounced_address", _("The address bounced; fix the contact's email")
        RENDER_ERROR = "render_error", _("Letter or email could not be rendered")
        SMTP_ERROR = "smtp_error", _("Mail server kept failing")
        STUCK = "stuck", _("Left in sending too often")
        SETTLED = "settled", _("Items no longer due (paid, disputed, promised or paused)")
        REJECTED = "rejected", _("Approval refused")

    TERMINAL = frozenset({Status.SENT, Status.FAILED, Status.CANCELLED})
    # Failures finance may send again from the desk (the others need data fixed first).
    RETRYABLE = frozenset(
        {
            FailureReason.SMTP_ERROR,
            FailureReason.STUCK,
            FailureReason.BOUNCE,
            FailureReason.BOUNCED_ADDRESS,
            FailureReason.RENDER_ERROR,
        }
    )

    # Evidence: never deleted; the services move the status on, but a sent
    # message stays sent, with what it said, to whom and about what.
    mutable_fields = ALL_FIELDS
    frozen_once = frozenset(
        {
            "status",
            "sent_at",
            "run",
            "business_date",
            "customer",
            "level",
            "currency",
            "channels",
            "message_id",
            "language",
            "recipient_name",
            "recipient_email",
            "subject",
            "body",
            "total_amount",
            "letter_pdf",
            "approved_by",
            "approved_at",
        }
    )

    run = models.ForeignKey(
        DunningRun,
        verbose_name=_("run"),
        on_delete=models.PROTECT,
        related_name="communications",
        null=True,
        blank=True,
    )
    business_date = models.DateField(_("business date"))
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="dunning_communications",
    )
    level = models.CharField(_("level"), max_length=16, choices=LevelCode.choices)
    currency = models.CharField(_("currency"), max_length=3)
    channels = models.JSONField(_("channels"), default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    failure_reason = models.CharField(
        _("failure reason"), max_length=20, choices=FailureReason.choices, blank=True
    )
    failure_detail = models.TextField(_("failure detail"), blank=True)
    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    recipient_name = models.CharField(_("recipient"), max_length=200, blank=True)
    recipient_email = models.EmailField(_("recipient email"), blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    total_amount = models.DecimalField(_("total outstanding"), **MONEY, default=0)
    letter_pdf = models.FileField(
        _("letter (PDF)"), upload_to=letter_upload_to, max_length=200, blank=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Start of the retry window (DUNNING_SEND_RETRY_WINDOW): the first claim.
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # The lease: when a sender last claimed the message (moved it to `sending`).
    sending_started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # What the email provider reported (anymail's tracking webhooks), matched by
    # the provider's message id stored at send.
    provider_message_id = models.CharField(
        _("provider message id"), max_length=200, blank=True, db_index=True
    )
    delivery_state = models.CharField(
        _("delivery state"),
        max_length=16,
        choices=DeliveryState.choices,
        blank=True,
        default=DeliveryState.UNKNOWN,
    )
    delivery_state_at = models.DateTimeField(_("delivery state at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    handled_at = models.DateTimeField(_("handled by phone at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        ordering = ["-business_date", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["customer", "business_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.get_level_display()} {self.business_date}"

    def get_absolute_url(self) -> str:
        return reverse("dunning:communication_detail", kwargs={"pk": self.pk})

    @classmethod
    def frozen_q(cls) -> Q:
        """A sent message is what the customer received: its content is frozen."""
        return Q(status=cls.Status.SENT)

    @property
    def is_retryable(self) -> bool:
        """Undelivered for a reason another attempt may cure, and not handled otherwise."""
        return (
            self.status == self.Status.FAILED
            and self.failure_reason in self.RETRYABLE
            and self.handled_at is None
        )

    @property
    def email_message_id(self) -> str:
        """The RFC 5322 Message-ID, the same on every attempt so receivers can drop repeats."""
        domain = getattr(settings, "DUNNING_MESSAGE_ID_DOMAIN", "") or "huikuan.localhost"
        return f"<{self.message_id}@{domain}>"


class DunningStep(AppendOnlyModel):
    """An item reached a level on a date: at most once per item and level.

    Evidence and the idempotency key: never deleted (a deleted step would make the
    next run send that level again); only its message and exclusion are filled in.
    """

    scope_owner_path = "customer__sales_rep"
    mutable_fields = frozenset({"communication", "excluded_reason"})

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="dunning_steps"
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="dunning_steps",
        null=True,
        blank=True,
    )
    instalment = models.ForeignKey(
        AgreementInstalment,
        verbose_name=_("instalment"),
        on_delete=models.PROTECT,
        related_name="dunning_steps",
        null=True,
        blank=True,
    )
    level = models.CharField(_("level"), max_length=16, choices=LevelCode.choices)
    fired_on = models.DateField(_("fired on"))
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3)
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    run = models.ForeignKey(
        DunningRun,
        verbose_name=_("run"),
        on_delete=models.PROTECT,
        related_name="steps",
        null=True,
        blank=True,
    )
    # Marks the rows one chunk execution inserted (conflicting rows are skipped
    # silently, so this is how the execution learns what it created).
    batch = models.UUIDField(_("batch"), db_index=True)
    communication = models.ForeignKey(
        Communication,
        verbose_name=_("communication"),
        on_delete=models.PROTECT,
        related_name="steps",
        null=True,
        blank=True,
    )
    excluded_reason = models.CharField(
        _("left out of the message because"), max_length=200, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        ordering = ["fired_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(invoice__isnull=False) & Q(instalment__isnull=True))
                | (Q(invoice__isnull=True) & Q(instalment__isnull=False)),
                name="dunning_step_one_item",
            ),
            models.UniqueConstraint(
                fields=["invoice", "level"],
                condition=Q(invoice__isnull=False),
                name="dunning_step_invoice_level_unique",
            ),
            models.UniqueConstraint(
                fields=["instalment", "level"],
                condition=Q(instalment__isnull=False),
                name="dunning_step_instalment_level_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_label} {self.get_level_display()} {self.fired_on}"

    @property
    def item_label(self) -> str:
        """The invoice number, or `INVOICE#n` for an instalment of an agreement."""
        if self.invoice_id:
            return self.invoice.number
        return instalment_label(self.instalment)


# An agreement's first invoice, which names its instalments.
FIRST_INVOICE_ORDER = ("due_date", "number")


def instalment_label(instalment: AgreementInstalment) -> str:
    """Name an instalment after the (first) invoice its agreement replaces: `INV-7#2`."""
    agreement = instalment.agreement
    first = agreement.invoices.order_by(*FIRST_INVOICE_ORDER).first()
    return instalment_label_of(
        first_invoice=first.number if first else None,
        agreement=agreement.number,
        sequence=instalment.sequence,
    )


def instalment_label_of(*, first_invoice: str | None, agreement: str, sequence: int) -> str:
    """`instalment_label` from the numbers: the agreement's first invoice (or, without
    one, the agreement) and the instalment's sequence."""
    return f"{agreement if first_invoice is None else first_invoice}#{sequence}"


def agreements_first_invoice(agreement_ids: Iterable[int]) -> dict[int, str]:
    """Per agreement, the number of the first invoice it replaces (as `instalment_label`
    takes it), in one query: for readers that label many instalments."""
    first: dict[int, str] = {}
    rows = (
        SupplementaryAgreement.invoices.through.objects.filter(
            supplementaryagreement_id__any_of=list(agreement_ids)
        )
        .order_by(
            "supplementaryagreement_id", *(f"invoice__{field}" for field in FIRST_INVOICE_ORDER)
        )
        .values_list("supplementaryagreement_id", "invoice__number")
    )
    for agreement_id, number in rows:
        first.setdefault(agreement_id, number)
    return first


class CollectionTask(models.Model):
    """Work for a person: a call, a follow-up, an escalation, a legal referral."""

    scope_owner_path = "customer__sales_rep"

    class Kind(models.TextChoices):
        CALL = "call", _("Phone call")
        FOLLOW_UP = "follow_up", _("Follow up")
        MANAGER_ESCALATION = "manager_escalation", _("Manager escalation")
        LEGAL_REFERRAL = "legal_referral", _("Legal referral")
        PROMISE_DUE = "promise_due", _("Check promised payment")
        LETTER_REVIEW = "letter_review", _("Review demand letter")
        DELIVERY_FAILED = "delivery_failed", _("Message could not be delivered")
        FIX_CONTACT_EMAIL = "fix_contact_email", _("Fix a bounced email address")
        CUSTOMER_PORTAL = "customer_portal", _("Customer acted on the portal")
        CONFIRMATION_SILENT = "confirmation_silent", _("Balance confirmation unanswered")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="collection_tasks",
    )
    case = models.ForeignKey(
        "dunning.CollectionCase",
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        related_name="tasks",
        null=True,
        blank=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="collection_tasks",
        null=True,
        blank=True,
    )
    communication = models.ForeignKey(
        Communication,
        verbose_name=_("communication"),
        on_delete=models.SET_NULL,
        related_name="tasks",
        null=True,
        blank=True,
    )
    title = models.CharField(
        _("title"),
        max_length=200,
        blank=True,
        help_text=_("Typed by a person; tasks the system makes are worded from their parameters."),
    )
    details = models.TextField(_("details"), blank=True)
    params = models.JSONField(
        _("parameters"),
        default=dict,
        blank=True,
        help_text=_("What the system's wording of the title and details is made from."),
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.TextField(_("outcome"), blank=True)
    closed_reason = models.CharField(
        _("closed because"),
        max_length=24,
        choices=SettlementReason.choices,
        blank=True,
        help_text=_("Set when the money ended the task; a reversal reopens such a task."),
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("collection task")
        verbose_name_plural = _("collection tasks")
        ordering = ["status", "due_date", "pk"]
        indexes = [models.Index(fields=["assignee", "status", "due_date"])]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """The title in the reader's language: worded from the parameters, or as typed."""
        from dunning.events import task_title

        return task_title(self.params, fallback=self.title) or str(self.get_kind_display())

    @property
    def display_details(self) -> str:
        """The system's details in the reader's language (what a person typed is `details`)."""
        from dunning.events import task_details

        return task_details(self.params)
