"""The dunning policy: its ladder of levels, the gap between rungs, tolerance and defaults."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

MONEY = {"max_digits": 14, "decimal_places": 2}
PRE_DUE_WORKING_DAYS_MIN = 3
PRE_DUE_WORKING_DAYS_MAX = 5
# The languages a customer can be written to in (Customer.Language).
TEMPLATE_LANGUAGES = ("zh-hans", "en")


class LevelCode(models.TextChoices):
    """The rungs of the ladder, in order. `pre_due` is a friendly reminder, not a rung."""

    PRE_DUE = "pre_due", _("Pre-due reminder")
    REMINDER = "reminder", _("Reminder")
    DEMAND_LETTER = "demand_letter", _("Demand letter")
    EXECUTIVE = "executive", _("Executive escalation")
    LEGAL = "legal", _("Legal referral")


# The rungs in climbing order, as the invoice's stored `dunning_rung` counts them;
# 0 means no rung reached yet.
RUNG_RANKS = {
    LevelCode.REMINDER: 1,
    LevelCode.DEMAND_LETTER: 2,
    LevelCode.EXECUTIVE: 3,
    LevelCode.LEGAL: 4,
}


class Channel(models.TextChoices):
    EMAIL = "email", _("Email to the finance contact")
    PHONE_TASK = "phone_task", _("Phone-call task for the sales rep")
    LETTER = "letter", _("Demand letter (PDF)")
    MANAGER_TASK = "manager_task", _("Task for the manager")
    EXECUTIVE_EMAIL = "executive_email", _("Email to the executive contact")
    LEGAL_TASK = "legal_task", _("Legal referral task")
    CREDIT_HOLD = "credit_hold", _("Credit hold on the customer")


EMAIL_CHANNELS = frozenset({Channel.EMAIL, Channel.EXECUTIVE_EMAIL})
OVERDUE_LEVELS = (
    LevelCode.REMINDER,
    LevelCode.DEMAND_LETTER,
    LevelCode.EXECUTIVE,
    LevelCode.LEGAL,
)


def template_missing(name: str) -> list[str]:
    """Return the per-language template files `<name>.<lang>.txt` that do not exist."""
    missing = []
    for language in TEMPLATE_LANGUAGES:
        path = f"{name}.{language}.txt"
        try:
            get_template(path)
        except TemplateDoesNotExist:
            missing.append(path)
    return missing


class DunningPolicy(models.Model):
    """How and when customers are reminded; exactly one policy is active."""

    class HoldRelease(models.TextChoices):
        SETTLED = "settled", _("At once, when nothing is overdue any more")
        FINANCE = "finance", _("Only when finance releases it")

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=False)
    min_gap_days = models.PositiveSmallIntegerField(
        _("minimum days between rungs"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("An item climbs one rung at a time, at least this many days apart."),
    )
    pre_due_working_days = models.PositiveSmallIntegerField(
        _("pre-due reminder (working days before due)"),
        default=3,
        validators=[
            MinValueValidator(PRE_DUE_WORKING_DAYS_MIN),
            MaxValueValidator(PRE_DUE_WORKING_DAYS_MAX),
        ],
    )
    tolerance = models.DecimalField(
        _("tolerance"),
        **MONEY,
        default=Decimal("1.00"),
        validators=[MinValueValidator(0)],
        help_text=_("Items with less outstanding than this are not dunned."),
    )
    promise_grace_days = models.PositiveSmallIntegerField(
        _("promise grace days"),
        default=3,
        help_text=_("A promise to pay pauses its items until its date plus these days."),
    )
    letter_deadline_days = models.PositiveSmallIntegerField(
        _("demand-letter deadline (days)"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("The final deadline a demand letter sets, counted from the letter date."),
    )
    credit_hold_release = models.CharField(
        _("credit hold of a legal referral lifts"),
        max_length=16,
        choices=HoldRelease.choices,
        default=HoldRelease.SETTLED,
        help_text=_(
            "A hold finance placed by hand is only ever released by finance; this is for the "
            "hold the legal rung puts on."
        ),
    )
    # Default late-fee terms for items without a contract clause; the field
    # names mirror contracts.models.LateFeeTerms so one reader serves both.
    late_fee_rate_percent = models.DecimalField(
        _("default late-fee rate (%)"),
        max_digits=9,
        decimal_places=6,
        default=Decimal("0.05"),
        validators=[MinValueValidator(0)],
        help_text=_("Percent of the outstanding amount, e.g. 0.05 for 0.05 %."),
    )
    late_fee_rate_period = models.CharField(
        _("default late-fee rate period"),
        max_length=8,
        choices=[("day", _("per day")), ("year", _("per year"))],
        default="day",
    )
    late_fee_grace_days = models.PositiveSmallIntegerField(
        _("default late-fee grace days"), default=0
    )
    late_fee_cap_percent = models.DecimalField(
        _("default late-fee cap (percent of overdue amount)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="dunning_policy_one_active",
            ),
            models.CheckConstraint(
                condition=Q(min_gap_days__gte=1), name="dunning_policy_gap_at_least_one_day"
            ),
            models.CheckConstraint(
                condition=Q(pre_due_working_days__gte=PRE_DUE_WORKING_DAYS_MIN)
                & Q(pre_due_working_days__lte=PRE_DUE_WORKING_DAYS_MAX),
                name="dunning_policy_pre_due_working_days_range",
            ),
            models.CheckConstraint(
                condition=Q(tolerance__gte=0), name="dunning_policy_tolerance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def validate_channels(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one channel."))
    unknown = [item for item in value if item not in Channel.values]
    if unknown:
        raise ValidationError(
            _("Unknown channel(s): %(channels)s."),
            params={"channels": ", ".join(map(str, unknown))},
        )


class DunningLevel(models.Model):
    """One level of the ladder: when it fires, through which channels, with which template."""

    policy = models.ForeignKey(
        DunningPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="levels"
    )
    code = models.CharField(_("level"), max_length=16, choices=LevelCode.choices)
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    days_offset = models.SmallIntegerField(
        _("days relative to the due date"),
        help_text=_(
            "Days past due for the overdue rungs. For the pre-due reminder, minus the "
            "policy's pre-due working days (working days before the due date)."
        ),
    )
    channels = models.JSONField(_("channels"), default=list, validators=[validate_channels])
    email_template = models.CharField(
        _("email template"),
        max_length=200,
        blank=True,
        help_text=_("e.g. dunning/email/reminder; one file per language: <name>.en.txt"),
    )
    letter_template = models.CharField(
        _("letter template"),
        max_length=200,
        blank=True,
        help_text=_("HTML template of the demand letter, for the letter channel."),
    )
    requires_approval = models.BooleanField(
        _("requires approval"),
        default=False,
        help_text=_("Messages of this level wait for finance approval before they go out."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dunning level")
        verbose_name_plural = _("dunning levels")
        ordering = ["policy", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="dunning_level_code_unique"),
            models.UniqueConstraint(
                fields=["policy", "sequence"], name="dunning_level_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({self.days_offset:+d})"

    @property
    def is_rung(self) -> bool:
        return self.code != LevelCode.PRE_DUE

    @property
    def sends_email(self) -> bool:
        return any(channel in EMAIL_CHANNELS for channel in self.channels)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        channels = self.channels if isinstance(self.channels, list) else []
        if self.code == LevelCode.PRE_DUE:
            if self.days_offset is not None and self.days_offset >= 0:
                errors.setdefault("days_offset", []).append(
                    _("The pre-due reminder goes out before the due date: use a negative offset.")
                )
        elif self.days_offset is not None and self.days_offset < 1:
            errors.setdefault("days_offset", []).append(
                _("An overdue rung fires at least one day past due (due today is not overdue).")
            )
        if any(channel in EMAIL_CHANNELS for channel in channels):
            if not self.email_template:
                errors.setdefault("email_template", []).append(
                    _("This level sends email: name its email template.")
                )
            else:
                missing = template_missing(self.email_template)
                if missing:
                    errors.setdefault("email_template", []).append(
                        _("Template files missing: %(files)s.") % {"files": ", ".join(missing)}
                    )
        if Channel.LETTER in channels and not self.letter_template:
            errors.setdefault("letter_template", []).append(
                _("This level sends a letter: name its letter template.")
            )
        if not self.email_template and not self.letter_template:
            errors.setdefault("email_template", []).append(
                _("Every level needs a template (email or letter).")
            )
        if errors:
            raise ValidationError(errors)
