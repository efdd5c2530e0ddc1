"""HTTP input for collections: the forms validate shape, the services decide."""

from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract, SupplementaryAgreement
from core.exceptions import BusinessRuleError
from core.money import MoneyFormField
from dunning.models import CollectionCase, CollectionTask
from dunning.services.agreements import InstalmentInput, LateFeeTermsInput
from dunning.services.cases import CallOutcome
from receivables.models import Invoice

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NOTE_WIDGET = forms.Textarea(attrs={"rows": 3})
MONEY_FIELD = {"max_digits": 14, "decimal_places": 2}


def add_business_error(form: forms.BaseForm, error: BusinessRuleError) -> None:
    """Show a service's refusal on its field, or on the form when the field is not shown."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class InvoiceChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Invoice) -> str:
        open_amount = getattr(obj, "open_amount", obj.outstanding)
        return _("%(number)s · due %(due)s · %(currency)s %(open)s open") % {
            "number": obj.number,
            "due": obj.due_date.isoformat(),
            "currency": obj.currency,
            "open": f"{open_amount:,.2f}",
        }


class OverdueReasonForm(forms.Form):
    overdue_reason = forms.ChoiceField(
        label=_("Why is the customer late?"), choices=CollectionCase.OverdueReason.choices
    )
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE_WIDGET, max_length=2000)

    def __init__(self, *args, **kwargs) -> None:
        # Shown beside the call form on the case page: ids must not clash.
        kwargs.setdefault("auto_id", "reason_%s")
        super().__init__(*args, **kwargs)


class CallLogForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.choices)
    contact_name = forms.CharField(label=_("Spoke with"), required=False, max_length=120)
    note = forms.CharField(
        label=_("What was said"), required=False, widget=NOTE_WIDGET, max_length=2000
    )
    task = forms.ModelChoiceField(
        label=_("Task this call completes"),
        queryset=CollectionTask.objects.none(),
        required=False,
    )
    follow_up_on = forms.DateField(label=_("Call again on"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, tasks: QuerySet[CollectionTask], **kwargs) -> None:
        kwargs.setdefault("auto_id", "call_%s")
        super().__init__(*args, **kwargs)
        self.fields["task"].queryset = tasks


class PromiseForm(forms.Form):
    invoices = InvoiceChoiceField(label=_("Invoices"), queryset=Invoice.objects.none())
    amount = MoneyFormField(label=_("Amount promised"), **MONEY_FIELD)
    promised_date = forms.DateField(label=_("Promised payment date"), widget=DATE_WIDGET)
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE_WIDGET, max_length=2000)

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices


class DisputeForm(forms.Form):
    invoices = InvoiceChoiceField(label=_("Disputed invoices"), queryset=Invoice.objects.none())
    reason = forms.CharField(
        label=_("What the customer disputes"), widget=NOTE_WIDGET, max_length=2000
    )

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices


class AgreementProposalForm(forms.Form):
    invoices = InvoiceChoiceField(
        label=_("Overdue invoices the agreement replaces"), queryset=Invoice.objects.none()
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SupplementaryAgreement.Kind.choices)
    reason = forms.CharField(
        label=_("Why the customer needs new dates"), widget=NOTE_WIDGET, max_length=2000
    )
    late_fee_rate_percent = forms.DecimalField(
        label=_("Late-fee rate (%)"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(0),
        help_text=_("Leave empty to keep the contract's clause."),
    )
    late_fee_rate_period = forms.ChoiceField(
        label=_("Rate period"), choices=Contract.RatePeriod.choices, initial="day"
    )
    late_fee_grace_days = forms.IntegerField(
        label=_("Grace days"), min_value=0, max_value=365, initial=0
    )
    late_fee_cap_percent = forms.DecimalField(
        label=_("Cap (percent of the overdue amount)"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal(0),
    )

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices

    def terms(self) -> LateFeeTermsInput:
        data = self.cleaned_data
        return LateFeeTermsInput(
            rate_percent=data.get("late_fee_rate_percent"),
            rate_period=data.get("late_fee_rate_period") or "day",
            grace_days=data.get("late_fee_grace_days") or 0,
            cap_percent=data.get("late_fee_cap_percent"),
        )


class InstalmentForm(forms.Form):
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DATE_WIDGET)
    amount = MoneyFormField(label=_("Amount"), required=False, **MONEY_FIELD)

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("due_date")) != (data.get("amount") is not None):
            raise forms.ValidationError(_("Give both the date and the amount, or neither."))
        return data


class BaseInstalmentFormSet(forms.BaseFormSet):
    def instalments(self) -> list[InstalmentInput]:
        """The filled rows in order (empty rows are ignored)."""
        return [
            InstalmentInput(
                due_date=form.cleaned_data["due_date"], amount=form.cleaned_data["amount"]
            )
            for form in self.forms
            if form.cleaned_data.get("due_date")
        ]


InstalmentFormSet = forms.formset_factory(
    InstalmentForm, formset=BaseInstalmentFormSet, extra=6, max_num=24, validate_max=True
)


class DunningPauseForm(forms.Form):
    until = forms.DateField(label=_("Pause dunning until"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class DisputeAcceptForm(forms.Form):
    note = forms.CharField(
        label=_("How the dispute was settled"), widget=NOTE_WIDGET, max_length=2000
    )
    credit_note_number = forms.CharField(
        label=_("Credit note number"),
        required=False,
        max_length=60,
        help_text=_("Further invoices get -2, -3… appended."),
    )

    def __init__(self, *args, invoices: list[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invoices = invoices
        for invoice in invoices:
            self.fields[f"credit_{invoice.pk}"] = MoneyFormField(
                label=_("Credit on %(number)s (open %(open)s)")
                % {"number": invoice.number, "open": f"{invoice.outstanding:,.2f}"},
                required=False,
                **MONEY_FIELD,
            )

    def credits(self) -> list[tuple[Invoice, Decimal]]:
        return [
            (invoice, self.cleaned_data[f"credit_{invoice.pk}"])
            for invoice in self.invoices
            if self.cleaned_data.get(f"credit_{invoice.pk}") is not None
        ]


class DisputeRejectForm(forms.Form):
    evidence = forms.CharField(
        label=_("Evidence that the invoices stand"), widget=NOTE_WIDGET, max_length=2000
    )


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=NOTE_WIDGET, max_length=2000
    )


class LetterRejectForm(forms.Form):
    reason = forms.CharField(label=_("Why is it refused?"), widget=NOTE_WIDGET, max_length=2000)


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *CollectionCase.Status.choices],
    )
