"""What the dashboards can be narrowed and sorted by: django-filter filter sets and the KPI form."""

from datetime import date

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from contracts.models import AgreementInstalment
from core.roles import Role
from dashboards.selectors.common import DashboardFilters
from receivables.models import Customer, Invoice
from receivables.selectors.ageing import BUCKETS
from receivables.selectors.balances import bucket_label


def sales_reps() -> QuerySet:
    return (
        get_user_model().objects.filter(groups__name=Role.SALES_REP).order_by("username").distinct()
    )


class DashboardFilterForm(forms.Form):
    """Business date, currency and rep of the KPI pages; bad input falls back to the defaults."""

    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    rep = forms.ModelChoiceField(
        label=_("Sales rep"), queryset=sales_reps(), required=False, empty_label=_("All reps")
    )

    def __init__(self, *args, currencies: list[str], may_pick_rep: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(code, code) for code in currencies]
        self.fields["rep"].queryset = sales_reps()
        if not may_pick_rep:
            del self.fields["rep"]

    def dashboard_filters(self, *, today: date, default_currency: str) -> DashboardFilters:
        """The filters the form asks for; a field that does not validate keeps its default."""
        self.is_valid()  # cleaned_data keeps the fields that validated
        data = getattr(self, "cleaned_data", {})
        as_of = data.get("as_of") or today
        rep = data.get("rep")
        return DashboardFilters(
            as_of=min(as_of, today),
            currency=data.get("currency") or default_currency,
            rep_id=rep.pk if rep else None,
            today=today,
        )


def default_currency(currencies: list[str]) -> str:
    """The configured currency when the user has invoices in it, else their first one."""
    if settings.DEFAULT_CURRENCY in currencies or not currencies:
        return settings.DEFAULT_CURRENCY
    return currencies[0]


class WorklistFilter(django_filters.FilterSet):
    """The rep's customer list: search, narrow to a state, sort."""

    STATES = (
        ("overdue", _("With overdue invoices")),
        ("case", _("With an open case")),
        ("on_hold", _("On credit hold")),
        ("no_finance_contact", _("Without a finance contact")),
    )

    q = django_filters.CharFilter(label=_("Search"), method="search")
    state = django_filters.ChoiceFilter(
        label=_("Show"), choices=STATES, method="narrow", empty_label=_("All customers")
    )
    order = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(
            ("name", "name"),
            ("code", "code"),
            ("balance", "balance"),
            ("overdue", "overdue"),
            ("oldest_overdue_due", "oldest"),
            ("rung", "rung"),
        ),
        field_labels={
            "name": _("Name"),
            "code": _("Code"),
            "balance": _("Balance"),
            "overdue": _("Overdue"),
            "oldest_overdue_due": _("Oldest overdue"),
            "rung": _("Ladder level"),
        },
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))

    def narrow(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "overdue":
            return queryset.filter(overdue__gt=0)
        if value == "case":
            return queryset.filter(case_id__isnull=False)
        if value == "on_hold":
            return queryset.filter(credit_status="on_hold")
        if value == "no_finance_contact":
            return queryset.filter(has_finance_contact=False)
        return queryset

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not self.form.cleaned_data.get("order"):
            # Nulls last: customers with nothing overdue go after the oldest overdue.
            queryset = queryset.order_by(
                F("oldest_overdue_due").asc(nulls_last=True), "-balance", "name"
            )
        return queryset


class InvoiceDrillFilter(django_filters.FilterSet):
    """The ageing drill-down: bucket, search, sort."""

    bucket = django_filters.ChoiceFilter(
        label=_("Bucket"),
        # Labels worded per request, in the reader's language.
        choices=[(bucket, lazy(bucket_label, str)(bucket)) for bucket in BUCKETS],
        method="keep",
        empty_label=_("All buckets"),
    )
    q = django_filters.CharFilter(label=_("Search"), method="search")
    order = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(
            ("due_date", "due"),
            ("open_amount", "open"),
            ("number", "number"),
            ("customer__name", "customer"),
        ),
        field_labels={
            "due_date": _("Due date"),
            "open_amount": _("Open amount"),
            "number": _("Number"),
            "customer__name": _("Customer"),
        },
    )

    class Meta:
        model = Invoice
        fields: list[str] = []

    def keep(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The bucket is applied by the selector, which knows the as-of date.
        return queryset

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(customer__code__icontains=value)
            | Q(customer__name__icontains=value)
        )


class InstalmentDrillFilter(django_filters.FilterSet):
    """The ageing drill-down's instalments: the same search as the invoices (sorted with them)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = AgreementInstalment
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(label_base__icontains=value)
            | Q(agreement__number__icontains=value)
            | Q(agreement__customer__code__icontains=value)
            | Q(agreement__customer__name__icontains=value)
        )
