from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Customer(models.Model):
    """A buyer on credit, owned by one sales rep."""

    scope_owner_path = "sales_rep"

    class CreditStatus(models.TextChoices):
        ACTIVE = "active", _("Active")
        ON_HOLD = "on_hold", _("On hold")

    class Language(models.TextChoices):
        CHINESE = "zh-hans", _("Simplified Chinese")
        ENGLISH = "en", _("English")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    registration_number = models.CharField(_("registration number"), max_length=64, blank=True)
    address = models.TextField(_("address"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    language = models.CharField(
        _("correspondence language"),
        max_length=8,
        choices=Language.choices,
        default=Language.CHINESE,
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        on_delete=models.PROTECT,
        related_name="customers",
    )
    credit_limit = models.DecimalField(
        _("credit limit"),
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=0, validators=[MaxValueValidator(365)]
    )
    credit_status = models.CharField(
        _("credit status"), max_length=16, choices=CreditStatus.choices, default=CreditStatus.ACTIVE
    )
    is_new = models.BooleanField(
        _("new customer"), default=True, help_text=_("No payment history yet.")
    )
    dunning_paused_until = models.DateField(_("dunning paused until"), null=True, blank=True)
    dunning_pause_reason = models.CharField(_("dunning pause reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        # Customer lists page through this order (the name, ties by id).
        indexes = [models.Index(fields=["name", "id"], name="customer_name_id_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(payment_terms_days__lte=365),
                name="customer_payment_terms_at_most_a_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("receivables:customer_detail", kwargs={"pk": self.pk})


class Contact(models.Model):
    """A person at the customer; the finance contact receives reminders."""

    scope_owner_path = "customer__sales_rep"

    class Role(models.TextChoices):
        PROCUREMENT = "procurement", _("Procurement")
        FINANCE = "finance", _("Finance")
        EXECUTIVE = "executive", _("Executive")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OTHER)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    im_handle = models.CharField(_("IM handle"), max_length=80, blank=True)
    email_bounced_at = models.DateTimeField(
        _("email bounced at"),
        null=True,
        blank=True,
        help_text=_("Set when mail to this address bounced; cleared when the address changes."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "role", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"
