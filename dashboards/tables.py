"""Every table of the dashboards, as exportable rows built from the same selectors as the pages."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import CharField, DateField, F, IntegerField, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from dashboards.exports import Column, Table
from dashboards.filters import InstalmentDrillFilter, InvoiceDrillFilter, WorklistFilter
from dashboards.selectors.common import DashboardFilters, User
from dashboards.selectors.kpis import (
    RANK_LEVELS,
    OverdueRow,
    ageing_bucket_instalments,
    ageing_bucket_invoices,
    ageing_for_dashboard,
    agreements_pending,
    kpi_trend,
    ladder_distribution,
    overdue_by_customer,
    overdue_by_rep,
    promise_stats,
)
from dashboards.selectors.worklist import customer_worklist
from dunning.models import CollectionCase, LevelCode
from receivables.models import Customer
from receivables.selectors.ageing import BUCKETS
from receivables.selectors.balances import bucket_label


@dataclass(frozen=True)
class TableRequest:
    """What a table is built from: who asks, the KPI filters and the list's own parameters."""

    user: User
    filters: DashboardFilters
    params: QueryDict
    today: date


def worklist_filter(request: TableRequest) -> WorklistFilter:
    """The rep's customers, filtered and sorted as the page asks (`.qs`, `.form`)."""
    return WorklistFilter(
        request.params, queryset=customer_worklist(user=request.user, as_of=request.today)
    )


def drilldown_bucket(params: QueryDict) -> str | None:
    bucket = params.get("bucket") or None
    return bucket if bucket in BUCKETS else None


def drilldown_filter(request: TableRequest) -> InvoiceDrillFilter:
    """The ageing drill-down's invoices, filtered and sorted as the page asks."""
    invoices = ageing_bucket_invoices(
        user=request.user, filters=request.filters, bucket=drilldown_bucket(request.params)
    )
    return InvoiceDrillFilter(request.params, queryset=invoices)


@dataclass(frozen=True)
class DrillRow:
    """A line of the ageing drill-down: an invoice, or an instalment of an approved plan
    (`INVOICE#n`) that replaces its invoices' due dates."""

    number: str
    customer: Customer
    issue_date: date | None
    due_date: date
    amount: Decimal
    open_amount: Decimal
    invoice_id: int | None = None
    agreement_id: int | None = None

    @property
    def is_instalment(self) -> bool:
        return self.agreement_id is not None

    @property
    def invoice_url(self) -> str:
        return reverse("receivables:invoice_detail", kwargs={"pk": self.invoice_id})


# The drill-down's `order` values (django-filter's OrderingFilter params) as columns of the
# union below; every order ends with the due date and the number, as the chart lists them.
DRILL_ORDER = {"due": "line_due", "open": "line_open", "number": "line_number"}
DRILL_ORDER["customer"] = "line_customer_name"
DRILL_CHUNK = 500


class DrillLines:
    """The drill-down's lines as one SQL `UNION ALL` of invoices and instalments, sorted in
    the database: `count()` and a slice are one query each, plus one for the slice's
    customers, so a page costs the same whatever the size of the bucket."""

    def __init__(self, union: QuerySet) -> None:
        self.union = union

    def count(self) -> int:
        return self.union.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[DrillRow]:
        return self._rows(list(self.union[key]))

    def __iter__(self) -> Iterator[DrillRow]:
        chunk: list[dict] = []
        for values in self.union.iterator(chunk_size=DRILL_CHUNK):
            chunk.append(values)
            if len(chunk) == DRILL_CHUNK:
                yield from self._rows(chunk)
                chunk = []
        yield from self._rows(chunk)

    @staticmethod
    def _rows(lines: list[dict]) -> list[DrillRow]:
        customers = Customer.objects.select_related("sales_rep").in_bulk(
            {line["line_customer"] for line in lines}
        )
        return [
            DrillRow(
                number=line["line_number"],
                customer=customers[line["line_customer"]],
                issue_date=line["line_issue"],
                due_date=line["line_due"],
                amount=line["line_amount"],
                open_amount=line["line_open"],
                invoice_id=line["line_invoice"],
                agreement_id=line["line_agreement"],
            )
            for line in lines
        ]


def drilldown_rows(request: TableRequest) -> tuple[InvoiceDrillFilter, DrillLines]:
    """The drill-down's lines as the chart ages them: the invoices no approved plan replaces,
    and the open instalments of approved plans by their own due dates, searched together and
    sorted in SQL."""
    drill = drilldown_filter(request)
    instalments = InstalmentDrillFilter(
        request.params,
        queryset=ageing_bucket_instalments(
            user=request.user, filters=request.filters, bucket=drilldown_bucket(request.params)
        ),
    ).qs
    no_id = Value(None, output_field=IntegerField())
    invoice_lines = drill.qs.order_by().values(
        line_number=F("number"),
        line_customer=F("customer_id"),
        line_customer_name=F("customer__name"),
        line_issue=F("issue_date"),
        line_due=F("due_date"),
        line_amount=F("amount"),
        line_open=F("open_amount"),
        line_invoice=F("pk"),
        line_agreement=no_id,
    )
    instalment_lines = instalments.order_by().values(
        line_number=Concat(
            Coalesce("label_base", "agreement__number"),
            Value("#"),
            Cast("sequence", CharField()),
            output_field=CharField(),
        ),
        line_customer=F("agreement__customer_id"),
        line_customer_name=F("agreement__customer__name"),
        line_issue=Value(None, output_field=DateField()),
        line_due=F("due_date"),
        line_amount=F("amount"),
        line_open=F("open_amount"),
        line_invoice=no_id,
        line_agreement=F("agreement_id"),
    )
    cleaned = getattr(drill.form, "cleaned_data", {})
    order = [value for value in (cleaned.get("order") or []) if value]
    keys = [
        ("-" if value.startswith("-") else "") + DRILL_ORDER[value.lstrip("-")]
        for value in [*order, "due", "number"]
    ]
    union = invoice_lines.union(instalment_lines, all=True).order_by(*keys)
    return drill, DrillLines(union)


def _money_header(label: str, filters: DashboardFilters) -> str:
    return f"{label} ({filters.currency})"


def customers_table(request: TableRequest) -> Table:
    reasons = dict(CollectionCase.OverdueReason.choices)
    levels = dict(LevelCode.choices)
    rows = (
        (
            customer.code,
            customer.name,
            customer.sales_rep.get_username(),
            customer.currency,
            customer.balance,
            customer.overdue,
            (request.today - customer.oldest_overdue_due).days
            if customer.oldest_overdue_due
            else None,
            str(reasons.get(customer.case_reason, "")) if customer.case_id else "",
            str(levels.get(RANK_LEVELS.get(customer.rung), "")),
        )
        for customer in worklist_filter(request).qs.iterator(chunk_size=500)
    )
    return Table(
        name="customers",
        title=_("My customers"),
        columns=[
            Column(_("Code")),
            Column(_("Name")),
            Column(_("Sales rep")),
            Column(_("Currency")),
            Column(_("Balance"), "money"),
            Column(_("Overdue"), "money"),
            Column(_("Days overdue (oldest)"), "int"),
            Column(_("Case: overdue reason")),
            Column(_("Ladder level")),
        ],
        rows=rows,
    )


def ageing_table(request: TableRequest) -> Table:
    report = ageing_for_dashboard(user=request.user, filters=request.filters, per_customer=True)
    keys = (*BUCKETS, "total")
    rows = [(row.code, row.name, *(row.amounts[key] for key in keys)) for row in report.customers]
    rows.append((_("Total"), "", *(report.totals[key] for key in keys)))
    return Table(
        name=f"ageing-{request.filters.currency}-{request.filters.as_of}",
        title=_("Ageing"),
        columns=[
            Column(_("Code")),
            Column(_("Name")),
            *(
                Column(_money_header(bucket_label(key), request.filters), "money")
                for key in BUCKETS
            ),
            Column(_money_header(_("Total"), request.filters), "money"),
        ],
        rows=rows,
    )


def drilldown_table(request: TableRequest) -> Table:
    as_of = request.filters.as_of
    _drill, lines = drilldown_rows(request)
    rows = (
        (
            row.number,
            row.customer.code,
            row.customer.name,
            row.customer.sales_rep.get_username(),
            row.issue_date,
            row.due_date,
            max((as_of - row.due_date).days, 0),
            row.amount,
            row.open_amount,
        )
        for row in lines
    )
    bucket = drilldown_bucket(request.params) or "all"
    return Table(
        name=f"ageing-{bucket}-{request.filters.currency}-{as_of}",
        title=_("Ageing invoices"),
        columns=[
            Column(_("Invoice")),
            Column(_("Customer code")),
            Column(_("Customer")),
            Column(_("Sales rep")),
            Column(_("Issue date"), "date"),
            Column(_("Due date"), "date"),
            Column(_("Days past due"), "int"),
            Column(_money_header(_("Amount"), request.filters), "money"),
            Column(_money_header(_("Open"), request.filters), "money"),
        ],
        rows=rows,
    )


def overdue_rep_table(request: TableRequest) -> Table:
    rows = overdue_by_rep(user=request.user, filters=request.filters, limit=None)
    return _overdue_table(
        request,
        rows,
        name="overdue-by-rep",
        title=_("Overdue by rep"),
        labels=(_("Sales rep"), _("Details")),
    )


def overdue_customer_table(request: TableRequest) -> Table:
    rows = overdue_by_customer(user=request.user, filters=request.filters, limit=None)
    return _overdue_table(
        request,
        rows,
        name="overdue-by-customer",
        title=_("Overdue by customer"),
        labels=(_("Customer"), _("Sales rep")),
    )


def _overdue_table(
    request: TableRequest,
    rows: list[OverdueRow],
    *,
    name: str,
    title: str,
    labels: tuple[str, str],
) -> Table:
    """Overdue rows (by rep or by customer): label, detail, amount, count, oldest age."""
    label, detail = labels
    return Table(
        name=name,
        title=title,
        columns=[
            Column(label),
            Column(detail),
            Column(_money_header(_("Overdue"), request.filters), "money"),
            Column(_("Invoices"), "int"),
            Column(_("Days overdue (oldest)"), "int"),
        ],
        rows=[
            (
                row.label,
                row.detail,
                row.overdue,
                row.invoices,
                row.days_overdue(request.filters.as_of),
            )
            for row in rows
        ],
    )


def trend_table(request: TableRequest) -> Table:
    points = kpi_trend(user=request.user, filters=request.filters)
    return Table(
        name="dso-cei",
        title=_("DSO and CEI"),
        columns=[
            Column(_("Month")),
            Column(_("Period end"), "date"),
            Column(_money_header(_("Receivables at start"), request.filters), "money"),
            Column(_money_header(_("Credit sales"), request.filters), "money"),
            Column(_money_header(_("Collected"), request.filters), "money"),
            Column(_money_header(_("Receivables at end"), request.filters), "money"),
            Column(_money_header(_("Not yet due at end"), request.filters), "money"),
            Column(_("DSO (days)"), "percent"),
            Column(_("CEI (%)"), "percent"),
        ],
        rows=[
            (
                point.period.label,
                point.period.end,
                point.opening_receivables,
                point.sales,
                point.collected,
                point.receivables,
                point.current_receivables,
                point.dso,
                point.cei,
            )
            for point in points
        ],
    )


def ladder_table(request: TableRequest) -> Table:
    return Table(
        name="ladder",
        title=_("Customers by ladder level"),
        columns=[Column(_("Ladder level")), Column(_("Customers"), "int")],
        rows=[
            (row.label, row.customers)
            for row in ladder_distribution(user=request.user, filters=request.filters)
        ],
    )


def promises_table(request: TableRequest) -> Table:
    stats = promise_stats(user=request.user, filters=request.filters)
    return Table(
        name="promises",
        title=_("Promises to pay"),
        columns=[
            Column(_("Kept"), "int"),
            Column(_("Broken"), "int"),
            Column(_("Still open"), "int"),
            Column(_("Kept rate (%)"), "percent"),
            Column(_money_header(_("Kept amount"), request.filters), "money"),
            Column(_money_header(_("Broken amount"), request.filters), "money"),
        ],
        rows=[
            (
                stats.kept,
                stats.broken,
                stats.open,
                stats.kept_rate,
                stats.kept_amount,
                stats.broken_amount,
            )
        ],
    )


def agreements_table(request: TableRequest) -> Table:
    agreements = agreements_pending(user=request.user, filters=request.filters)
    return Table(
        name="agreements-waiting",
        title=_("Agreements waiting for approval"),
        columns=[
            Column(_("Number")),
            Column(_("Customer")),
            Column(_("Kind")),
            Column(_("Proposed by")),
            Column(_("Proposed on"), "date"),
            Column(_("Instalments"), "int"),
            Column(_("Amount"), "money"),
            Column(_("Reason")),
        ],
        rows=[
            (
                agreement.number,
                str(agreement.customer),
                agreement.get_kind_display(),
                agreement.proposed_by.get_username() if agreement.proposed_by else "",
                agreement.created_at.date(),
                len(agreement.instalments.all()),
                sum((item.amount for item in agreement.instalments.all()), Decimal("0.00")),
                agreement.reason,
            )
            for agreement in agreements
        ],
    )


TABLES: dict[str, Callable[[TableRequest], Table]] = {
    "customers": customers_table,
    "ageing": ageing_table,
    "ageing_invoices": drilldown_table,
    "overdue_by_rep": overdue_rep_table,
    "overdue_by_customer": overdue_customer_table,
    "trend": trend_table,
    "ladder": ladder_table,
    "promises": promises_table,
    "agreements": agreements_table,
}
