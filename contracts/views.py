"""Contract pages: thin views that validate, call a service, message and redirect."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from contracts import selectors
from contracts.forms import (
    ActivationForm,
    ContractForm,
    DeliveryRecordForm,
    MilestoneInvoiceForm,
    ReviewForm,
    TermsApprovalForm,
    WarrantyEndForm,
    milestone_formset_class,
    milestone_initial,
)
from contracts.models import Contract
from contracts.services import (
    contract_activate,
    contract_clause_problems,
    contract_close,
    contract_create,
    contract_effective_terms_days,
    contract_review,
    contract_submit_for_review,
    contract_terms_approve,
    contract_terms_exceed_customer,
    contract_update,
    delivery_record_create,
    milestone_invoice_issue,
    milestone_trigger_record,
)
from contracts.services._common import contract_drafted_by, user_may_draft_for
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role

CREATE_EXTRA_ROWS = 5
EDIT_EXTRA_ROWS = 2


def _form_error(form: Form, error: BusinessRuleError) -> None:
    """Show a refused action on the field it concerns, else on the whole form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_GET
def contract_list_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    query = request.GET.get("q", "")
    customer_id = request.GET.get("customer")
    contracts = selectors.contract_list(
        user=request.user,
        status=status,
        query=query,
        customer_id=int(customer_id) if customer_id and customer_id.isdigit() else None,
    )
    return render(
        request,
        "contracts/contract_list.html",
        {
            "contracts": contracts,
            "status": status,
            "query": query,
            "statuses": Contract.Status.choices,
            "counts": selectors.contract_count_by_status(user=request.user),
            "can_create": selectors.customer_list_for_drafting(user=request.user).exists(),
        },
    )


def _contract_form_page(request: HttpRequest, *, contract: Contract | None) -> HttpResponse:
    customers = selectors.customer_list_for_drafting(user=request.user)
    formset_class = milestone_formset_class(
        extra=EDIT_EXTRA_ROWS if contract else CREATE_EXTRA_ROWS, can_delete=contract is not None
    )
    initial_milestones = milestone_initial(contract) if contract else None
    formset_error = ""
    if request.method == "POST":
        form = ContractForm(request.POST, instance=contract, customers=customers)
        formset = formset_class(request.POST, prefix="milestones", initial=initial_milestones)
        if form.is_valid() and formset.is_valid():
            try:
                if contract is None:
                    saved = contract_create(
                        actor=request.user,
                        customer=form.cleaned_data["customer"],
                        data=form.contract_data(),
                        milestones=formset.milestones(),
                    )
                    message = _("Contract %(number)s drafted.")
                else:
                    saved = contract_update(
                        contract=contract,
                        actor=request.user,
                        data=form.contract_data(),
                        milestones=formset.milestones(),
                    )
                    message = _("Contract %(number)s saved.")
            except BusinessRuleError as error:
                if error.field == "milestones":
                    formset_error = error.message
                else:
                    _form_error(form, error)
            else:
                messages.success(request, message % {"number": saved.number})
                return redirect(saved)
    else:
        form = ContractForm(
            instance=contract,
            customers=customers,
            initial={"customer": request.GET.get("customer")} if contract is None else None,
        )
        formset = formset_class(prefix="milestones", initial=initial_milestones)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "formset": formset, "contract": contract, "formset_error": formset_error},
    )


def contract_create_view(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.FINANCE, Role.SALES_REP):
        raise PermissionDenied
    return _contract_form_page(request, contract=None)


def contract_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    if not user_may_draft_for(user=request.user, customer=contract.customer):
        raise PermissionDenied
    if contract.status != Contract.Status.DRAFT:
        messages.error(
            request,
            _("Only a draft can be changed; this contract is %(status)s.")
            % {"status": contract.get_status_display()},
        )
        return redirect(contract)
    return _contract_form_page(request, contract=contract)


@require_GET
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, selectors.contract_get(user=request.user, pk=pk))


def _detail_page(
    request: HttpRequest,
    contract: Contract,
    *,
    review_form: ReviewForm | None = None,
    status_code: int = 200,
) -> HttpResponse:
    user = request.user
    is_finance = has_role(user, Role.FINANCE)
    may_draft = user_may_draft_for(user=user, customer=contract.customer)
    status = contract.status
    Status = Contract.Status
    problems = (
        contract_clause_problems(contract=contract)
        if status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED)
        else []
    )
    terms_exceed = contract_terms_exceed_customer(contract=contract)
    # Finance decides only on contracts it did not draft (segregation of duties).
    may_decide = (
        is_finance
        and status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED)
        and not contract_drafted_by(contract=contract, user=user)
    )
    today = timezone.localdate()
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "rows": selectors.contract_milestone_rows(contract=contract),
            "records": list(contract.delivery_records.all()),
            "history": selectors.contract_history(contract=contract),
            "problems": problems,
            "effective_terms_days": contract_effective_terms_days(contract=contract),
            "late_fee_rate": _plain_decimal(contract.late_fee_rate_percent),
            "terms_exceed": terms_exceed,
            "terms_need_approval": terms_exceed and contract.terms_approved_by_id is None,
            "can_edit": may_draft and status == Status.DRAFT,
            "can_submit": may_draft and status == Status.DRAFT,
            "can_review": may_decide and status == Status.IN_REVIEW,
            "review_by_another": is_finance and not may_decide and status == Status.IN_REVIEW,
            "can_approve_terms": may_decide
            and terms_exceed
            and contract.terms_approved_by_id is None
            and status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED),
            "can_activate": is_finance and status == Status.APPROVED,
            "can_close": is_finance and status == Status.ACTIVE,
            "can_record": may_draft and status == Status.ACTIVE,
            "can_issue": is_finance and status == Status.ACTIVE,
            "review_form": review_form or ReviewForm(),
            "terms_form": TermsApprovalForm(),
            "activation_form": ActivationForm(initial={"signed_date": today}),
            "warranty_form": WarrantyEndForm(initial={"event_date": today}),
        },
        status=status_code,
    )


def _plain_decimal(value: Decimal | None) -> str:
    """0.050000 as "0.05" and 10.000000 as "10": the rate as the contract states it."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _business_error(request: HttpRequest, error: BusinessRuleError) -> None:
    messages.error(request, error.message)


@require_POST
def contract_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    try:
        contract_submit_for_review(contract=contract, actor=request.user)
    except BusinessRuleError as error:
        _business_error(request, error)
    else:
        messages.success(request, _("Contract submitted to finance for review."))
    return redirect(contract)


@require_POST
def contract_review_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    form = ReviewForm(request.POST)
    decision = request.POST.get("decision")
    if decision not in ("approve", "return") or not form.is_valid():
        messages.error(request, _("Choose to approve the contract or to send it back."))
        return redirect(contract)
    try:
        contract_review(
            contract=contract,
            actor=request.user,
            approve=decision == "approve",
            comment=form.cleaned_data["comment"],
            terms_approval_reason=form.cleaned_data["terms_approval_reason"],
            credit_override_reason=form.cleaned_data["credit_override_reason"],
        )
    except BusinessRuleError as error:
        # Show the form again with what the reviewer typed: the comment is not lost.
        _business_error(request, error)
        contract = selectors.contract_get(user=request.user, pk=pk)
        return _detail_page(request, contract, review_form=form, status_code=400)
    else:
        if decision == "approve":
            messages.success(request, _("Contract approved: it can now be activated."))
        else:
            messages.success(request, _("Contract sent back to draft with your comment."))
    return redirect(contract)


@require_POST
def contract_terms_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    form = TermsApprovalForm(request.POST)
    try:
        if not form.is_valid():
            raise BusinessRuleError(_("Give the reason for approving the longer terms."))
        contract_terms_approve(
            contract=contract,
            actor=request.user,
            reason=form.cleaned_data["terms_approval_reason"],
        )
    except BusinessRuleError as error:
        _business_error(request, error)
    else:
        messages.success(request, _("Longer terms approved."))
    return redirect(contract)


@require_POST
def contract_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    form = ActivationForm(request.POST)
    try:
        if not form.is_valid():
            raise BusinessRuleError(_("Enter the date the contract was signed."))
        contract_activate(
            contract=contract,
            actor=request.user,
            signed_date=form.cleaned_data["signed_date"],
            as_of=timezone.localdate(),
            credit_override_reason=form.cleaned_data["credit_override_reason"],
        )
    except BusinessRuleError as error:
        _business_error(request, error)
    else:
        messages.success(request, _("Contract activated."))
    return redirect(contract)


@require_POST
def contract_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    try:
        contract_close(contract=contract, actor=request.user)
    except BusinessRuleError as error:
        _business_error(request, error)
    else:
        messages.success(request, _("Contract closed."))
    return redirect(contract)


def delivery_record_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, pk=pk)
    if not user_may_draft_for(user=request.user, customer=contract.customer):
        raise PermissionDenied
    if request.method == "POST":
        form = DeliveryRecordForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                record, triggered = delivery_record_create(
                    contract=contract,
                    kind=form.cleaned_data["kind"],
                    occurred_on=form.cleaned_data["occurred_on"],
                    signer_name=form.cleaned_data["signer_name"],
                    proof=form.cleaned_data["proof"],
                    notes=form.cleaned_data["notes"],
                    actor=request.user,
                    as_of=timezone.localdate(),
                )
            except BusinessRuleError as error:
                _form_error(form, error)
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(kind)s recorded; %(count)s milestone is now due.",
                        "%(kind)s recorded; %(count)s milestones are now due.",
                        len(triggered),
                    )
                    % {"kind": record.get_kind_display(), "count": len(triggered)},
                )
                return redirect(contract)
    else:
        form = DeliveryRecordForm(initial={"occurred_on": timezone.localdate()})
    return render(
        request, "contracts/delivery_record_form.html", {"form": form, "contract": contract}
    )


@require_GET
def delivery_record_proof(request: HttpRequest, pk: int) -> FileResponse:
    """Serve a proof file to users who may see its contract, never from a public URL."""
    record = selectors.delivery_record_get(user=request.user, pk=pk)
    try:
        handle = record.proof.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(_("The proof file is missing.")) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=record.proof_original_name or record.proof.name.rsplit("/", 1)[-1],
        content_type=record.proof_content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def milestone_invoice_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = selectors.milestone_get(user=request.user, pk=pk)
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied
    contract = milestone.contract
    if request.method == "POST":
        form = MilestoneInvoiceForm(request.POST)
        if form.is_valid():
            try:
                invoice = milestone_invoice_issue(
                    milestone=milestone,
                    number=form.cleaned_data["number"],
                    issue_date=form.cleaned_data["issue_date"],
                    actor=request.user,
                )
            except BusinessRuleError as error:
                _form_error(form, error)
            else:
                messages.success(
                    request,
                    _("Invoice %(number)s issued for %(currency)s %(amount)s, due %(due)s.")
                    % {
                        "number": invoice.number,
                        "currency": invoice.currency,
                        "amount": f"{invoice.amount:,.2f}",
                        "due": invoice.due_date.isoformat(),
                    },
                )
                return redirect(contract)
    else:
        form = MilestoneInvoiceForm(
            initial={
                "number": selectors.contract_next_invoice_number(milestone=milestone),
                "issue_date": timezone.localdate(),
            }
        )
    row = next(
        row
        for row in selectors.contract_milestone_rows(contract=contract)
        if row.milestone.pk == milestone.pk
    )
    return render(
        request,
        "contracts/milestone_invoice_form.html",
        {"form": form, "contract": contract, "milestone": milestone, "amount": row.amount},
    )


@require_POST
def milestone_trigger_view(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = selectors.milestone_get(user=request.user, pk=pk)
    form = WarrantyEndForm(request.POST)
    try:
        if not form.is_valid():
            raise BusinessRuleError(_("Enter the date the warranty ended."))
        milestone_trigger_record(
            milestone=milestone,
            event_date=form.cleaned_data["event_date"],
            actor=request.user,
            as_of=timezone.localdate(),
        )
    except BusinessRuleError as error:
        _business_error(request, error)
    else:
        messages.success(
            request,
            _("Warranty end recorded: milestone %(n)s is now due.") % {"n": milestone.sequence},
        )
    return redirect(milestone.contract)
