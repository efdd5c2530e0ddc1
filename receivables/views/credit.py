"""Credit pages: the scorecard, its workflow, the finance queue, holds."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404
from receivables.forms.credit import (
    CreditApprovalForm,
    CreditAssessmentForm,
    CreditRejectionForm,
)
from receivables.forms.customers import ReasonForm
from receivables.models import CreditAssessment, Customer
from receivables.selectors.credit import (
    credit_assessment_list_pending,
    credit_grade_list,
    credit_policy_get,
    customer_credit_position,
)
from receivables.services.credit import (
    credit_assessment_approve,
    credit_assessment_create,
    credit_assessment_reject,
    credit_assessment_submit,
    credit_assessment_update,
    customer_hold,
    customer_release,
)
from receivables.views.customers import add_business_error

SUBMIT_ACTION = "submit"


def _assessment_in_scope(request: HttpRequest, pk: int) -> CreditAssessment:
    return get_in_scope_or_404(
        CreditAssessment.objects.select_related(
            "customer", "customer__sales_rep", "requested_by", "decided_by"
        ),
        request.user,
        pk=pk,
    )


def _form_page(
    request: HttpRequest,
    *,
    form: CreditAssessmentForm,
    customer: Customer,
    assessment: CreditAssessment | None,
) -> HttpResponse:
    return render(
        request,
        "receivables/credit_assessment_form.html",
        {
            "form": form,
            "customer": customer,
            "assessment": assessment,
            "grades": credit_grade_list(),
            "policy": credit_policy_get(),
        },
    )


def _saved_message(request: HttpRequest, assessment: CreditAssessment) -> None:
    if assessment.status == CreditAssessment.Status.SUBMITTED:
        messages.success(
            request,
            gettext("Credit assessment #%(number)s submitted to finance for approval.")
            % {"number": assessment.pk},
        )
    else:
        messages.success(
            request,
            gettext("Draft #%(number)s saved. Submit it when it is complete.")
            % {"number": assessment.pk},
        )


@require_http_methods(["GET", "POST"])
def credit_assessment_create_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    form = CreditAssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = credit_assessment_create(
                actor=request.user,
                customer=customer,
                data=form.to_input(),
                submit=request.POST.get("action") == SUBMIT_ACTION,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            _saved_message(request, assessment)
            return redirect(assessment)
    return _form_page(request, form=form, customer=customer, assessment=None)


@require_http_methods(["GET", "POST"])
def credit_assessment_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _assessment_in_scope(request, pk)
    if assessment.status != CreditAssessment.Status.DRAFT:
        messages.error(request, gettext("Only a draft can be changed."))
        return redirect(assessment)
    form = CreditAssessmentForm(request.POST or None, instance=assessment)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = credit_assessment_update(
                actor=request.user,
                assessment=assessment,
                data=form.to_input(),
                submit=request.POST.get("action") == SUBMIT_ACTION,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            _saved_message(request, assessment)
            return redirect(assessment)
    return _form_page(request, form=form, customer=assessment.customer, assessment=assessment)


def _detail_page(
    request: HttpRequest,
    assessment: CreditAssessment,
    *,
    approval_form: CreditApprovalForm | None = None,
    rejection_form: CreditRejectionForm | None = None,
) -> HttpResponse:
    can_decide = (
        assessment.status == CreditAssessment.Status.SUBMITTED
        and has_role(request.user, Role.FINANCE)
        and assessment.requested_by_id != request.user.pk
    )
    if can_decide and approval_form is None:
        approval_form = CreditApprovalForm(
            initial={
                "approved_limit": min(assessment.requested_limit, assessment.recommended_limit),
                "approved_terms_days": min(
                    assessment.requested_terms_days, assessment.recommended_terms_days
                ),
            }
        )
    if can_decide and rejection_form is None:
        rejection_form = CreditRejectionForm()
    return render(
        request,
        "receivables/credit_assessment_detail.html",
        {
            "assessment": assessment,
            "customer": assessment.customer,
            "position": customer_credit_position(customer=assessment.customer),
            "can_edit": assessment.status == CreditAssessment.Status.DRAFT
            and assessment.requested_by_id == request.user.pk,
            "can_decide": can_decide,
            "is_own_request": assessment.requested_by_id == request.user.pk,
            "approval_form": approval_form if can_decide else None,
            "rejection_form": rejection_form if can_decide else None,
        },
    )


def credit_assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _assessment_in_scope(request, pk))


@require_POST
def credit_assessment_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _assessment_in_scope(request, pk)
    try:
        assessment = credit_assessment_submit(actor=request.user, assessment=assessment)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        _saved_message(request, assessment)
    return redirect(assessment)


@require_POST
def credit_assessment_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _assessment_in_scope(request, pk)
    form = CreditApprovalForm(request.POST)
    if form.is_valid():
        try:
            credit_assessment_approve(
                actor=request.user, assessment=assessment, **form.cleaned_data
            )
        except BusinessRuleError as error:
            if error.field not in form.fields:
                messages.error(request, error.message)
                return redirect(assessment)
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext(
                    "Approved: %(customer)s now has a limit of %(limit)s %(currency)s "
                    "and %(days)s days' terms."
                )
                % {
                    "customer": assessment.customer.code,
                    "limit": f"{form.cleaned_data['approved_limit']:,.2f}",
                    "currency": assessment.currency,
                    "days": form.cleaned_data["approved_terms_days"],
                },
            )
            return redirect("receivables:credit_assessment_queue")
    if not has_role(request.user, Role.FINANCE):
        messages.error(request, gettext("Only finance can approve or reject credit assessments."))
        return redirect(assessment)
    return _detail_page(request, assessment, approval_form=form)


@require_POST
def credit_assessment_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _assessment_in_scope(request, pk)
    form = CreditRejectionForm(request.POST)
    if form.is_valid():
        try:
            credit_assessment_reject(
                actor=request.user, assessment=assessment, comment=form.cleaned_data["comment"]
            )
        except BusinessRuleError as error:
            if error.field not in form.fields:
                messages.error(request, error.message)
                return redirect(assessment)
            add_business_error(form, error)
        else:
            messages.success(
                request,
                gettext("Credit assessment #%(number)s rejected.") % {"number": assessment.pk},
            )
            return redirect("receivables:credit_assessment_queue")
    if not has_role(request.user, Role.FINANCE):
        messages.error(request, gettext("Only finance can approve or reject credit assessments."))
        return redirect(assessment)
    return _detail_page(request, assessment, rejection_form=form)


def credit_assessment_queue(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied
    return render(
        request,
        "receivables/credit_assessment_queue.html",
        {"assessments": credit_assessment_list_pending()},
    )


@require_POST
def customer_hold_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Write the reason for the hold."))
        return redirect(customer)
    try:
        event = customer_hold(
            customer=customer, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        if event is None:
            messages.info(
                request, gettext("%(code)s is already on hold.") % {"code": customer.code}
            )
        else:
            messages.success(
                request, gettext("%(code)s is on credit hold.") % {"code": customer.code}
            )
    return redirect(customer)


@require_POST
def customer_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Write the reason for the release."))
        return redirect(customer)
    try:
        event = customer_release(
            customer=customer, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        if event is None:
            messages.info(request, gettext("%(code)s is not on hold.") % {"code": customer.code})
        else:
            messages.success(
                request, gettext("%(code)s: credit hold released.") % {"code": customer.code}
            )
    return redirect(customer)
