"""Statements on demand from the customer page, the schedule, and finance's retry desk."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404
from receivables.models import Customer
from statements.documents import XLSX_CONTENT_TYPE, statement_pdf, statement_xlsx
from statements.forms import StatementRequestForm, StatementScheduleForm
from statements.models import Statement, StatementSchedule
from statements.selectors import statement_list_attention, statement_of_account
from statements.services.runs import lease, statement_retry
from statements.services.schedules import statement_schedule_set


@require_GET
def statement_download(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The customer's statement for the period asked, as PDF or XLSX (the form when not valid)."""
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    form = StatementRequestForm(request.GET or None)
    if not form.is_valid():
        return render(
            request, "statements/statement_form.html", {"customer": customer, "form": form}
        )
    data = form.cleaned_data
    statement = statement_of_account(
        customer=customer, date_from=data["date_from"], date_to=data["date_to"]
    )
    language = data["language"] or None
    if data["format"] == "xlsx":
        content, content_type = (
            statement_xlsx(statement=statement, language=language),
            (XLSX_CONTENT_TYPE),
        )
    else:
        content, content_type = (
            statement_pdf(statement=statement, language=language),
            ("application/pdf"),
        )
    name = f"statement-{customer.code}-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{data["format"]}"'
    return response


@require_http_methods(["GET", "POST"])
def statement_schedule_edit(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """When the customer's finance contact receives the monthly statement."""
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    schedule = StatementSchedule.objects.filter(customer=customer).first() or StatementSchedule(
        customer=customer
    )
    form = StatementScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        statement_schedule_set(customer=customer, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Statement schedule saved."))
        return redirect(customer.get_absolute_url())
    return render(
        request, "statements/statement_schedule_form.html", {"customer": customer, "form": form}
    )


@require_GET
def statement_desk(request: HttpRequest) -> HttpResponse:
    """Statements that failed or are stuck in sending, for finance to send again."""
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied
    statements = list(statement_list_attention(user=request.user, stuck_after=lease())[:200])
    return render(request, "statements/statement_desk.html", {"statements": statements})


@require_POST
def statement_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a failed or stuck statement again now."""
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied
    statement = get_in_scope_or_404(
        Statement.objects.select_related("customer"), request.user, pk=pk
    )
    try:
        statement_retry(statement=statement, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The statement for %(customer)s is being sent again.")
            % {"customer": statement.customer.name},
        )
    return redirect("statements:statement_desk")
