"""Payment pages: list, record (finance), detail, reverse and apply credit (finance)."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404, scope_for_user
from receivables.forms.payments import ApplyCreditForm, PaymentForm, ReversalForm
from receivables.models import Customer, Payment
from receivables.selectors.invoices import (
    customer_balance,
    customer_open_invoices,
    payment_allocations,
    payment_excess_credit,
    payment_list,
    payment_unallocated,
)
from receivables.services.payments import payment_apply_credit, payment_record, payment_reverse
from receivables.views.customers import add_business_error
from receivables.views.invoices import PAGE_SIZE, require_finance


def payment_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(payment_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "receivables/payment_list.html",
        {
            "page": page,
            "payments": list(page.object_list),
            "is_finance": has_role(request.user, Role.FINANCE),
        },
    )


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@require_http_methods(["GET", "POST"])
def payment_create_view(request: HttpRequest) -> HttpResponse:
    require_finance(request)
    customers = scope_for_user(Customer.objects.order_by("code"), request.user)
    customer_pk = request.GET.get("customer", "")
    if not customer_pk.isdigit():
        return render(
            request,
            "receivables/payment_form.html",
            {"customers": list(customers.only("pk", "code", "name"))},
        )
    customer = get_in_scope_or_404(
        customers.select_related("sales_rep"), request.user, pk=customer_pk
    )
    invoices = list(customer_open_invoices(customer=customer))
    form = PaymentForm(
        request.POST or None,
        invoices=invoices,
        initial={"payment_date": timezone.localdate(), "currency": customer.currency},
    )
    balance = customer_balance(customer=customer)
    confirm = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        excess = payment_excess_credit(
            balance=balance, amount=data["amount"], allocated=form.allocated_amount()
        )
        if excess is not None and not data["confirm_excess"]:
            confirm = True
            form.add_error(
                "amount",
                gettext(
                    "%(currency)s %(amount)s is more than %(factor)s times the open balance of "
                    "%(currency)s %(open)s: %(currency)s %(credit)s would be kept as customer "
                    "credit. Check the amount, or confirm below to record it."
                )
                % {
                    "currency": data["currency"],
                    "amount": f"{data['amount']:,.2f}",
                    "factor": settings.PAYMENT_CONFIRM_FACTOR,
                    "open": f"{balance.open_receivables:,.2f}",
                    "credit": f"{excess:,.2f}",
                },
            )
    if request.method == "POST" and not confirm and form.is_valid():
        data = form.cleaned_data
        try:
            payment = payment_record(
                customer=customer,
                payment_date=data["payment_date"],
                amount=data["amount"],
                currency=data["currency"],
                reference=data["reference"],
                actor=request.user,
                allocations=form.allocations(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            unallocated = payment_unallocated(payment=payment)
            messages.success(
                request,
                gettext(
                    "Payment of %(currency)s %(amount)s recorded: %(allocated)s allocated, "
                    "%(credit)s left as customer credit."
                )
                % {
                    "currency": payment.currency,
                    "amount": f"{payment.amount:,.2f}",
                    "allocated": f"{payment.amount - unallocated:,.2f}",
                    "credit": f"{unallocated:,.2f}",
                },
            )
            return redirect(_safe_next(request) or payment.get_absolute_url())
    return render(
        request,
        "receivables/payment_form.html",
        {
            "customer": customer,
            "form": form,
            "balance": balance,
            "confirm_excess": confirm or bool(form.data.get("confirm_excess")),
            "next": _safe_next(request) or "",
        },
    )


def _payment(request: HttpRequest, pk: int) -> Payment:
    return get_in_scope_or_404(
        Payment.objects.select_related("customer", "customer__sales_rep", "recorded_by"),
        request.user,
        pk=pk,
    )


def _render_detail(
    request: HttpRequest,
    payment: Payment,
    *,
    status: int = 200,
    reversal_form: ReversalForm | None = None,
    apply_form: ApplyCreditForm | None = None,
) -> HttpResponse:
    is_finance = has_role(request.user, Role.FINANCE)
    unallocated = payment_unallocated(payment=payment)
    context = {
        "payment": payment,
        "allocations": list(payment_allocations(payment=payment)),
        "unallocated": unallocated,
        "is_finance": is_finance,
    }
    if is_finance and payment.status == Payment.Status.POSTED:
        # A bill's payment is reversed by dishonouring the bill; a refused attempt still
        # shows why.
        if reversal_form is not None or payment.method != Payment.Method.ACCEPTANCE_BILL:
            context["reversal_form"] = reversal_form or ReversalForm()
        if unallocated > 0:
            invoices = list(
                customer_open_invoices(customer=payment.customer, currency=payment.currency)
            )
            if invoices:
                context["apply_form"] = apply_form or ApplyCreditForm(invoices=invoices)
    return render(request, "receivables/payment_detail.html", context, status=status)


def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _payment(request, pk))


@require_POST
def payment_reverse_view(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _payment(request, pk)
    require_finance(request)
    form = ReversalForm(request.POST)
    if form.is_valid():
        try:
            payment_reverse(payment=payment, reason=form.cleaned_data["reason"], actor=request.user)
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Payment reversed; its invoices are open again."))
            return redirect(payment)
    return _render_detail(request, payment, status=400, reversal_form=form)


@require_POST
def payment_apply_credit_view(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _payment(request, pk)
    require_finance(request)
    invoices = list(customer_open_invoices(customer=payment.customer, currency=payment.currency))
    form = ApplyCreditForm(request.POST, invoices=invoices)
    if form.is_valid():
        try:
            created = payment_apply_credit(
                payment=payment, actor=request.user, allocations=form.allocations()
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext("%(amount)s of credit applied to %(invoices)s.")
                % {
                    "amount": f"{sum(allocation.amount for allocation in created):,.2f}",
                    "invoices": ", ".join(allocation.invoice.number for allocation in created),
                },
            )
            return redirect(payment)
    return _render_detail(request, payment, status=400, apply_form=form)
