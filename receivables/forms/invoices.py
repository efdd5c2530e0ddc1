"""HTTP input for invoices: shapes only; the invoice services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.money import MoneyFormField
from receivables.models import Invoice

MONEY = {
    "max_digits": 14,
    "decimal_places": 2,
    "min_value": 0,
    # A text box: a number input would silently refuse "3,500.00" instead of saying why.
    "widget": forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    "error_messages": {
        "invalid": _("Enter a plain amount such as 3500.00: a dot, no thousands separator.")
    },
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class InvoiceFilterForm(forms.Form):
    """The invoice list's filters (GET)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Number, customer or contract")}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Invoice.Status.choices],
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False, choices=())
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, currencies: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [
            ("", _("All currencies")),
            *((code, code) for code in currencies),
        ]


class InvoiceForm(forms.Form):
    """A standalone invoice (milestone invoices are issued from their contract)."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None)
    number = forms.CharField(label=_("Invoice number"), max_length=64)
    issue_date = forms.DateField(label=_("Issue date"), widget=DateInput())
    due_date = forms.DateField(label=_("Due date"), widget=DateInput())
    amount = MoneyFormField(label=_("Amount"), **MONEY)
    currency = forms.CharField(
        label=_("Currency"), max_length=3, help_text=_("The customer's currency.")
    )
    contract_number = forms.CharField(label=_("Contract number"), max_length=64, required=False)
    credit_override_reason = forms.CharField(
        label=_("Credit override reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Only if the credit check refuses the invoice and finance lets it through anyway; "
            "the reason is logged."
        ),
    )

    def __init__(self, *args, customers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class DeliveryForm(forms.Form):
    """How and when the invoice reached the customer."""

    method = forms.ChoiceField(label=_("Delivery method"), choices=Invoice.DeliveryMethod.choices)
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=64,
        required=False,
        help_text=_("Required for courier and registered post."),
    )
    delivered_at = forms.DateTimeField(label=_("Delivered at"), widget=DateTimeInput())


class ReceiptForm(forms.Form):
    """Who at the customer confirmed receiving the invoice, and when."""

    confirmed_by = forms.CharField(
        label=_("Confirmed by"),
        max_length=120,
        help_text=_("The person at the customer, e.g. their accounts-payable clerk."),
    )
    confirmed_at = forms.DateTimeField(label=_("Confirmed at"), widget=DateTimeInput())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CreditNoteForm(forms.Form):
    number = forms.CharField(label=_("Credit note number"), max_length=64)
    amount = MoneyFormField(label=_("Amount"), **MONEY)
    issue_date = forms.DateField(label=_("Issue date"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
