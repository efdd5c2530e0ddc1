"""List filters (django-filter); money rules come from the balance module."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from api.fields import BIGINT_MAX, EARLIEST, LATEST
from banking.models import BankReceipt
from bills.models import AcceptanceBill
from dunning.models import CollectionCase, Communication, Dispute, LevelCode, PromiseToPay
from dunning.policy import policy_tolerance
from receivables.models import Invoice, Payment
from receivables.selectors.balances import (
    BUCKETS,
    bucket_q,
    invoices_open_today,
    invoices_with_open_amount,
    open_q,
    overdue_q,
)
from receivables.selectors.replaced import invoices_exclude_replaced

# Dates outside the range the API accepts anywhere are refused before any arithmetic.
DATE_RANGE = {"validators": [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]}


def _customer_filter() -> filters.NumberFilter:
    return filters.NumberFilter(field_name="customer_id", min_value=1, max_value=BIGINT_MAX)


class InvoiceFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Invoice.Status.choices)
    customer = _customer_filter()
    customer_code = filters.CharFilter(field_name="customer__code")
    rep = filters.CharFilter(field_name="customer__sales_rep__username", label=_("Sales rep"))
    currency = filters.CharFilter(field_name="currency")
    due_from = filters.DateFilter(field_name="due_date", lookup_expr="gte", **DATE_RANGE)
    due_to = filters.DateFilter(field_name="due_date", lookup_expr="lte", **DATE_RANGE)
    overdue = filters.BooleanFilter(
        method="filter_overdue",
        label=_("Overdue today (owing at least the dunning tolerance; not replaced by a plan)"),
    )
    as_of = filters.DateFilter(
        method="filter_nothing", label=_("Date of the ageing bucket"), **DATE_RANGE
    )
    bucket = filters.ChoiceFilter(
        choices=[(bucket, bucket) for bucket in BUCKETS],
        method="filter_bucket",
        label=_("Ageing bucket as of `as_of` (default today): open then, by days past due"),
    )

    class Meta:
        model = Invoice
        fields = []

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        overdue = invoices_exclude_replaced(
            invoices_open_today(queryset).filter(
                overdue_q(as_of=today, tolerance=policy_tolerance())
            )
        )
        if value:
            return overdue
        return queryset.exclude(pk__in=overdue.values("pk"))

    def filter_bucket(self, queryset, name, value):
        if not value:
            return queryset
        today = timezone.localdate()
        as_of = self.form.cleaned_data.get("as_of") or today
        return (
            invoices_with_open_amount(as_of=as_of, today=today, queryset=queryset)
            .filter(open_q(amount="open_amount"))
            .filter(bucket_q(value, as_of=as_of))
        )


class PaymentFilter(filters.FilterSet):
    customer = _customer_filter()
    status = filters.ChoiceFilter(choices=Payment.Status.choices)
    date_from = filters.DateFilter(field_name="payment_date", lookup_expr="gte", **DATE_RANGE)
    date_to = filters.DateFilter(field_name="payment_date", lookup_expr="lte", **DATE_RANGE)

    class Meta:
        model = Payment
        fields = []


class CaseFilter(filters.FilterSet):
    customer = _customer_filter()
    status = filters.ChoiceFilter(choices=CollectionCase.Status.choices)

    class Meta:
        model = CollectionCase
        fields = []


class MessageFilter(filters.FilterSet):
    customer = _customer_filter()
    level = filters.ChoiceFilter(choices=LevelCode.choices)
    status = filters.ChoiceFilter(choices=Communication.Status.choices)
    has_letter = filters.BooleanFilter(method="filter_has_letter", label=_("With a letter (PDF)"))

    class Meta:
        model = Communication
        fields = []

    def filter_has_letter(self, queryset, name, value):
        if value is None:
            return queryset
        with_letter = queryset.exclude(letter_pdf="")
        return with_letter if value else queryset.filter(letter_pdf="")


class PromiseFilter(filters.FilterSet):
    customer = _customer_filter()
    status = filters.ChoiceFilter(choices=PromiseToPay.Status.choices)

    class Meta:
        model = PromiseToPay
        fields = []


class DisputeFilter(filters.FilterSet):
    customer = _customer_filter()
    status = filters.ChoiceFilter(choices=Dispute.Status.choices)

    class Meta:
        model = Dispute
        fields = []


class BankReceiptFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=BankReceipt.Status.choices)
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte", **DATE_RANGE)
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte", **DATE_RANGE)
    account = filters.CharFilter(
        field_name="bank_account__code", label=_("Our bank account's code")
    )
    currency = filters.CharFilter(field_name="currency")

    class Meta:
        model = BankReceipt
        fields = []


class AcceptanceBillFilter(filters.FilterSet):
    customer = _customer_filter()
    status = filters.ChoiceFilter(choices=AcceptanceBill.Status.choices)
    kind = filters.ChoiceFilter(choices=AcceptanceBill.Kind.choices)
    maturity_from = filters.DateFilter(field_name="maturity_date", lookup_expr="gte", **DATE_RANGE)
    maturity_to = filters.DateFilter(field_name="maturity_date", lookup_expr="lte", **DATE_RANGE)
    received_from = filters.DateFilter(field_name="received_on", lookup_expr="gte", **DATE_RANGE)
    received_to = filters.DateFilter(field_name="received_on", lookup_expr="lte", **DATE_RANGE)

    class Meta:
        model = AcceptanceBill
        fields = []
