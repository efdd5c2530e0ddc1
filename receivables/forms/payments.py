"""HTTP input for payments: shapes only; the payment services decide."""

from collections.abc import Iterable
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.money import MoneyFormField
from receivables.forms.invoices import MONEY, DateInput
from receivables.models import Invoice


class AllocationMode:
    AUTO = "auto"
    EXPLICIT = "explicit"
    NONE = "none"


class _AllocationFieldsMixin:
    """One amount field per open invoice, `allocate_<pk>`, for explicit allocation."""

    def _add_allocation_fields(self, invoices: Iterable[Invoice]) -> None:
        self.open_invoices = list(invoices)
        for invoice in self.open_invoices:
            self.fields[self.allocation_field_name(invoice)] = MoneyFormField(
                label=invoice.number,
                required=False,
                **MONEY,
            )

    @staticmethod
    def allocation_field_name(invoice: Invoice) -> str:
        return f"allocate_{invoice.pk}"

    def allocation_rows(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [
            (invoice, self[self.allocation_field_name(invoice)]) for invoice in self.open_invoices
        ]

    def explicit_allocations(self) -> list[tuple[Invoice, Decimal]]:
        allocations = []
        for invoice in self.open_invoices:
            amount = self.cleaned_data.get(self.allocation_field_name(invoice))
            if amount:
                allocations.append((invoice, amount))
        return allocations


class PaymentForm(_AllocationFieldsMixin, forms.Form):
    """A payment received from one customer, and how to allocate it."""

    payment_date = forms.DateField(label=_("Payment date"), widget=DateInput())
    amount = MoneyFormField(label=_("Amount"), **MONEY)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    reference = forms.CharField(
        label=_("Bank reference"),
        max_length=120,
        required=False,
        help_text=_("The transfer's reference; the same reference, date and amount is refused."),
    )
    mode = forms.ChoiceField(
        label=_("Allocation"),
        choices=[
            (AllocationMode.AUTO, _("Oldest due first")),
            (AllocationMode.EXPLICIT, _("To the invoices below")),
            (AllocationMode.NONE, _("Keep all as customer credit")),
        ],
        initial=AllocationMode.AUTO,
        widget=forms.RadioSelect,
    )

    confirm_excess = forms.BooleanField(
        label=_("Record it anyway: the amount is right and the rest stays as customer credit"),
        required=False,
    )

    def __init__(self, *args, invoices: Iterable[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_allocation_fields(invoices)

    def allocated_amount(self) -> Decimal | None:
        """What the payment is allocated to (None: oldest first, up to the open balance)."""
        allocations = self.allocations()
        if allocations is None:
            return None
        return sum((amount for _invoice, amount in allocations), Decimal(0))

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


class ApplyCreditForm(_AllocationFieldsMixin, forms.Form):
    """Apply a payment's unallocated credit, oldest due first or to chosen invoices."""

    mode = forms.ChoiceField(
        label=_("Apply"),
        choices=[
            (AllocationMode.AUTO, _("Oldest due first")),
            (AllocationMode.EXPLICIT, _("To the invoices below")),
        ],
        initial=AllocationMode.AUTO,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, invoices: Iterable[Invoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_allocation_fields(invoices)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode") == AllocationMode.EXPLICIT and not self.explicit_allocations():
            raise forms.ValidationError(_("Enter the amount to allocate to at least one invoice."))
        return cleaned

    def allocations(self) -> list[tuple[Invoice, Decimal]] | None:
        if self.cleaned_data["mode"] == AllocationMode.AUTO:
            return None
        return self.explicit_allocations()


class ReversalForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reversal"),
        max_length=200,
        help_text=_("E.g. the transfer bounced, or it was recorded against the wrong customer."),
    )
