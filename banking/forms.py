from django import forms
from django.utils.translation import gettext_lazy as _

from banking.parsers import AUTO, CAMT053, CANONICAL, MT940

MAX_UPLOAD = 10 * 1024 * 1024


class StatementUploadForm(forms.Form):
    bank_account = forms.ChoiceField(label=_("Bank account"))
    profile = forms.ChoiceField(label=_("Format"))
    file = forms.FileField(label=_("Statement file"))

    def __init__(self, *args, accounts, profiles, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank_account"].choices = [(a.pk, str(a)) for a in accounts]
        self.fields["profile"].choices = [
            (AUTO, _("Detect")),
            (CANONICAL, _("Canonical CSV")),
            (CAMT053, "camt.053"),
            (MT940, "MT940"),
            *[(name, name) for name in profiles],
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload


class ReassignForm(forms.Form):
    customer_code = forms.CharField(label=_("Customer code"), max_length=32)
    invoices = forms.CharField(
        label=_("Invoice numbers"),
        required=False,
        help_text=_("Separated by commas; empty: oldest first."),
    )


class SplitForm(forms.Form):
    parts = forms.CharField(
        label=_("Parts"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One line per customer: code and amount, e.g. C-001 1200.00"),
    )


class DismissForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ClaimForm(forms.Form):
    customer = forms.ChoiceField(label=_("Customer"))
    invoices = forms.CharField(
        label=_("Invoice numbers it pays"),
        required=False,
        help_text=_("Separated by commas."),
    )

    def __init__(self, *args, customers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [(c.pk, f"{c.code} {c.name}") for c in customers]


class ClaimDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("reject", "reject")])
    reason = forms.CharField(max_length=200, required=False)


def numbers_split(text: str) -> list[str]:
    """Invoice numbers typed with commas, spaces or Chinese commas between them."""
    return [part for part in text.replace("\uff0c", ",").replace(" ", ",").split(",") if part]


class BankAccountForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    number = forms.CharField(label=_("Account number"), max_length=64)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
