"""Decisions by others than the rep: managers on supplementary agreements, finance on disputes."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contracts.models import SupplementaryAgreement
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dunning.forms import DecisionForm, DisputeAcceptForm, DisputeRejectForm, add_business_error
from dunning.models import Dispute
from dunning.selectors import (
    agreement_get,
    agreement_list_pending,
    dispute_get,
    dispute_list_open,
)
from dunning.services.agreements import agreement_approve, agreement_reject
from dunning.services.disputes import dispute_reject, dispute_resolve_valid
from dunning.views._common import business_date, require_roles

# --- Supplementary agreements (managers) -------------------------------------


def agreement_queue(request: HttpRequest) -> HttpResponse:
    require_roles(request, Role.MANAGER)
    agreements = list(agreement_list_pending())
    return render(request, "dunning/agreement_list.html", {"agreements": agreements})


def _agreement_page(
    request: HttpRequest,
    agreement: SupplementaryAgreement,
    *,
    decision_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_decide = (
        has_role(request.user, Role.MANAGER)
        and agreement.status == SupplementaryAgreement.Status.PROPOSED
        and agreement.proposed_by_id != request.user.pk
    )
    instalments = list(agreement.instalments.all())
    return render(
        request,
        "dunning/agreement_detail.html",
        {
            "agreement": agreement,
            "invoices": list(agreement.invoices.all()),
            "instalments": instalments,
            "plan_total": sum((item.amount for item in instalments), 0),
            "may_decide": may_decide,
            "is_proposer": agreement.proposed_by_id == request.user.pk,
            "decision_form": decision_form or DecisionForm(),
        },
        status=status,
    )


def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = agreement_get(user=request.user, pk=pk)
    return _agreement_page(request, agreement)


def _agreement_decide(request: HttpRequest, pk: int, *, approve: bool) -> HttpResponse:
    agreement = agreement_get(user=request.user, pk=pk)
    require_roles(request, Role.MANAGER)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            if approve:
                agreement_approve(
                    agreement=agreement,
                    actor=request.user,
                    as_of=business_date(),
                    comment=form.cleaned_data["comment"],
                )
            else:
                agreement_reject(
                    agreement=agreement, actor=request.user, comment=form.cleaned_data["comment"]
                )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                (
                    _("Agreement %(number)s approved: the ladder now runs on its instalments.")
                    if approve
                    else _("Agreement %(number)s rejected.")
                )
                % {"number": agreement.number},
            )
            return redirect("dunning:agreement_queue")
    return _agreement_page(request, agreement, decision_form=form, status=400)


@require_POST
def agreement_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _agreement_decide(request, pk, approve=True)


@require_POST
def agreement_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _agreement_decide(request, pk, approve=False)


# --- Disputes (finance) ------------------------------------------------------


def dispute_list(request: HttpRequest) -> HttpResponse:
    require_roles(request, Role.FINANCE)
    return render(request, "dunning/dispute_list.html", {"disputes": list(dispute_list_open())})


def _dispute_page(
    request: HttpRequest,
    dispute: Dispute,
    *,
    accept_form: DisputeAcceptForm | None = None,
    reject_form: DisputeRejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    invoices = list(dispute.invoices.all())
    return render(
        request,
        "dunning/dispute_detail.html",
        {
            "dispute": dispute,
            "invoices": invoices,
            "may_resolve": has_role(request.user, Role.FINANCE)
            and dispute.status == Dispute.Status.OPEN,
            "accept_form": accept_form or DisputeAcceptForm(invoices=invoices),
            "reject_form": reject_form or DisputeRejectForm(),
        },
        status=status,
    )


def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _dispute_page(request, dispute_get(user=request.user, pk=pk))


@require_POST
def dispute_accept(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = dispute_get(user=request.user, pk=pk)
    require_roles(request, Role.FINANCE)
    form = DisputeAcceptForm(request.POST, invoices=list(dispute.invoices.all()))
    if form.is_valid():
        try:
            dispute_resolve_valid(
                dispute=dispute,
                note=form.cleaned_data["note"],
                credits=form.credits(),
                credit_note_number=form.cleaned_data["credit_note_number"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Dispute accepted."))
            return redirect("dunning:dispute_list")
    return _dispute_page(request, dispute, accept_form=form, status=400)


@require_POST
def dispute_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = dispute_get(user=request.user, pk=pk)
    require_roles(request, Role.FINANCE)
    form = DisputeRejectForm(request.POST)
    if form.is_valid():
        try:
            dispute_reject(
                dispute=dispute,
                evidence=form.cleaned_data["evidence"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Dispute rejected: dunning of its invoices resumes."))
            return redirect("dunning:dispute_list")
    return _dispute_page(request, dispute, reject_form=form, status=400)
