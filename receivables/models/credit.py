"""Credit assessments and the policy that turns their scores into limits and terms.

How a customer is scored (the one place that defines it):

* Five factors, each scored 1 (poor) to 5 (excellent) with a short written
  justification: industry position, operating condition, financial health,
  cooperation history and reputation, payment habits.
* The score is the weighted sum of the factor scores with `FACTOR_WEIGHTS`
  (they add up to 1, so the score stays between 1.00 and 5.00), rounded
  half-up to two places. Financial health and payment habits weigh most:
  they predict whether and when invoices are paid.
* The grade is the best `CreditGrade` whose minimum score the score reaches
  (defaults: A >= 4.00, B >= 3.20, C >= 2.50, D below). Each grade carries
  the recommended maximum limit and terms (defaults: A 1,000,000.00 and 90
  days, B 500,000.00 and 60, C 200,000.00 and 30, D 0.00 and 0: prepayment or
  cash on delivery only). Finance may approve more than the grade allows only
  with a written reason.
* New customers (no payment history) are capped by `CreditPolicy` whatever
  their grade (defaults: 50,000.00 and 15 days); finance may exceed the cap
  only with a written reason, as for the grade.

Amounts are in the customer's currency. Grades and the policy are edited in
the admin; every change is kept in their history.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from receivables.models.customers import Customer

MONEY = {"max_digits": 14, "decimal_places": 2}
SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]
TERMS_VALIDATORS = [MaxValueValidator(365)]


class CreditFactor(models.TextChoices):
    INDUSTRY_POSITION = "industry_position", _("Industry position")
    OPERATING_CONDITION = "operating_condition", _("Operating condition")
    FINANCIAL_HEALTH = "financial_health", _("Financial health")
    COOPERATION_HISTORY = "cooperation_history", _("Cooperation history and reputation")
    PAYMENT_HABITS = "payment_habits", _("Payment habits")


# The weights of the scorecard; they add up to exactly 1.
FACTOR_WEIGHTS: dict[str, Decimal] = {
    CreditFactor.INDUSTRY_POSITION: Decimal("0.15"),
    CreditFactor.OPERATING_CONDITION: Decimal("0.20"),
    CreditFactor.FINANCIAL_HEALTH: Decimal("0.25"),
    CreditFactor.COOPERATION_HISTORY: Decimal("0.15"),
    CreditFactor.PAYMENT_HABITS: Decimal("0.25"),
}


class Grade(models.TextChoices):
    A = "A", _("A (excellent)")
    B = "B", _("B (good)")
    C = "C", _("C (fair)")
    D = "D", _("D (poor)")


class CreditSource(models.TextChoices):
    INDUSTRY_REPORT = "industry_report", _("Industry report")
    PUBLIC_RECORDS = "public_records", _("Public records")
    CREDIT_AGENCY = "credit_agency", _("Third-party credit agency")
    PEER_REFERENCES = "peer_references", _("Peer references")


def score_field(factor: CreditFactor) -> str:
    return f"{factor.value}_score"


def justification_field(factor: CreditFactor) -> str:
    return f"{factor.value}_justification"


def source_field(source: CreditSource) -> str:
    return f"source_{source.value}"


class CreditPolicy(models.Model):
    """The caps for new customers; a single row (pk 1), edited in the admin."""

    new_customer_max_limit = models.DecimalField(
        _("new customers: maximum limit"),
        **MONEY,
        default=Decimal("50000.00"),
        validators=[MinValueValidator(0)],
        help_text=_("In the customer's currency. Applies until the customer has paid once."),
    )
    new_customer_max_terms_days = models.PositiveSmallIntegerField(
        _("new customers: maximum terms (days)"), default=15, validators=TERMS_VALIDATORS
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit policy")
        verbose_name_plural = _("credit policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="credit_policy_single_row"),
            models.CheckConstraint(
                condition=Q(new_customer_max_limit__gte=0),
                name="credit_policy_new_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(new_customer_max_terms_days__lte=365),
                name="credit_policy_new_terms_at_most_a_year",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Credit policy"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)


class CreditGrade(models.Model):
    """A grade of the scorecard and what it allows at most (one row per grade)."""

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, unique=True)
    min_score = models.DecimalField(
        _("minimum score"),
        max_digits=3,
        decimal_places=2,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("A score at or above this value earns the grade."),
    )
    max_limit = models.DecimalField(
        _("recommended maximum limit"), **MONEY, validators=[MinValueValidator(0)]
    )
    max_terms_days = models.PositiveSmallIntegerField(
        _("recommended maximum terms (days)"), validators=TERMS_VALIDATORS
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit grade")
        verbose_name_plural = _("credit grades")
        ordering = ["grade"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_score__gte=1) & Q(min_score__lte=5),
                name="credit_grade_min_score_range",
            ),
            models.CheckConstraint(
                condition=Q(max_limit__gte=0), name="credit_grade_max_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_terms_days__lte=365), name="credit_grade_terms_at_most_a_year"
            ),
        ]

    def __str__(self) -> str:
        return self.grade

    def clean(self) -> None:
        """A better grade needs a strictly higher minimum score than a worse one."""
        others = CreditGrade.objects.exclude(pk=self.pk)
        if self.min_score is None:
            return
        better = others.filter(grade__lt=self.grade, min_score__lte=self.min_score).first()
        worse = others.filter(grade__gt=self.grade, min_score__gte=self.min_score).first()
        clash = better or worse
        if clash is not None:
            raise ValidationError(
                {
                    "min_score": _(
                        "Grade %(other)s has a minimum score of %(score)s: better grades "
                        "need higher minimum scores."
                    )
                    % {"other": clash.grade, "score": clash.min_score}
                }
            )


class CreditAssessment(models.Model):
    """A scorecard for one customer and the limit and terms it asks for.

    Workflow `draft → submitted → approved | rejected`; the decider must be
    finance and must not be the requester.
    """

    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="credit_assessments",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )

    industry_position_score = models.PositiveSmallIntegerField(
        CreditFactor.INDUSTRY_POSITION.label, validators=SCORE_VALIDATORS
    )
    industry_position_justification = models.CharField(
        _("industry position: justification"), max_length=500, blank=True
    )
    operating_condition_score = models.PositiveSmallIntegerField(
        CreditFactor.OPERATING_CONDITION.label, validators=SCORE_VALIDATORS
    )
    operating_condition_justification = models.CharField(
        _("operating condition: justification"), max_length=500, blank=True
    )
    financial_health_score = models.PositiveSmallIntegerField(
        CreditFactor.FINANCIAL_HEALTH.label, validators=SCORE_VALIDATORS
    )
    financial_health_justification = models.CharField(
        _("financial health: justification"), max_length=500, blank=True
    )
    cooperation_history_score = models.PositiveSmallIntegerField(
        CreditFactor.COOPERATION_HISTORY.label, validators=SCORE_VALIDATORS
    )
    cooperation_history_justification = models.CharField(
        _("cooperation history: justification"), max_length=500, blank=True
    )
    payment_habits_score = models.PositiveSmallIntegerField(
        CreditFactor.PAYMENT_HABITS.label, validators=SCORE_VALIDATORS
    )
    payment_habits_justification = models.CharField(
        _("payment habits: justification"), max_length=500, blank=True
    )

    source_industry_report = models.BooleanField(CreditSource.INDUSTRY_REPORT.label, default=False)
    source_public_records = models.BooleanField(CreditSource.PUBLIC_RECORDS.label, default=False)
    source_credit_agency = models.BooleanField(CreditSource.CREDIT_AGENCY.label, default=False)
    source_peer_references = models.BooleanField(CreditSource.PEER_REFERENCES.label, default=False)
    source_details = models.TextField(
        _("source details"),
        blank=True,
        help_text=_("Which report, register extract, agency reference or peers."),
    )
    notes = models.TextField(_("notes"), blank=True)

    currency = models.CharField(_("currency"), max_length=3)
    requested_limit = models.DecimalField(
        _("requested limit"), **MONEY, validators=[MinValueValidator(0)]
    )
    requested_terms_days = models.PositiveSmallIntegerField(
        _("requested terms (days)"), validators=TERMS_VALIDATORS
    )

    # Computed by the services when the scorecard is saved and again on submission.
    score = models.DecimalField(_("weighted score"), max_digits=3, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    recommended_limit = models.DecimalField(_("recommended maximum limit"), **MONEY)
    recommended_terms_days = models.PositiveSmallIntegerField(_("recommended maximum terms (days)"))
    capped_as_new = models.BooleanField(
        _("capped as a new customer"),
        default=False,
        help_text=_("The recommendation was lowered by the policy for new customers."),
    )

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
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
    approved_limit = models.DecimalField(_("approved limit"), **MONEY, null=True, blank=True)
    approved_terms_days = models.PositiveSmallIntegerField(
        _("approved terms (days)"), null=True, blank=True
    )
    override_reason = models.TextField(
        _("reason for exceeding the grade"),
        blank=True,
        help_text=_("Required when the approved limit or terms exceed the recommendation."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit assessment")
        verbose_name_plural = _("credit assessments")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "submitted_at"])]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{score_field(f)}__gte": 1, f"{score_field(f)}__lte": 5}),
                    name=f"credit_assessment_{f.value}_score_1_to_5",
                )
                for f in CreditFactor
            ),
            models.CheckConstraint(
                condition=Q(requested_limit__gte=0),
                name="credit_assessment_requested_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(requested_terms_days__lte=365),
                name="credit_assessment_requested_terms_at_most_a_year",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(source_industry_report=True)
                | Q(source_public_records=True)
                | Q(source_credit_agency=True)
                | Q(source_peer_references=True),
                name="credit_assessment_submitted_with_a_source",
            ),
            models.CheckConstraint(
                condition=Q(approved_limit__isnull=True)
                | (Q(approved_limit__gte=0) & Q(approved_limit__lte=F("requested_limit"))),
                name="credit_assessment_approved_limit_within_request",
            ),
            models.CheckConstraint(
                condition=Q(approved_terms_days__isnull=True)
                | Q(approved_terms_days__lte=F("requested_terms_days")),
                name="credit_assessment_approved_terms_within_request",
            ),
            # Segregation of duties, down to the database.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="credit_assessment_decider_is_not_requester",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status__in=["draft", "submitted"]),
                name="credit_assessment_one_open_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Credit assessment #%(number)s") % {"number": self.pk})

    def get_absolute_url(self) -> str:
        return reverse("receivables:credit_assessment_detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SUBMITTED)

    def factor_scores(self) -> dict[str, int]:
        return {factor: getattr(self, score_field(factor)) for factor in CreditFactor}

    def weighted_score(self) -> Decimal:
        """The weighted sum of the five factor scores, half-up to two places."""
        total = sum(
            (
                FACTOR_WEIGHTS[factor] * Decimal(score)
                for factor, score in self.factor_scores().items()
            ),
            Decimal(0),
        )
        return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def sources(self) -> list[CreditSource]:
        return [source for source in CreditSource if getattr(self, source_field(source))]

    def scorecard(self) -> list[dict[str, object]]:
        """The factors in order, for display: label, weight, score, justification."""
        return [
            {
                "label": factor.label,
                "weight": FACTOR_WEIGHTS[factor],
                "score": getattr(self, score_field(factor)),
                "justification": getattr(self, justification_field(factor)),
            }
            for factor in CreditFactor
        ]


class CreditOverride(AppendOnlyModel):
    """Finance let an operation through a refused credit check; the reason stays (append-only)."""

    scope_owner_path = "customer__sales_rep"

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="credit_overrides",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("overridden by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    exposure = models.DecimalField(_("exposure before"), **MONEY)
    credit_limit = models.DecimalField(_("credit limit"), **MONEY)
    credit_status = models.CharField(
        _("credit status"), max_length=16, choices=Customer.CreditStatus.choices
    )
    refusal = models.TextField(_("refusal overridden"))
    reason = models.TextField(_("reason"))
    reference = models.CharField(
        _("reference"),
        max_length=200,
        blank=True,
        help_text=_("What was let through, e.g. an invoice or contract number."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit override")
        verbose_name_plural = _("credit overrides")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} {self.amount} ({self.reference})"


class CreditHoldEvent(AppendOnlyModel):
    """A customer was put on credit hold or released, by whom and why (append-only)."""

    scope_owner_path = "customer__sales_rep"

    class Action(models.TextChoices):
        HOLD = "hold", _("Put on hold")
        RELEASE = "release", _("Released")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Finance")
        DUNNING = "dunning", _("Dunning (legal referral)")

    # The ladder's own reasons are stored as codes and worded at display time.
    DUNNING_REASONS = {
        "settled": _("Nothing is overdue any more: the hold of the legal referral is lifted."),
        "reopened": _("A reversal made items overdue again: the legal-referral hold is back."),
    }
    # Reasons with parameters, worded by their renderer (`core.events`, kind `hold:<code>`).
    DUNNING_REASON_KINDS = frozenset({"legal_referral"})

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="credit_hold_events",
    )
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.MANUAL
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit hold event")
        verbose_name_plural = _("credit hold events")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.action} {self.created_at:%Y-%m-%d}"

    @classmethod
    def dunning_reason(cls, code: str, *, items: list[str] | None = None) -> str:
        """Store the ladder's reason as its code (first line) and its items (second line)."""
        return f"{code}\n{', '.join(items)}" if items else code

    @property
    def reason_text(self) -> str:
        """The reason as written by finance, or the ladder's reason in the reader's language."""
        if self.source == self.Source.DUNNING:
            code, _newline, items = self.reason.partition("\n")
            if code in self.DUNNING_REASONS:
                return str(self.DUNNING_REASONS[code])
            if code in self.DUNNING_REASON_KINDS:
                from core.events import render

                return render(
                    f"hold:{code}", {"items": [item for item in items.split(", ") if item]}
                )
        return self.reason

    @property
    def reason_typed(self) -> bool:
        """Whether the reason is what a person typed (shown as typed, never translated)."""
        code = self.reason.partition("\n")[0]
        return not (
            self.source == self.Source.DUNNING
            and (code in self.DUNNING_REASONS or code in self.DUNNING_REASON_KINDS)
        )
