"""The customer's own page: links that open it, and what the customer's contact does there.

A link's token is shown once (in the email that carries it) and stored only
as its SHA-256; the link is bound to one customer, optionally to the date
whose balance it asks the contact to confirm, expires, and can be revoked.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.append_only import AppendOnlyModel
from receivables.models import Customer, Invoice

MONEY = {"max_digits": 14, "decimal_places": 2}


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def confirmation_upload_to(instance: "BalanceConfirmation", filename: str) -> str:
    """A random name: a guessed file name must not reveal a confirmation."""
    return f"portal/confirmations/{secrets.token_hex(16)}.pdf"


def attachment_upload_to(instance: "PortalDisputeAttachment", filename: str) -> str:
    return f"portal/disputes/{secrets.token_hex(16)}"


class PortalLink(models.Model):
    """A link to the customer's page: one customer, hashed token, expiry, revocable."""

    scope_owner_path = "customer__sales_rep"

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="portal_links"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    as_of = models.DateField(
        _("balance date to confirm"),
        null=True,
        blank=True,
        help_text=_("The statement date whose balance the contact is asked to confirm."),
    )
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    communication = models.ForeignKey(
        "dunning.Communication",
        verbose_name=_("sent with"),
        on_delete=models.PROTECT,
        related_name="portal_links",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal link")
        verbose_name_plural = _("portal links")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["as_of", "customer"], name="portal_link_period_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.created_at:%Y-%m-%d} ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.state == "active"


class PortalAction(AppendOnlyModel):
    """One thing the customer's contact did through a link, with who they said they were."""

    scope_owner_path = "customer__sales_rep"

    class Kind(models.TextChoices):
        BALANCE_CONFIRMED = "balance_confirmed", _("Balance confirmed")
        DISPUTE = "dispute", _("Dispute")
        PROMISE = "promise", _("Promise to pay")
        DOCUMENT_REQUESTED = "document_requested", _("Document asked for")

    link = models.ForeignKey(
        PortalLink, verbose_name=_("link"), on_delete=models.PROTECT, related_name="actions"
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="portal_actions",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    as_of = models.DateField(_("balance date"), null=True, blank=True)
    contact_name = models.CharField(_("name typed"), max_length=120)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal action")
        verbose_name_plural = _("portal actions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["as_of", "kind", "customer"], name="portal_action_period_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_kind_display()} {self.created_at:%Y-%m-%d}"


class BalanceConfirmation(AppendOnlyModel):
    """The contact confirmed the balance as of a date: evidence, with a PDF kept byte for byte."""

    scope_owner_path = "customer__sales_rep"

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="balance_confirmations",
    )
    link = models.ForeignKey(
        PortalLink,
        verbose_name=_("link"),
        on_delete=models.PROTECT,
        related_name="confirmations",
    )
    as_of = models.DateField(_("balance as of"))
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("balance"), **MONEY)
    other_balances = models.JSONField(_("balances in other currencies"), default=dict, blank=True)
    name = models.CharField(_("name"), max_length=120)
    position = models.CharField(_("position"), max_length=120)
    confirmed_at = models.DateTimeField(_("confirmed at"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to=confirmation_upload_to, max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")

    class Meta:
        verbose_name = _("balance confirmation")
        verbose_name_plural = _("balance confirmations")
        ordering = ["-as_of", "-confirmed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "as_of"], name="portal_one_confirmation_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of} {self.currency} {self.balance}"


class PortalDisputeAttachment(models.Model):
    """The file the contact attached to a dispute sent through the portal."""

    scope_owner_path = "dispute__customer__sales_rep"

    dispute = models.ForeignKey(
        "dunning.Dispute",
        verbose_name=_("dispute"),
        on_delete=models.PROTECT,
        related_name="portal_attachments",
    )
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute attachment")
        verbose_name_plural = _("dispute attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class DocumentRequest(models.Model):
    """The contact asked for a document again: an invoice copy, a letter or a statement."""

    scope_owner_path = "customer__sales_rep"

    class Document(models.TextChoices):
        INVOICE = "invoice", _("Invoice copy")
        LETTER = "letter", _("Letter")
        STATEMENT = "statement", _("Statement of account")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="document_requests",
    )
    link = models.ForeignKey(
        PortalLink,
        verbose_name=_("link"),
        on_delete=models.PROTECT,
        related_name="document_requests",
    )
    document = models.CharField(_("document"), max_length=16, choices=Document.choices)
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_document_display()}"


class ConfirmationReminder(models.Model):
    """A silent customer was reminded about one period: at most once (the unique key)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="confirmation_reminders",
    )
    as_of = models.DateField(_("balance date"))
    task = models.ForeignKey(
        "dunning.CollectionTask",
        verbose_name=_("task"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    business_date = models.DateField(_("business date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("confirmation reminder")
        verbose_name_plural = _("confirmation reminders")
        ordering = ["-as_of", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "as_of"], name="portal_one_reminder_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of}"
