"""The outbox of domain events, webhook subscriptions and deliveries, chat robots."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.domain_events import EventType
from receivables.models import Customer


class OutboundEvent(models.Model):
    """One domain event, written in the transaction of the change it describes."""

    scope_owner_path = "customer__sales_rep"

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    params = models.JSONField(_("parameters"), default=dict)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    fanned_out_at = models.DateTimeField(_("fanned out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound event")
        verbose_name_plural = _("outbound events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(fanned_out_at__isnull=True),
                name="outbound_event_unfanned",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    def payload(self) -> dict[str, object]:
        """The JSON body a subscriber receives."""
        return {
            "id": str(self.event_id),
            "type": self.type,
            "created": int(self.created_at.timestamp()),
            "data": self.params,
        }


class WebhookSubscription(models.Model):
    """A receiver URL subscribed to some event types, with the secret that signs its bodies."""

    class DisabledReason(models.TextChoices):
        FAILURES = "failures", _("Too many consecutive failures")
        MANUAL = "manual", _("Turned off by hand")

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list)
    secret = models.CharField(_("signing secret"), max_length=80, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(
        _("disabled because"), max_length=16, choices=DisabledReason.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def secret_hint(self) -> str:
        """The end of the secret, to tell secrets apart without showing them."""
        return "…" + self.secret[-4:]


class WebhookDelivery(models.Model):
    """One event for one subscriber: delivered at least once, retried with back-off."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERING = "delivering", _("Delivering")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(
        OutboundEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"], name="webhook_delivery_once_per_subscription"
            )
        ]
        indexes = [
            models.Index(
                fields=["subscription", "status", "next_attempt_at"],
                name="webhook_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}"


class WebhookAttempt(models.Model):
    """The log of one HTTP attempt of a delivery."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.attempt}"


class Robot(models.Model):
    """A WeCom, DingTalk or Feishu group robot a rep or a team lead registered."""

    # A rep reaches their own robots; finance and managers reach every robot.
    scope_owner_path = "owner"

    class Platform(models.TextChoices):
        WECOM = "wecom", _("WeCom")
        DINGTALK = "dingtalk", _("DingTalk")
        FEISHU = "feishu", _("Feishu")

    name = models.CharField(_("name"), max_length=120)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    webhook_url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk's or Feishu's signing secret, when the robot has one."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="robots",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("digests of"),
        related_name="+",
        blank=True,
        help_text=_("Whose morning digest the robot carries; nobody means the owner's."),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    send_digest = models.BooleanField(_("morning digest"), default=True)
    send_escalations = models.BooleanField(_("escalations at once"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    blocked_until = models.DateTimeField(_("blocked until"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("chat robot")
        verbose_name_plural = _("chat robots")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class RobotMessage(models.Model):
    """One message posted (or tried) to a robot, carrying one or more notices."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        REJECTED = "rejected", _("Rejected, notices kept for later")

    robot = models.ForeignKey(
        Robot, verbose_name=_("robot"), on_delete=models.CASCADE, related_name="messages"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SENDING
    )
    claimed_at = models.DateTimeField(_("claimed at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    notice_count = models.PositiveIntegerField(_("notices"), default=0)

    class Meta:
        verbose_name = _("robot message")
        verbose_name_plural = _("robot messages")
        ordering = ["-claimed_at", "-pk"]
        indexes = [models.Index(fields=["robot", "claimed_at"], name="robot_message_window")]

    def __str__(self) -> str:
        return f"{self.robot_id} {self.claimed_at:%Y-%m-%d %H:%M:%S}"


class RobotNotice(models.Model):
    """Something a robot must say (a digest, an escalation): its kind and parameters.

    Worded at send time in the robot's language. A notice is done once the
    message carrying it is sent; until then it waits, so overflow is batched
    into a later message and never dropped.
    """

    class Kind(models.TextChoices):
        DIGEST = "digest", _("Morning digest")
        ESCALATION = "escalation", _("Escalation")
        TEST = "test", _("Test message")

    robot = models.ForeignKey(
        Robot, verbose_name=_("robot"), on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    as_of = models.DateField(_("business date"), null=True, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )
    message = models.ForeignKey(
        RobotMessage,
        verbose_name=_("message"),
        on_delete=models.SET_NULL,
        related_name="notices",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("robot notice")
        verbose_name_plural = _("robot notices")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["robot", "as_of"],
                condition=Q(kind="digest"),
                name="robot_notice_one_digest_a_day",
            )
        ]
        indexes = [models.Index(fields=["robot", "message"], name="robot_notice_waiting")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"
