"""HTTP input for contracts: the forms check shapes; the services decide."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services import ContractData, MilestoneData
from contracts.services.deliveries import proof_max_bytes
from core.money import MoneyFormField

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CONTRACT_FIELDS = [
    "number",
    "customer",
    "title",
    "start_date",
    "end_date",
    "amount",
    "currency",
    "payment_type",
    "credit_terms_days",
    "payee_account_name",
    "payee_bank_name",
    "payee_bank_account",
    "late_fee_rate_percent",
    "late_fee_rate_period",
    "late_fee_grace_days",
    "late_fee_cap_percent",
    "dispute_resolution_clause",
]


class ContractForm(forms.ModelForm):
    no_late_fee = forms.BooleanField(
        label=_("The contract explicitly has no late fee"),
        required=False,
        help_text=_("Tick this instead of giving a rate when the contract waives late fees."),
    )

    class Meta:
        model = Contract
        fields = CONTRACT_FIELDS
        widgets = {
            "start_date": DATE_WIDGET,
            "end_date": DATE_WIDGET,
            "dispute_resolution_clause": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {"amount": MoneyFormField}
        error_messages = {
            "number": {"unique": _("A contract with this number already exists.")},
        }

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        if self.instance.pk:
            # The customer of an existing contract does not change.
            self.fields["customer"].disabled = True
            self.fields["no_late_fee"].initial = self.instance.late_fee_rate_percent == 0
        else:
            self.fields["currency"].initial = settings.DEFAULT_CURRENCY

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("The contract amount must be greater than zero."))
        return amount

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("no_late_fee"):
            cleaned["late_fee_rate_percent"] = Decimal("0")
            cleaned["late_fee_cap_percent"] = None
            cleaned["late_fee_grace_days"] = 0
        return cleaned

    def contract_data(self) -> ContractData:
        data = self.cleaned_data
        return ContractData(
            number=data["number"],
            title=data.get("title") or "",
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            amount=data["amount"],
            currency=data["currency"],
            payment_type=data["payment_type"],
            credit_terms_days=data.get("credit_terms_days") or 0,
            payee_account_name=data.get("payee_account_name") or "",
            payee_bank_name=data.get("payee_bank_name") or "",
            payee_bank_account=data.get("payee_bank_account") or "",
            late_fee_rate_percent=data.get("late_fee_rate_percent"),
            late_fee_rate_period=data.get("late_fee_rate_period") or Contract.RatePeriod.DAY,
            late_fee_grace_days=data.get("late_fee_grace_days") or 0,
            late_fee_cap_percent=data.get("late_fee_cap_percent"),
            dispute_resolution_clause=data.get("dispute_resolution_clause") or "",
        )


class MilestoneForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200)
    percent = forms.DecimalField(
        label=_("Percent"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
    )
    trigger = forms.ChoiceField(
        label=_("Trigger"), choices=[("", "---------"), *PaymentMilestone.Trigger.choices]
    )
    offset_days = forms.IntegerField(label=_("Offset days"), min_value=0, max_value=3650, initial=0)
    fixed_date = forms.DateField(label=_("Fixed date"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The table header names the columns; screen readers need it on each input.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)

    def milestone_data(self) -> MilestoneData:
        data = self.cleaned_data
        return MilestoneData(
            description=data["description"],
            percent=data["percent"],
            trigger=data["trigger"],
            offset_days=data["offset_days"],
            fixed_date=data.get("fixed_date"),
        )


class BaseMilestoneFormSet(forms.BaseFormSet):
    def milestones(self) -> list[MilestoneData]:
        """The filled-in rows in order, without blank or deleted ones."""
        rows = []
        for form in self.forms:
            if not form.has_changed() and not form.initial:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            rows.append(form.milestone_data())
        return rows


def milestone_formset_class(*, extra: int, can_delete: bool) -> type[BaseMilestoneFormSet]:
    return forms.formset_factory(
        MilestoneForm, formset=BaseMilestoneFormSet, extra=extra, can_delete=can_delete
    )


def milestone_initial(contract: Contract) -> list[dict]:
    return [
        {
            "description": milestone.description,
            "percent": milestone.percent,
            "trigger": milestone.trigger,
            "offset_days": milestone.offset_days,
            "fixed_date": milestone.fixed_date,
        }
        for milestone in sorted(contract.milestones.all(), key=lambda row: row.sequence)
    ]


class ReviewForm(forms.Form):
    comment = forms.CharField(
        label=_("Review comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you send the contract back to draft."),
    )
    terms_approval_reason = forms.CharField(
        label=_("Reason for approving longer terms"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    credit_override_reason = forms.CharField(
        label=_("Credit override reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only if the credit check refuses and finance decides to proceed."),
    )


class TermsApprovalForm(forms.Form):
    terms_approval_reason = forms.CharField(
        label=_("Reason for approving longer terms"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ActivationForm(forms.Form):
    signed_date = forms.DateField(label=_("Signed on"), widget=DATE_WIDGET)
    credit_override_reason = forms.CharField(
        label=_("Credit override reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only if the credit check refuses and finance decides to proceed."),
    )


class DeliveryRecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("Event"), choices=DeliveryRecord.Kind.choices)
    occurred_on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    signer_name = forms.CharField(label=_("Signed by"), max_length=120)
    proof = forms.FileField(
        label=_("Signed proof"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"}
        ),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proof"].help_text = _("PDF, PNG or JPEG, at most %(limit)s MB.") % {
            "limit": f"{proof_max_bytes() / 1024 / 1024:g}"
        }


class MilestoneInvoiceForm(forms.Form):
    number = forms.CharField(label=_("Invoice number"), max_length=64)
    issue_date = forms.DateField(label=_("Issue date"), widget=DATE_WIDGET)


class WarrantyEndForm(forms.Form):
    event_date = forms.DateField(label=_("Warranty ended on"), widget=DATE_WIDGET)
