"""Customer and contact pages: validate, call a service, message, redirect."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404
from receivables.forms.customers import ContactForm, CustomerForm, ReasonForm
from receivables.models import Contact, Customer
from receivables.selectors.ageing import customers_with_ageing_today
from receivables.selectors.credit import (
    credit_assessment_list_for_customer,
    credit_hold_event_list,
    credit_override_list,
    customer_credit_position,
    customers_with_credit_position,
)
from receivables.selectors.customers import contact_list, customer_history, customer_list
from receivables.selectors.invoices import customers_with_balance
from receivables.services.customers import (
    CUSTOMER_EDITABLE_FIELDS,
    contact_create,
    contact_delete,
    contact_update,
    customer_create,
    customer_update,
)

CUSTOMERS_PER_PAGE = 50


def add_business_error(form: forms.Form, error: BusinessRuleError) -> None:
    """Show a refusal of a service on the form, beside its field when it has one."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _may_manage_customers(request: HttpRequest) -> bool:
    return has_role(request.user, Role.SALES_REP, Role.FINANCE, Role.MANAGER)


def customer_list_view(request: HttpRequest) -> HttpResponse:
    """The customers in scope, a page at a time."""
    page = Paginator(customer_list(user=request.user), CUSTOMERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "receivables/customer_list.html",
        {
            "customers": page.object_list,
            "page": page,
            "can_create": _may_manage_customers(request),
        },
    )


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The credit panel's and the balance panel's figures come with the customer.
    customer = get_in_scope_or_404(
        customers_with_ageing_today(
            customers_with_balance(customers_with_credit_position(Customer.objects.all())),
            today=timezone.localdate(),
        ).select_related("sales_rep"),
        request.user,
        pk=pk,
    )
    contacts = list(contact_list(customer=customer))
    assessments = list(credit_assessment_list_for_customer(customer=customer))
    is_finance = has_role(request.user, Role.FINANCE)
    # Read once for the credit panel and the history alike.
    hold_events = list(credit_hold_event_list(customer=customer))
    overrides = list(credit_override_list(customer=customer))
    return render(
        request,
        "receivables/customer_detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "has_finance_contact": any(c.role == Contact.Role.FINANCE for c in contacts),
            "position": customer_credit_position(customer=customer),
            "assessments": assessments,
            "open_assessment": next((a for a in assessments if a.is_open), None),
            "can_assess": _may_manage_customers(request),
            "hold_event": hold_events[0] if hold_events else None,
            "overrides": overrides[:20],
            "history": customer_history(
                customer=customer, hold_events=hold_events, overrides=overrides
            ),
            "is_finance": is_finance,
            "reason_form": ReasonForm() if is_finance else None,
        },
    )


@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    if not _may_manage_customers(request):
        raise PermissionDenied
    can_assign_rep = has_role(request.user, Role.FINANCE, Role.MANAGER)
    form = CustomerForm(request.POST or None, can_assign_rep=can_assign_rep)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields}
        try:
            customer = customer_create(actor=request.user, **data)
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext("Customer %(code)s created. Add its finance contact and assess its credit.")
                % {"code": customer.code},
            )
            return redirect(customer)
    return render(request, "receivables/customer_form.html", {"form": form, "customer": None})


@require_http_methods(["GET", "POST"])
def customer_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=pk)
    if not _may_manage_customers(request):
        raise PermissionDenied
    can_assign_rep = has_role(request.user, Role.FINANCE, Role.MANAGER)
    form = CustomerForm(request.POST or None, instance=customer, can_assign_rep=can_assign_rep)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in CUSTOMER_EDITABLE_FIELDS}
        try:
            customer_update(
                actor=request.user,
                customer=Customer.objects.get(pk=pk),
                sales_rep=form.cleaned_data.get("sales_rep"),
                **fields,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Customer saved."))
            return redirect("receivables:customer_detail", pk=pk)
    return render(request, "receivables/customer_form.html", {"form": form, "customer": customer})


@require_http_methods(["GET", "POST"])
def contact_create_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    initial = {}
    if request.GET.get("role") in Contact.Role.values:
        initial["role"] = request.GET["role"]
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact_create(actor=request.user, customer=customer, **form.cleaned_data)
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Contact added."))
            return redirect(customer)
    return render(
        request,
        "receivables/contact_form.html",
        {"form": form, "customer": customer, "contact": None},
    )


@require_http_methods(["GET", "POST"])
def contact_update_view(request: HttpRequest, customer_pk: int, pk: int) -> HttpResponse:
    contact = get_in_scope_or_404(
        Contact.objects.select_related("customer"), request.user, pk=pk, customer_id=customer_pk
    )
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(
                actor=request.user, contact=Contact.objects.get(pk=pk), **form.cleaned_data
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, gettext("Contact saved."))
            return redirect(contact.customer)
    return render(
        request,
        "receivables/contact_form.html",
        {"form": form, "customer": contact.customer, "contact": contact},
    )


@require_http_methods(["GET", "POST"])
def contact_delete_view(request: HttpRequest, customer_pk: int, pk: int) -> HttpResponse:
    contact = get_in_scope_or_404(
        Contact.objects.select_related("customer"), request.user, pk=pk, customer_id=customer_pk
    )
    if request.method == "POST":
        try:
            contact_delete(actor=request.user, contact=contact)
        except BusinessRuleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, gettext("Contact %(name)s removed.") % {"name": contact.name})
        return redirect(contact.customer)
    return render(
        request,
        "receivables/contact_confirm_delete.html",
        {"contact": contact, "customer": contact.customer},
    )
