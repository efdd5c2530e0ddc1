"""HTTP input for acceptance bills: shapes only; the bill services decide."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from bills.models import AcceptanceBill
from core.money import MoneyFormField
from receivables.forms.invoices import MONEY, DateInput
from receivables.forms.payments import AllocationMode, _AllocationFieldsMixin
from receivables.models import Invoice


class BillReceiveForm(_AllocationFieldsMixin, forms.Form):
    """A bill received from one customer, and the invoices it pays."""

    number = forms.CharField(label=_("Bill number"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=AcceptanceBill.Kind.choices)
    acceptor = forms.CharField(label=_("Acceptor"), max_length=200)
    drawer = forms.CharField(label=_("Drawer"), max_length=200)
    issue_date = forms.DateField(label=_("Issue date"), widget=DateInput())
    maturity_date = forms.DateField(label=_("Maturity date"), widget=DateInput())
    face_amount = MoneyFormField(label=_("Face amount"), **MONEY)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    mode = forms.ChoiceField(
        label=_("Invoices it pays"),
        choices=[
            (AllocationMode.AUTO, _("Oldest due first")),
            (AllocationMode.EXPLICIT, _("To the invoices below")),
            (AllocationMode.NONE, _("Keep all as customer credit")),
        ],
        initial=AllocationMode.AUTO,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, invoices: list[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_allocation_fields(invoices)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode") == AllocationMode.EXPLICIT and not self.explicit_allocations():
            raise forms.ValidationError(_("Enter the amount to allocate to at least one invoice."))
        return cleaned

    def allocations(self) -> list[tuple[Invoice, Decimal]] | None:
        """None for oldest-first; a list (empty: all credit) for explicit allocation."""
        mode = self.cleaned_data["mode"]
        if mode == AllocationMode.AUTO:
            return None
        if mode == AllocationMode.NONE:
            return []
        return self.explicit_allocations()


class EndorseForm(forms.Form):
    endorsee = forms.CharField(label=_("Endorsed to"), max_length=200)
    endorsed_on = forms.DateField(label=_("Endorsed on"), widget=DateInput())


class DiscountForm(forms.Form):
    discounted_on = forms.DateField(label=_("Discounted on"), widget=DateInput())
    discount_amount = MoneyFormField(
        label=_("Discount"),
        help_text=_("What the bank kept; the cash received is the face amount less this."),
        **MONEY,
    )


class CollectForm(forms.Form):
    collected_on = forms.DateField(label=_("Collected on"), widget=DateInput())


class DishonourForm(forms.Form):
    dishonoured_on = forms.DateField(label=_("Dishonoured on"), widget=DateInput())
    dishonour_reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("E.g. refused at presentation, acceptor insolvent, recourse by the endorsee."),
    )
