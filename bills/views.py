"""Acceptance bill pages: list, receive (finance), detail, and the four transitions (finance)."""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from bills.forms import BillReceiveForm, CollectForm, DiscountForm, DishonourForm, EndorseForm
from bills.models import AcceptanceBill
from bills.selectors.bills import (
    MATURITY_WINDOWS,
    acceptance_bill_allocations,
    acceptance_bill_get,
    acceptance_bill_list,
)
from bills.services.bills import (
    BillInput,
    acceptance_bill_collect,
    acceptance_bill_discount,
    acceptance_bill_dishonour,
    acceptance_bill_endorse,
    acceptance_bill_receive,
)
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404, scope_for_user
from receivables.models import Customer
from receivables.selectors.invoices import customer_open_invoices
from receivables.views.customers import add_business_error
from receivables.views.invoices import PAGE_SIZE, require_finance

DISHONOURABLE = (
    AcceptanceBill.Status.HELD,
    AcceptanceBill.Status.ENDORSED,
    AcceptanceBill.Status.DISCOUNTED,
)
WINDOW_CODES = [code for code, _first, _last in MATURITY_WINDOWS]


def bill_list_view(request: HttpRequest) -> HttpResponse:
    """The bills in scope, by maturity; filter by status or by a maturity window of held bills."""
    today = timezone.localdate()
    status = request.GET.get("status", "")
    status = status if status in AcceptanceBill.Status.values else ""
    window = request.GET.get("window", "")
    window = window if window in WINDOW_CODES else ""
    customer_pk = request.GET.get("customer", "")
    customer = (
        get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
        if customer_pk.isdigit()
        else None
    )
    bills = acceptance_bill_list(
        user=request.user, status=status, window=window, as_of=today, customer=customer
    )
    page = Paginator(bills, PAGE_SIZE).get_page(request.GET.get("page"))
    query = QueryDict(mutable=True)
    for name, value in (("status", status), ("window", window), ("customer", customer_pk)):
        if value:
            query[name] = value
    return render(
        request,
        "bills/acceptancebill_list.html",
        {
            "page": page,
            "bills": list(page.object_list),
            "status": status,
            "window": window,
            "customer": customer,
            "statuses": AcceptanceBill.Status.choices,
            "windows": WINDOW_CODES,
            "query": query.urlencode(),
            "today": today,
            "is_finance": has_role(request.user, Role.FINANCE),
        },
    )


@require_http_methods(["GET", "POST"])
def bill_receive_view(request: HttpRequest) -> HttpResponse:
    """Finance records a bill received from a customer and the invoices it pays."""
    require_finance(request)
    customers = scope_for_user(Customer.objects.order_by("code"), request.user)
    customer_pk = request.GET.get("customer", "")
    if not customer_pk.isdigit():
        return render(
            request,
            "bills/acceptancebill_form.html",
            {"customers": list(customers.only("pk", "code", "name"))},
        )
    customer = get_in_scope_or_404(customers, request.user, pk=customer_pk)
    invoices = list(customer_open_invoices(customer=customer))
    form = BillReceiveForm(
        request.POST or None,
        invoices=invoices,
        initial={"received_on": timezone.localdate(), "currency": customer.currency},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bill = acceptance_bill_receive(
                customer=customer,
                bill=BillInput(
                    number=data["number"],
                    kind=data["kind"],
                    acceptor=data["acceptor"],
                    drawer=data["drawer"],
                    issue_date=data["issue_date"],
                    maturity_date=data["maturity_date"],
                    face_amount=data["face_amount"],
                    currency=data["currency"],
                ),
                received_on=data["received_on"],
                actor=request.user,
                allocations=form.allocations(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext("Bill %(number)s recorded; the invoices it pays are settled.")
                % {"number": bill.number},
            )
            return redirect(bill)
    return render(
        request,
        "bills/acceptancebill_form.html",
        {"customer": customer, "form": form},
        status=400 if form.is_bound else 200,
    )


def _render_detail(
    request: HttpRequest,
    bill: AcceptanceBill,
    *,
    status: int = 200,
    bound: forms.Form | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    context: dict[str, object] = {
        "bill": bill,
        "allocations": list(acceptance_bill_allocations(bill=bill)),
        "today": today,
        "days_to_maturity": bill.days_to_maturity(as_of=today),
        "is_finance": has_role(request.user, Role.FINANCE),
    }
    if context["is_finance"]:
        forms_by_name = {}
        if bill.status == AcceptanceBill.Status.HELD:
            forms_by_name = {
                "endorse_form": EndorseForm(initial={"endorsed_on": today}),
                "discount_form": DiscountForm(initial={"discounted_on": today}),
                "collect_form": CollectForm(initial={"collected_on": today}),
            }
        # An endorsed or discounted bill can still come back with recourse.
        if bill.status in DISHONOURABLE:
            forms_by_name["dishonour_form"] = DishonourForm(initial={"dishonoured_on": today})
        if bound is not None:
            forms_by_name[bound.context_name] = bound
        context.update(forms_by_name)
    return render(request, "bills/acceptancebill_detail.html", context, status=status)


def bill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, acceptance_bill_get(user=request.user, pk=pk))


def _transition(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[forms.Form],
    context_name: str,
    act: Callable[[AcceptanceBill, dict], AcceptanceBill],
    done: str,
) -> HttpResponse:
    bill = acceptance_bill_get(user=request.user, pk=pk)
    require_finance(request)
    form = form_class(request.POST)
    form.context_name = context_name
    if form.is_valid():
        try:
            act(bill, form.cleaned_data)
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, done % {"number": bill.number})
            return redirect(bill)
    bill.refresh_from_db()
    return _render_detail(request, bill, status=400, bound=form)


@require_POST
def bill_endorse_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        form_class=EndorseForm,
        context_name="endorse_form",
        act=lambda bill, data: acceptance_bill_endorse(
            bill=bill,
            endorsee=data["endorsee"],
            endorsed_on=data["endorsed_on"],
            actor=request.user,
        ),
        done=gettext("Bill %(number)s endorsed."),
    )


@require_POST
def bill_discount_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        form_class=DiscountForm,
        context_name="discount_form",
        act=lambda bill, data: acceptance_bill_discount(
            bill=bill,
            discounted_on=data["discounted_on"],
            discount_amount=data["discount_amount"],
            actor=request.user,
        ),
        done=gettext("Bill %(number)s discounted."),
    )


@require_POST
def bill_collect_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        form_class=CollectForm,
        context_name="collect_form",
        act=lambda bill, data: acceptance_bill_collect(
            bill=bill, collected_on=data["collected_on"], actor=request.user
        ),
        done=gettext("Bill %(number)s collected."),
    )


@require_POST
def bill_dishonour_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        form_class=DishonourForm,
        context_name="dishonour_form",
        act=lambda bill, data: acceptance_bill_dishonour(
            bill=bill,
            dishonoured_on=data["dishonoured_on"],
            reason=data["dishonour_reason"],
            actor=request.user,
        ),
        done=gettext("Bill %(number)s dishonoured; the invoices it paid are open again."),
    )
