"""The finance upload form for `receivables.imports`."""

from django import forms
from django.utils.translation import gettext_lazy as _

# Excel saves "Unicode text" (UTF-16, tab-separated) as .txt.
ACCEPT = ".csv,.txt,text/csv,text/plain"


class ImportForm(forms.Form):
    invoices_file = forms.FileField(
        label=_("Invoices CSV"),
        help_text=_(
            "customer_code, customer_name, invoice_number, issue_date, due_date, amount, "
            "currency; optionally sales_rep, contract_number."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    payments_file = forms.FileField(
        label=_("Payments CSV"),
        required=False,
        help_text=_(
            "customer_code, payment_date, amount, currency, reference; optionally "
            "invoice_number (without it, oldest due first)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check everything, write nothing"), required=False, initial=True
    )
