"""Invoice pages: list, detail with proof of delivery and receipt, finance actions."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404, scope_for_user
from receivables.forms.invoices import (
    CreditNoteForm,
    DeliveryForm,
    InvoiceFilterForm,
    InvoiceForm,
    ReasonForm,
    ReceiptForm,
)
from receivables.models import Customer, Invoice
from receivables.selectors.balances import is_overdue
from receivables.selectors.invoices import (
    InvoiceFilters,
    invoice_allocations,
    invoice_credit_notes,
    invoice_currency_list,
    invoice_list,
)
from receivables.services.invoices import (
    credit_note_issue,
    invoice_cancel,
    invoice_confirm_receipt,
    invoice_issue,
    invoice_mark_delivered,
)
from receivables.views.customers import add_business_error

PAGE_SIZE = 50


def require_finance(request: HttpRequest) -> None:
    """Refuse anyone but finance (and admins): they record payments and confirm invoices."""
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied


def invoice_list_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = InvoiceFilterForm(
        request.GET or None, currencies=invoice_currency_list(user=request.user)
    )
    filters = InvoiceFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = InvoiceFilters(
            q=data["q"].strip(),
            status=data["status"],
            currency=data["currency"],
            overdue_on=today if data["overdue"] else None,
        )
    page = Paginator(invoice_list(user=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "receivables/invoice_list.html",
        {
            "form": form,
            "page": page,
            "invoices": list(page.object_list),
            "query": query.urlencode(),
            "today": today,
            "is_finance": has_role(request.user, Role.FINANCE),
        },
    )


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    return get_in_scope_or_404(
        Invoice.objects.select_related("customer", "customer__sales_rep", "created_by"),
        request.user,
        pk=pk,
    )


def _render_detail(
    request: HttpRequest, invoice: Invoice, *, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    is_finance = has_role(request.user, Role.FINANCE)
    today = timezone.localdate()
    context = {
        "invoice": invoice,
        "allocations": list(invoice_allocations(invoice=invoice)),
        "credit_notes": list(invoice_credit_notes(invoice=invoice)),
        "days_past_due": invoice.days_past_due(as_of=today),
        "is_overdue": invoice.status == Invoice.Status.OPEN
        and is_overdue(due_date=invoice.due_date, open_amount=invoice.outstanding, as_of=today),
        "is_finance": is_finance,
    }
    if is_finance and invoice.status != Invoice.Status.CANCELLED:
        now = timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)
        context |= {
            "delivery_form": forms_.get("delivery_form")
            or DeliveryForm(
                initial={
                    "method": invoice.delivery_method or Invoice.DeliveryMethod.COURIER,
                    "tracking_number": invoice.tracking_number,
                    "delivered_at": now,
                }
            ),
            "receipt_form": forms_.get("receipt_form")
            or ReceiptForm(initial={"confirmed_at": now}),
            "cancel_form": forms_.get("cancel_form") or ReasonForm(),
            "credit_note_form": forms_.get("credit_note_form")
            or CreditNoteForm(initial={"issue_date": today}),
        }
    return render(request, "receivables/invoice_detail.html", context, status=status)


def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _invoice(request, pk))


@require_http_methods(["GET", "POST"])
def invoice_create_view(request: HttpRequest) -> HttpResponse:
    require_finance(request)
    customers = scope_for_user(Customer.objects.select_related("sales_rep"), request.user)
    initial = {"issue_date": timezone.localdate()}
    customer_pk = request.GET.get("customer", "")
    chosen = customers.filter(pk=customer_pk).first() if customer_pk.isdigit() else None
    if chosen is not None:
        initial |= {"customer": chosen, "currency": chosen.currency}
    form = InvoiceForm(request.POST or None, customers=customers, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice = invoice_issue(
                customer=data["customer"],
                number=data["number"],
                issue_date=data["issue_date"],
                due_date=data["due_date"],
                amount=data["amount"],
                currency=data["currency"],
                actor=request.user,
                credit_override_reason=data["credit_override_reason"],
                contract_number=data["contract_number"],
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request, gettext("Invoice %(number)s issued.") % {"number": invoice.number}
            )
            return redirect(invoice)
    return render(request, "receivables/invoice_form.html", {"form": form})


@require_POST
def invoice_deliver_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    require_finance(request)
    form = DeliveryForm(request.POST)
    if form.is_valid():
        try:
            invoice_mark_delivered(
                invoice=invoice,
                method=form.cleaned_data["method"],
                tracking_number=form.cleaned_data["tracking_number"],
                delivered_at=form.cleaned_data["delivered_at"],
                actor=request.user,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Delivery recorded."))
            return redirect(invoice)
    return _render_detail(request, invoice, status=400, delivery_form=form)


@require_POST
def invoice_confirm_receipt_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    require_finance(request)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        try:
            invoice_confirm_receipt(
                invoice=invoice,
                confirmed_by=form.cleaned_data["confirmed_by"],
                confirmed_at=form.cleaned_data["confirmed_at"],
                actor=request.user,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Confirmation of receipt recorded."))
            return redirect(invoice)
    return _render_detail(request, invoice, status=400, receipt_form=form)


@require_POST
def invoice_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    require_finance(request)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            invoice_cancel(invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user)
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request, gettext("Invoice %(number)s cancelled.") % {"number": invoice.number}
            )
            return redirect(invoice)
    return _render_detail(request, invoice, status=400, cancel_form=form)


@require_POST
def credit_note_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    require_finance(request)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            credit_note = credit_note_issue(
                invoice=invoice,
                number=form.cleaned_data["number"],
                amount=form.cleaned_data["amount"],
                issue_date=form.cleaned_data["issue_date"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext("Credit note %(number)s issued.") % {"number": credit_note.number},
            )
            return redirect(invoice)
    return _render_detail(request, invoice, status=400, credit_note_form=form)
