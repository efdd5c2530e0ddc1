import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dunning.models import DeliveryState
from receivables.models import Customer

MONEY = {"max_digits": 14, "decimal_places": 2}
# The n-th working day of the month stays within the first month's working days.
MAX_WORKING_DAY = 20


class StatementSchedule(models.Model):
    """When a customer's finance contact receives the monthly statement of account."""

    scope_owner_path = "customer__sales_rep"

    class Frequency(models.TextChoices):
        OFF = "off", _("Off")
        MONTHLY = "monthly", _("Monthly")

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="statement_schedule",
    )
    frequency = models.CharField(
        _("frequency"), max_length=16, choices=Frequency.choices, default=Frequency.OFF
    )
    working_day = models.PositiveSmallIntegerField(
        _("working day of the month"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WORKING_DAY)],
        help_text=_("Sent on this working day of each month, for the month before."),
    )
    send_at_zero_balance = models.BooleanField(
        _("send even at zero balance"),
        default=False,
        help_text=_("Without it, a customer whose balance is zero receives no statement."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("statement schedule")
        verbose_name_plural = _("statement schedules")
        ordering = ["customer"]
        indexes = [models.Index(fields=["frequency", "working_day"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(working_day__gte=1) & Q(working_day__lte=MAX_WORKING_DAY),
                name="statement_schedule_working_day_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code}: {self.get_frequency_display()}"


def statement_upload_to(instance: "Statement", filename: str) -> str:
    """A random name: a guessed URL must not reveal a statement."""
    return f"statements/{secrets.token_hex(16)}.pdf"


class Statement(models.Model):
    """One scheduled statement of account for one customer and period, sent exactly once.

    Lifecycle: `pending` → `sending` (claimed under a row lock, with a lease) →
    `sent` | `failed` (with a reason). A failed statement stays on the finance
    desk until finance sends it again.
    """

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class FailureReason(models.TextChoices):
        MISSING_ADDRESS = "missing_address", _("No finance contact email on file")
        BAD_ADDRESS = "bad_address", _("Bad address")
        BOUNCE = "bounce", _("Bounced")
        RENDER_ERROR = "render_error", _("The statement could not be rendered")
        SMTP_ERROR = "smtp_error", _("Mail server kept failing")
        STUCK = "stuck", _("Left in sending too often")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="statements"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    business_date = models.DateField(_("business date"))
    currency = models.CharField(_("currency"), max_length=3)
    closing = models.DecimalField(_("closing balance"), **MONEY)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    failure_reason = models.CharField(
        _("failure reason"), max_length=24, choices=FailureReason.choices, blank=True
    )
    failure_detail = models.TextField(_("failure detail"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sending_started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    recipient_email = models.EmailField(_("recipient email"), blank=True)
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
    pdf = models.FileField(_("PDF"), upload_to=statement_upload_to, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent again by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period_start", "customer"]
        indexes = [models.Index(fields=["status", "sending_started_at"])]
        constraints = [
            # The exactly-once key: one statement per customer and period.
            models.UniqueConstraint(
                fields=["customer", "period_start"], name="statement_unique_customer_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="statement_period_not_reversed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.code} {self.period_start:%Y-%m}"

    @property
    def email_message_id(self) -> str:
        """The stable Message-ID header: a repeat after a crash is the same message."""
        return f"<statement-{self.message_id}@{settings.DUNNING_MESSAGE_ID_DOMAIN}>"
