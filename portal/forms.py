"""Shapes of what the customer's contact submits; the services decide."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.money import MoneyFormField
from portal.models import DocumentRequest
from receivables.models import Invoice


class _PortalForm(forms.Form):
    """The page holds several forms: each one's field ids carry its own prefix."""

    id_prefix = "portal"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class _InvoiceChoices(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Invoice) -> str:
        return f"{obj.number} · {obj.currency} {obj.outstanding:,.2f} · {obj.due_date:%Y-%m-%d}"


class ConfirmForm(_PortalForm):
    id_prefix = "confirm"
    name = forms.CharField(label=_("Your name"), max_length=120)
    position = forms.CharField(label=_("Your position"), max_length=120)


class DisputeForm(_PortalForm):
    id_prefix = "dispute"
    invoices = _InvoiceChoices(label=_("Invoices you dispute"), queryset=Invoice.objects.none())
    reason = forms.CharField(label=_("What is wrong"), widget=forms.Textarea(attrs={"rows": 3}))
    attachment = forms.FileField(
        label=_("Attachment (PDF, JPEG or PNG)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    name = forms.CharField(label=_("Your name"), max_length=120)

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices


class PromiseForm(_PortalForm):
    id_prefix = "promise"
    invoices = _InvoiceChoices(label=_("Invoices you will pay"), queryset=Invoice.objects.none())
    amount = MoneyFormField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    promised_date = forms.DateField(
        label=_("Paid by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    name = forms.CharField(label=_("Your name"), max_length=120)

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices


class DocumentRequestForm(_PortalForm):
    id_prefix = "request"
    document = forms.ChoiceField(label=_("Document"), choices=DocumentRequest.Document.choices)
    invoice = forms.ModelChoiceField(
        label=_("Invoice (for a copy)"), queryset=Invoice.objects.none(), required=False
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    name = forms.CharField(label=_("Your name"), max_length=120)

    def __init__(self, *args, invoices: QuerySet[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = invoices


class LinkCreateForm(forms.Form):
    as_of = forms.DateField(
        label=_("Balance date to confirm (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
