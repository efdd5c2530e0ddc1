"""The daily pages: the rep's worklist, the manager's dashboard and drill-down, finance's desk.

Views are thin: read the filters, call selectors, render. Every number is
read in the user's scope; pages that belong to a role answer 403 to others.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from banking.selectors.dashboard import cash_application_figures
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dashboards.charts import Bar, Point, bar_chart, line_chart
from dashboards.exports import FORMATS, table_response
from dashboards.filters import DashboardFilterForm, default_currency
from dashboards.selectors.common import DashboardFilters
from dashboards.selectors.finance import (
    UNALLOCATED_WINDOW_DAYS,
    finance_desk,
    queue_first_rows,
)
from dashboards.selectors.kpis import (
    ageing_and_receivables,
    ageing_for_dashboard,
    agreements_pending,
    kpi_trend,
    overdue_overview,
    promise_stats,
)
from dashboards.selectors.worklist import rep_totals, todays_tasks
from dashboards.tables import (
    TABLES,
    TableRequest,
    drilldown_bucket,
    drilldown_rows,
    worklist_filter,
)
from dunning.selectors import communication_get
from dunning.services.delivery import (
    communication_mark_handled,
    communication_retry,
    communication_send_now,
)
from receivables.selectors.ageing import BUCKETS, ageing_currencies
from statements.selectors import statement_list_attention

CUSTOMERS_PER_PAGE = 25
INVOICES_PER_PAGE = 50
# Which tables each role may export (a rep exports only their own lists).
REP_TABLES = frozenset({"customers", "ageing", "ageing_invoices"})


def _is_dashboard_user(request: HttpRequest) -> bool:
    return has_role(request.user, Role.MANAGER, Role.FINANCE)


DESK_STATEMENTS = 10


def _require(request: HttpRequest, *roles: Role) -> None:
    if not has_role(request.user, *roles):
        raise PermissionDenied


def _filters(request: HttpRequest) -> tuple[DashboardFilterForm, DashboardFilters]:
    """The KPI filters of the request: business date (today at most), currency, rep."""
    today = timezone.localdate()
    currencies = ageing_currencies(user=request.user) or [default_currency([])]
    form = DashboardFilterForm(
        request.GET or None,
        currencies=currencies,
        may_pick_rep=_is_dashboard_user(request),
        initial={"as_of": today, "currency": default_currency(currencies)},
    )
    filters = form.dashboard_filters(today=today, default_currency=default_currency(currencies))
    return form, filters


def _paginate(request: HttpRequest, queryset, per_page: int) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _export_links(name: str, request: HttpRequest, **extra: str) -> list[tuple[str, str]]:
    """Links to download a table in each format, with the page's filters."""
    params = request.GET.copy()
    params.pop("page", None)
    params.update({"table": name, **extra})
    links = []
    for file_format in FORMATS:
        params["format"] = file_format
        links.append((file_format.upper(), f"{reverse('dashboards:export')}?{params.urlencode()}"))
    return links


def _drill_url(filters: DashboardFilters, bucket: str | None = None) -> str:
    params = {"as_of": filters.as_of.isoformat(), "currency": filters.currency}
    if filters.rep_id:
        params["rep"] = filters.rep_id
    if bucket:
        params["bucket"] = bucket
    return f"{reverse('dashboards:ageing_invoices')}?{urlencode(params)}"


def _money(value) -> str:
    return f"{value:,.2f}"


def ageing_chart(report, filters: DashboardFilters, *, title: str) -> str:
    """The ageing buckets as bars, each linking to its invoices."""
    return bar_chart(
        [
            Bar(
                label=_("Not due") if bucket == "current" else bucket,
                value=report.totals[bucket],
                href=_drill_url(filters, bucket),
                tone="" if bucket == "current" else "danger",
            )
            for bucket in BUCKETS
        ],
        title=title,
        value_format=_money,
    )


# --- Home ----------------------------------------------------------------------


def role_home(request: HttpRequest) -> HttpResponse:
    """Each role's morning page: managers their dashboard, finance their desk, reps their list."""
    if has_role(request.user, Role.MANAGER):
        return redirect("dashboards:dashboard")
    if has_role(request.user, Role.FINANCE):
        return redirect("dashboards:finance_desk")
    return rep_home(request)


@require_GET
def rep_home(request: HttpRequest) -> HttpResponse:
    """My receivables: totals, today's tasks, my customers (filtered, sorted, paginated)."""
    today = timezone.localdate()
    table_request = TableRequest(
        user=request.user,
        filters=DashboardFilters(as_of=today, currency="", today=today),
        params=request.GET,
        today=today,
    )
    worklist = worklist_filter(table_request)
    page = _paginate(request, worklist.qs, CUSTOMERS_PER_PAGE)
    context = {
        "page": page,
        "worklist_form": worklist.form,
        "order": request.GET.get("order", ""),
        "today": today,
        "export_links": _export_links("customers", request),
    }
    if request.htmx and request.htmx.target == "worklist-customers":
        return render(request, "dashboards/_worklist_customers.html", context)
    currencies = ageing_currencies(user=request.user) or [default_currency([])]
    filters = DashboardFilters(as_of=today, currency=default_currency(currencies), today=today)
    ageing = ageing_for_dashboard(user=request.user, filters=filters)
    expanded = request.GET.get("tasks", "")
    tasks = todays_tasks(user=request.user, as_of=today, expand=expanded)
    context.update(
        {
            "totals": rep_totals(user=request.user, as_of=today),
            "tasks": tasks,
            "expanded_tasks": expanded,
            "idle_tasks": [task_list for task_list in tasks if not task_list.count],
            "ageing": ageing,
            "ageing_chart": ageing_chart(ageing, filters, title=_("My ageing")),
            "filters": filters,
            "is_sales_rep": not _is_dashboard_user(request),
        }
    )
    return render(request, "dashboards/rep_home.html", context)


# --- Manager dashboard --------------------------------------------------------


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The overdue dashboard: ageing, top overdue, DSO and CEI trends, ladder, promises, plans."""
    _require(request, Role.MANAGER, Role.FINANCE)
    form, filters = _filters(request)
    ageing, today = ageing_and_receivables(user=request.user, filters=filters)
    trend = kpi_trend(user=request.user, filters=filters, today=today)
    agreements = queue_first_rows(
        "agreements", agreements_pending(user=request.user, filters=filters), limit=10
    )
    overdue = overdue_overview(user=request.user, filters=filters)
    context = {
        "form": form,
        "filters": filters,
        "overdue_total": overdue.total,
        "ageing": ageing,
        "ageing_chart": ageing_chart(ageing, filters, title=_("Ageing by bucket")),
        "drill_urls": {bucket: _drill_url(filters, bucket) for bucket in BUCKETS},
        "drill_all_url": _drill_url(filters),
        "by_rep": overdue.by_rep,
        "by_customer": overdue.by_customer,
        "trend": trend,
        "latest": trend[-1],
        "trend_without_snapshot": [
            point.period.label
            for point in trend
            if point.live and point.period.end != filters.today
        ],
        "dso_chart": line_chart(
            [Point(point.period.label[2:], point.dso) for point in trend],
            title=_("DSO (days), countback method"),
        ),
        "cei_chart": line_chart(
            [Point(point.period.label[2:], point.cei) for point in trend],
            title=_("CEI (%)"),
            suffix="%",
        ),
        "ladder": overdue.ladder,
        "ladder_chart": bar_chart(
            [Bar(label=row.label, value=row.customers) for row in overdue.ladder],
            title=_("Customers by ladder level"),
        ),
        "promises": promise_stats(user=request.user, filters=filters),
        "cash_application": cash_application_figures(
            as_of=filters.as_of, currency=filters.currency
        ),
        "agreements": agreements.rows,
        "agreement_count": agreements.count,
        "exports": {
            name: _export_links(name, request)
            for name in (
                "ageing",
                "overdue_by_rep",
                "overdue_by_customer",
                "trend",
                "ladder",
                "promises",
                "agreements",
            )
        },
    }
    return render(request, "dashboards/dashboard.html", context)


@require_GET
def ageing_invoices(request: HttpRequest) -> HttpResponse:
    """Drill-down: the invoices of an ageing bucket as of the date, in scope."""
    form, filters = _filters(request)
    table_request = TableRequest(
        user=request.user, filters=filters, params=request.GET, today=timezone.localdate()
    )
    drill, rows = drilldown_rows(table_request)
    page = _paginate(request, rows, INVOICES_PER_PAGE)
    context = {
        "form": form,
        "drill_form": drill.form,
        "filters": filters,
        "bucket": drilldown_bucket(request.GET),
        "page": page,
        "order": request.GET.get("order", ""),
        "export_links": _export_links("ageing_invoices", request),
        "back_url": reverse("dashboards:dashboard" if _is_dashboard_user(request) else "core:home"),
    }
    if request.htmx and request.htmx.target == "drill-invoices":
        return render(request, "dashboards/_drill_invoices.html", context)
    return render(request, "dashboards/ageing_invoices.html", context)


# --- Finance desk ----------------------------------------------------------------


@require_GET
def finance_desk_view(request: HttpRequest) -> HttpResponse:
    """Finance's queues on one page: counts and the first rows, linking to the full pages."""
    _require(request, Role.FINANCE)
    today = timezone.localdate()
    statements = statement_list_attention(user=request.user)
    return render(
        request,
        "dashboards/finance_desk.html",
        {
            "queues": finance_desk(user=request.user, as_of=today),
            "statements_attention": list(statements[:DESK_STATEMENTS]),
            "statements_attention_count": statements.count(),
            "today": today,
            "unallocated_window_days": UNALLOCATED_WINDOW_DAYS,
        },
    )


@require_POST
def communication_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send an undelivered message again now."""
    _require(request, Role.FINANCE)
    communication = communication_get(user=request.user, pk=pk)
    try:
        communication_retry(communication=communication, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The %(level)s for %(customer)s is being sent again.")
            % {"level": communication.get_level_display(), "customer": communication.customer.name},
        )
    return redirect("dashboards:finance_desk")


@require_POST
def communication_send_now_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send an approved message now rather than at the next sweep."""
    _require(request, Role.FINANCE)
    communication = communication_get(user=request.user, pk=pk)
    try:
        communication_send_now(communication=communication, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The %(level)s for %(customer)s is being sent now.")
            % {"level": communication.get_level_display(), "customer": communication.customer.name},
        )
    return redirect("dashboards:finance_desk")


@require_POST
def communication_handled_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that an undelivered message was handled by phone, with what was said."""
    _require(request, Role.FINANCE)
    communication = communication_get(user=request.user, pk=pk)
    try:
        communication_mark_handled(
            communication=communication, actor=request.user, note=request.POST.get("note", "")
        )
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The %(level)s for %(customer)s is recorded as handled by phone.")
            % {"level": communication.get_level_display(), "customer": communication.customer.name},
        )
    return redirect("dashboards:finance_desk")


# --- Exports -------------------------------------------------------------------------


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """Any dashboard table as CSV or XLSX, with the filters of the page it came from."""
    name = request.GET.get("table", "")
    file_format = request.GET.get("format", "csv")
    if name not in TABLES or file_format not in FORMATS:
        raise Http404(_("No such table or format."))
    if name not in REP_TABLES:
        _require(request, Role.MANAGER, Role.FINANCE)
    _form, filters = _filters(request)
    table = TABLES[name](
        TableRequest(
            user=request.user, filters=filters, params=request.GET, today=timezone.localdate()
        )
    )
    return table_response(table, file_format=file_format)
