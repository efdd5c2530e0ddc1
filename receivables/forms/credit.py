"""HTTP input for credit assessments and decisions: shapes only; the services decide."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.money import MoneyFormField
from receivables.models.credit import (
    FACTOR_WEIGHTS,
    CreditAssessment,
    CreditFactor,
    CreditSource,
    justification_field,
    score_field,
)
from receivables.services.credit import CreditAssessmentInput

SCORE_CHOICES = [
    ("", _("— score —")),
    (1, _("1 · poor")),
    (2, _("2 · weak")),
    (3, _("3 · fair")),
    (4, _("4 · good")),
    (5, _("5 · excellent")),
]
MONEY_FIELD = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0")}


class CreditAssessmentForm(forms.Form):
    """The scorecard: five factors with a justification each, sources, the request."""

    sources = forms.MultipleChoiceField(
        label=_("Sources used"),
        choices=CreditSource.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("At least one before submitting."),
    )
    source_details = forms.CharField(
        label=_("Source details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Which report, register extract, agency reference or peers."),
    )
    requested_limit = MoneyFormField(label=_("Requested limit"), **MONEY_FIELD)
    requested_terms_days = forms.IntegerField(
        label=_("Requested terms (days)"), min_value=0, max_value=365
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, instance: CreditAssessment | None = None, **kwargs) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        for factor in CreditFactor:
            self.fields[score_field(factor)] = forms.TypedChoiceField(
                label=_("%(factor)s (weight %(weight)s %%)")
                % {"factor": factor.label, "weight": int(FACTOR_WEIGHTS[factor] * 100)},
                choices=SCORE_CHOICES,
                coerce=int,
            )
            self.fields[justification_field(factor)] = forms.CharField(
                label=_("%(factor)s: justification") % {"factor": factor.label},
                max_length=500,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self.order_fields(
            [
                name
                for factor in CreditFactor
                for name in (score_field(factor), justification_field(factor))
            ]
        )

    @staticmethod
    def initial_from(assessment: CreditAssessment) -> dict[str, object]:
        initial: dict[str, object] = {
            "sources": [source.value for source in assessment.sources()],
            "source_details": assessment.source_details,
            "requested_limit": assessment.requested_limit,
            "requested_terms_days": assessment.requested_terms_days,
            "notes": assessment.notes,
        }
        for factor in CreditFactor:
            initial[score_field(factor)] = getattr(assessment, score_field(factor))
            initial[justification_field(factor)] = getattr(assessment, justification_field(factor))
        return initial

    def factor_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(score, justification) bound fields per factor, for the template."""
        return [(self[score_field(f)], self[justification_field(f)]) for f in CreditFactor]

    def to_input(self) -> CreditAssessmentInput:
        data = self.cleaned_data
        return CreditAssessmentInput(
            scores={f.value: data[score_field(f)] for f in CreditFactor},
            justifications={f.value: data[justification_field(f)] for f in CreditFactor},
            sources=tuple(data["sources"]),
            source_details=data["source_details"],
            requested_limit=data["requested_limit"],
            requested_terms_days=data["requested_terms_days"],
            notes=data["notes"],
        )


class CreditApprovalForm(forms.Form):
    approved_limit = MoneyFormField(label=_("Approved limit"), **MONEY_FIELD)
    approved_terms_days = forms.IntegerField(
        label=_("Approved terms (days)"), min_value=0, max_value=365
    )
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("Reason for exceeding the grade"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only when approving more than the grade recommends."),
    )


class CreditRejectionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))
