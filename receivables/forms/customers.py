"""HTTP input for customers and contacts: shapes only; the services decide."""

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from receivables.models import Contact, Customer
from receivables.selectors.customers import customer_code_suggest, sales_rep_list


class CustomerForm(forms.ModelForm):
    """The customer master. Code and currency are fixed once the customer exists."""

    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        validators=[RegexValidator(r"^[A-Za-z]{3}$", _("Enter a three-letter currency code."))],
        help_text=_("ISO 4217, e.g. CNY. Credit limits are in this currency."),
    )
    sales_rep = forms.ModelChoiceField(label=_("Sales rep"), queryset=None, required=False)

    class Meta:
        model = Customer
        fields = [
            "code",
            "name",
            "industry",
            "registration_number",
            "address",
            "currency",
            "language",
            "sales_rep",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, can_assign_rep: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if can_assign_rep:
            self.fields["sales_rep"].queryset = sales_rep_list()
            self.fields["sales_rep"].required = True
        else:
            del self.fields["sales_rep"]
        if self.instance.pk:
            for name in ("code", "currency"):
                self.fields[name].disabled = True
        else:
            self.fields["currency"].initial = settings.DEFAULT_CURRENCY
            if not self.is_bound:
                self.fields["code"].initial = customer_code_suggest()
                self.fields["code"].help_text = _(
                    "The next free code is filled in; change it if you like."
                )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def validate_unique(self) -> None:
        """The service reports a duplicate code with its own message."""


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "role", "email", "phone", "im_handle"]


class ReasonForm(forms.Form):
    """A written reason (credit hold and release)."""

    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
