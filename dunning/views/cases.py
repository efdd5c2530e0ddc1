"""Collection cases: list, detail with timeline, and the rep's forms (reason, call, promise,
dispute, agreement proposal), plus the dunning pause for finance and managers."""

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404
from dunning.forms import (
    AgreementProposalForm,
    CallLogForm,
    CaseFilterForm,
    DisputeForm,
    DunningPauseForm,
    InstalmentFormSet,
    OverdueReasonForm,
    PromiseForm,
    add_business_error,
)
from dunning.models import CollectionCase, CollectionTask
from dunning.selectors import (
    case_task_list_open,
    collection_case_get,
    collection_case_list,
    customer_agreement_list,
    customer_communication_list,
    customer_dispute_list,
    customer_get,
    customer_overdue_items,
    customer_promise_list,
    customer_timeline,
    invoice_list_for_agreement,
    invoice_list_for_dispute,
    invoice_list_for_promise,
)
from dunning.services.agreements import agreement_propose
from dunning.services.cases import (
    collection_case_log_call,
    collection_case_set_reason,
    collection_task_complete,
    customer_dunning_pause,
    customer_dunning_resume,
)
from dunning.services.disputes import dispute_open
from dunning.services.promises import promise_to_pay_record
from dunning.views._common import business_date, redirect_to_customer_case, require_roles


def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or {"status": CollectionCase.Status.OPEN})
    status = form.cleaned_data["status"] if form.is_valid() else CollectionCase.Status.OPEN
    cases = list(collection_case_list(user=request.user, as_of=business_date(), status=status))
    return render(request, "dunning/case_list.html", {"cases": cases, "filter_form": form})


def _tasks(case: CollectionCase) -> QuerySet[CollectionTask]:
    return case_task_list_open(customer=case.customer)


def _totals_by_currency(items: list) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        totals[item.currency] += item.outstanding
    return sorted(totals.items())


def _case_context(
    request: HttpRequest,
    case: CollectionCase,
    *,
    reason_form: OverdueReasonForm | None = None,
    call_form: CallLogForm | None = None,
) -> dict[str, object]:
    customer = case.customer
    as_of = business_date()
    items = customer_overdue_items(customer=customer, as_of=as_of)
    return {
        "case": case,
        "customer": customer,
        "as_of": as_of,
        "items": items,
        "overdue_totals": _totals_by_currency(items),
        "tasks": list(_tasks(case)),
        "disputes": list(customer_dispute_list(customer=customer)),
        "promises": list(customer_promise_list(customer=customer)),
        "agreements": list(customer_agreement_list(customer=customer)),
        "communications": customer_communication_list(customer=customer, limit=20),
        "timeline": customer_timeline(customer=customer),
        "reason_form": reason_form
        or OverdueReasonForm(initial={"overdue_reason": case.overdue_reason}),
        "call_form": call_form or CallLogForm(tasks=_tasks(case)),
        "can_pause": has_role(request.user, Role.FINANCE, Role.MANAGER),
        "is_open": case.status == CollectionCase.Status.OPEN,
    }


def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = collection_case_get(user=request.user, pk=pk)
    return render(request, "dunning/case_detail.html", _case_context(request, case))


def _case_form_page(
    request: HttpRequest, case: CollectionCase, form, *, title: str, action: str, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "dunning/case_form.html",
        {"case": case, "customer": case.customer, "form": form, "title": title, "action": action},
        status=status,
    )


def case_set_reason(request: HttpRequest, pk: int) -> HttpResponse:
    case = collection_case_get(user=request.user, pk=pk)
    title = _("Overdue reason")
    if request.method != "POST":
        form = OverdueReasonForm(initial={"overdue_reason": case.overdue_reason})
        return _case_form_page(request, case, form, title=title, action="reason")
    form = OverdueReasonForm(request.POST)
    if form.is_valid():
        try:
            collection_case_set_reason(
                case=case,
                reason=form.cleaned_data["overdue_reason"],
                note=form.cleaned_data["note"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            reason = form.cleaned_data["overdue_reason"]
            messages.success(request, _("Overdue reason recorded."))
            if reason == CollectionCase.OverdueReason.DISPUTE:
                messages.info(request, _("Now record the dispute on the contested invoices."))
                return redirect("dunning:dispute_create", customer_pk=case.customer_id)
            if reason == CollectionCase.OverdueReason.CASH_FLOW:
                messages.info(
                    request, _("Propose an instalment plan or extension for a manager to approve.")
                )
                return redirect("dunning:agreement_propose", customer_pk=case.customer_id)
            return redirect("dunning:case_detail", pk=case.pk)
    return _case_form_page(request, case, form, title=title, action="reason", status=400)


def case_log_call(request: HttpRequest, pk: int) -> HttpResponse:
    case = collection_case_get(user=request.user, pk=pk)
    tasks = _tasks(case)
    title = _("Log a call")
    if request.method != "POST":
        initial = {}
        task_id = request.GET.get("task", "")
        if task_id.isdigit() and tasks.filter(pk=int(task_id)).exists():
            initial["task"] = int(task_id)
        form = CallLogForm(tasks=tasks, initial=initial)
        return _case_form_page(request, case, form, title=title, action="call")
    form = CallLogForm(request.POST, tasks=tasks)
    if form.is_valid():
        try:
            collection_case_log_call(
                case=case,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                contact_name=form.cleaned_data["contact_name"],
                task=form.cleaned_data["task"],
                follow_up_on=form.cleaned_data["follow_up_on"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Call logged."))
            return redirect("dunning:case_detail", pk=case.pk)
    return _case_form_page(request, case, form, title=title, action="call", status=400)


def promise_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=customer_pk)
    invoices = invoice_list_for_promise(customer=customer)
    form = PromiseForm(request.POST or None, invoices=invoices)
    if request.method == "POST" and form.is_valid():
        try:
            promise_to_pay_record(
                customer=customer,
                invoices=list(form.cleaned_data["invoices"]),
                amount=form.cleaned_data["amount"],
                promised_date=form.cleaned_data["promised_date"],
                note=form.cleaned_data["note"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Promise to pay recorded: dunning of its invoices waits."))
            return redirect_to_customer_case(customer)
    return render(
        request,
        "dunning/promise_form.html",
        {"customer": customer, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def dispute_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=customer_pk)
    form = DisputeForm(request.POST or None, invoices=invoice_list_for_dispute(customer=customer))
    if request.method == "POST" and form.is_valid():
        try:
            dispute = dispute_open(
                customer=customer,
                invoices=list(form.cleaned_data["invoices"]),
                reason=form.cleaned_data["reason"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Dispute recorded: finance will resolve it."))
            return redirect("dunning:dispute_detail", pk=dispute.pk)
    return render(
        request,
        "dunning/dispute_form.html",
        {"customer": customer, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def agreement_propose_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=customer_pk)
    as_of = business_date()
    invoices = invoice_list_for_agreement(customer=customer, as_of=as_of)
    form = AgreementProposalForm(request.POST or None, invoices=invoices)
    formset = InstalmentFormSet(request.POST or None, prefix="instalments")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            agreement = agreement_propose(
                customer=customer,
                invoices=list(form.cleaned_data["invoices"]),
                kind=form.cleaned_data["kind"],
                instalments=formset.instalments(),
                reason=form.cleaned_data["reason"],
                terms=form.terms(),
                actor=request.user,
                as_of=as_of,
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                _("Agreement %(number)s proposed: a manager will approve or reject it.")
                % {"number": agreement.number},
            )
            return redirect("dunning:agreement_detail", pk=agreement.pk)
    return render(
        request,
        "dunning/agreement_form.html",
        {"customer": customer, "form": form, "formset": formset, "as_of": as_of},
        status=400 if request.method == "POST" else 200,
    )


def customer_pause(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=customer_pk)
    require_roles(request, Role.FINANCE, Role.MANAGER)
    initial = {
        "until": customer.dunning_paused_until,
        "reason": customer.dunning_pause_reason,
    }
    form = DunningPauseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            customer_dunning_pause(
                customer=customer,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                as_of=business_date(),
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(
                request,
                _("Dunning paused until %(date)s.")
                % {"date": form.cleaned_data["until"].isoformat()},
            )
            return redirect_to_customer_case(customer)
    return render(
        request,
        "dunning/pause_form.html",
        {"customer": customer, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def customer_resume(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=customer_pk)
    require_roles(request, Role.FINANCE, Role.MANAGER)
    try:
        customer_dunning_resume(customer=customer, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Dunning resumed."))
    return redirect_to_customer_case(customer)


@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task of the user's customers done from the worklist (e.g. the letter was mailed)."""
    task = get_in_scope_or_404(CollectionTask.objects.all(), request.user, pk=pk)
    try:
        collection_task_complete(task=task, actor=request.user, note=request.POST.get("note", ""))
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Task done."))
    return redirect("core:home")
