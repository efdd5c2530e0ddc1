"""Cash application pages: statement upload (finance), reconciliation queue (finance),
claims (reps claim, finance decides)."""

import base64
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banking.forms import (
    BankAccountForm,
    ClaimDecisionForm,
    ClaimForm,
    DismissForm,
    ReassignForm,
    SplitForm,
    StatementUploadForm,
    numbers_split,
)
from banking.models import BankAccount, BankReceipt, ReceiptClaim
from banking.selectors.receipts import (
    bank_account_list,
    claim_list_for_user,
    claim_list_pending,
    column_profile_names,
    receipt_claimable_get,
    receipt_list_claimable,
    receipt_queue,
    receipt_suggestion_customers,
)
from banking.services.accounts import bank_account_record
from banking.services.claims import receipt_claim, receipt_claim_confirm, receipt_claim_reject
from banking.services.receipts import (
    bank_statement_import,
    receipt_apply,
    receipt_dismiss,
    receipt_split,
)
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import scope_for_user
from receivables.models import Customer, Invoice

PAGE_SIZE = 50
SESSION_KEY = "banking_upload"


def _require(request: HttpRequest, *roles: Role) -> None:
    if not has_role(request.user, *roles):
        raise PermissionDenied


# --- Bank accounts ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def bank_account_list_view(request: HttpRequest) -> HttpResponse:
    """Our bank accounts; finance records one (the same service as `bank_account`)."""
    _require(request, Role.FINANCE)
    form = BankAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, created = bank_account_record(**form.cleaned_data)
        except BusinessRuleError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            message = (
                _("Bank account %(code)s recorded.")
                if created
                else _("Bank account %(code)s updated.")
            )
            messages.success(request, message % {"code": account.code})
            return redirect("banking:bank_account_list")
    return render(
        request,
        "banking/bank_account_list.html",
        {"accounts": list(bank_account_list()), "form": form},
    )


# --- Upload ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def statement_upload_view(request: HttpRequest) -> HttpResponse:
    """Upload → preview (a dry run of the same service as the command) → commit."""
    _require(request, Role.FINANCE)
    accounts = list(bank_account_list())
    form = StatementUploadForm(
        request.POST or None,
        request.FILES or None,
        accounts=accounts,
        profiles=column_profile_names(),
    )
    context = {"form": form, "accounts": accounts}
    if request.method == "POST" and request.POST.get("action") == "commit":
        pending = request.session.get(SESSION_KEY)
        if not pending:
            messages.error(request, _("Upload the file again: the preview has expired."))
            return redirect("banking:statement_upload")
        account = get_object_or_404(BankAccount, pk=pending["account"])
        result = bank_statement_import(
            account=account,
            data=base64.b64decode(pending["data"]),
            file_name=pending["name"],
            profile=pending["profile"],
            actor=request.user,
        )
        del request.session[SESSION_KEY]
        if not result.ok:
            context.update({"result": result, "account": account})
            return render(request, "banking/statement_upload.html", context, status=400)
        messages.success(
            request,
            _(
                "Imported %(new)s new receipts (%(duplicates)s already imported): %(applied)s "
                "applied, %(suggested)s suggested, %(unmatched)s unmatched."
            )
            % {
                "new": result.new,
                "duplicates": result.duplicates,
                "applied": len(result.applied),
                "suggested": len(result.suggested),
                "unmatched": len(result.unmatched),
            },
        )
        return redirect("banking:receipt_queue")
    if request.method == "POST" and form.is_valid():
        account = get_object_or_404(BankAccount, pk=form.cleaned_data["bank_account"])
        upload = form.cleaned_data["file"]
        data = upload.read()
        result = bank_statement_import(
            account=account,
            data=data,
            file_name=upload.name,
            profile=form.cleaned_data["profile"],
            dry_run=True,
            actor=request.user,
        )
        if result.ok and result.new:
            request.session[SESSION_KEY] = {
                "account": account.pk,
                "data": base64.b64encode(data).decode("ascii"),
                "name": upload.name,
                "profile": form.cleaned_data["profile"],
            }
        context.update({"result": result, "account": account, "file_name": upload.name})
    return render(request, "banking/statement_upload.html", context)


# --- Reconciliation queue --------------------------------------------------------------


def receipt_queue_view(request: HttpRequest) -> HttpResponse:
    """Unmatched, suggested and claimed receipts with their suggestions and claims."""
    _require(request, Role.FINANCE)
    status = request.GET.get("status") or None
    page = Paginator(receipt_queue(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    receipts = list(page.object_list)
    customers = receipt_suggestion_customers(receipts=receipts)
    rows = []
    for receipt in receipts:
        suggestions = []
        for index, candidate in enumerate(receipt.suggestions or []):
            customer = customers.get(candidate.get("customer_id"))
            if customer is None:
                continue
            suggestions.append(
                {
                    "index": index,
                    "customer": customer,
                    "items": candidate.get("items", []),
                    "reasons": candidate.get("reasons", []),
                }
            )
        rows.append(
            {
                "receipt": receipt,
                "suggestions": suggestions,
                "claim": receipt.pending_claims[0] if receipt.pending_claims else None,
            }
        )
    return render(
        request,
        "banking/receipt_queue.html",
        {
            "page": page,
            "rows": rows,
            "status": status or "",
            "statuses": [*BankReceipt.Status.choices[:2], BankReceipt.Status.choices[3]],
            "reassign_form": ReassignForm(),
            "split_form": SplitForm(),
            "dismiss_form": DismissForm(),
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    return redirect("banking:receipt_queue")


def _run(request: HttpRequest, action, success: str) -> HttpResponse:
    try:
        action()
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return _back(request)


@require_POST
def receipt_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply a receipt as its suggestion says (one click)."""
    _require(request, Role.FINANCE)
    receipt = get_object_or_404(BankReceipt, pk=pk)
    try:
        candidate = receipt.suggestions[int(request.POST.get("suggestion", "0"))]
    except (ValueError, IndexError, TypeError):
        messages.error(request, _("That suggestion no longer exists."))
        return _back(request)
    customer = get_object_or_404(Customer, pk=candidate["customer_id"])
    invoice_ids = [pk for item in candidate.get("items", []) for pk in item.get("invoice_ids", [])]
    return _run(
        request,
        lambda: receipt_apply(
            receipt=receipt, customer=customer, actor=request.user, invoice_ids=invoice_ids
        ),
        _("Receipt %(id)s applied to %(customer)s.")
        % {"id": receipt.transaction_id, "customer": customer.code},
    )


@require_POST
def receipt_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply a receipt to a customer finance names, to named invoices or oldest first."""
    _require(request, Role.FINANCE)
    receipt = get_object_or_404(BankReceipt, pk=pk)
    form = ReassignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a customer code."))
        return _back(request)
    customer = Customer.objects.filter(code=form.cleaned_data["customer_code"].strip()).first()
    if customer is None:
        messages.error(request, _("There is no customer with that code."))
        return _back(request)
    numbers = numbers_split(form.cleaned_data["invoices"])
    invoice_ids = list(
        Invoice.objects.filter(customer=customer, number__in=numbers).values_list("pk", flat=True)
    )
    if numbers and len(invoice_ids) != len(set(numbers)):
        messages.error(request, _("Some invoice numbers are not this customer's."))
        return _back(request)
    return _run(
        request,
        lambda: receipt_apply(
            receipt=receipt, customer=customer, actor=request.user, invoice_ids=invoice_ids
        ),
        _("Receipt %(id)s applied to %(customer)s.")
        % {"id": receipt.transaction_id, "customer": customer.code},
    )


@require_POST
def receipt_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Split a receipt over several customers."""
    _require(request, Role.FINANCE)
    receipt = get_object_or_404(BankReceipt, pk=pk)
    form = SplitForm(request.POST)
    parts = []
    if form.is_valid():
        for line in form.cleaned_data["parts"].splitlines():
            fields = line.split()
            if not fields:
                continue
            try:
                code, amount = fields[0], Decimal(fields[-1].replace(",", ""))
            except (InvalidOperation, IndexError):
                messages.error(request, _("Write each part as: code amount."))
                return _back(request)
            customer = Customer.objects.filter(code=code).first()
            if customer is None:
                messages.error(request, _("There is no customer with that code."))
                return _back(request)
            parts.append((customer, amount))
    return _run(
        request,
        lambda: receipt_split(receipt=receipt, parts=parts, actor=request.user),
        _("Receipt %(id)s split.") % {"id": receipt.transaction_id},
    )


@require_POST
def receipt_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a receipt as not a customer's (a refund, an internal transfer)."""
    _require(request, Role.FINANCE)
    receipt = get_object_or_404(BankReceipt, pk=pk)
    form = DismissForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _run(
        request,
        lambda: receipt_dismiss(receipt=receipt, reason=reason, actor=request.user),
        _("Receipt %(id)s marked as not a customer receipt.") % {"id": receipt.transaction_id},
    )


# --- Claims ----------------------------------------------------------------------------


def claim_list_view(request: HttpRequest) -> HttpResponse:
    """Reps: unmatched receipts they may claim (date, amount, payer, memo) and their own
    claims. Finance: the claims waiting for a decision."""
    is_rep = has_role(request.user, Role.SALES_REP)
    is_finance = has_role(request.user, Role.FINANCE)
    if not (is_rep or is_finance):
        raise PermissionDenied
    context: dict = {"is_rep": is_rep, "is_finance": is_finance}
    if is_rep:
        page = Paginator(receipt_list_claimable(), PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(
            {
                "page": page,
                "claimable": list(page.object_list),
                "my_claims": list(claim_list_for_user(user=request.user)[:50]),
            }
        )
    if is_finance:
        context["pending"] = list(claim_list_pending()[:200])
    return render(request, "banking/claim_list.html", context)


@require_http_methods(["GET", "POST"])
def claim_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep claims an unmatched receipt for one of their own customers."""
    _require(request, Role.SALES_REP)
    row = receipt_claimable_get(pk=pk, user=request.user)
    customers = scope_for_user(Customer.objects.order_by("code"), request.user)
    if not has_role(request.user, Role.FINANCE, Role.MANAGER):
        customers = customers.filter(sales_rep=request.user)
    customers = list(customers.only("pk", "code", "name")[:1000])
    form = ClaimForm(request.POST or None, customers=customers)
    if request.method == "POST" and form.is_valid():
        customer = next(c for c in customers if str(c.pk) == form.cleaned_data["customer"])
        numbers = numbers_split(form.cleaned_data["invoices"])
        invoice_ids = list(
            Invoice.objects.filter(customer=customer, number__in=numbers).values_list(
                "pk", flat=True
            )
        )
        if len(invoice_ids) != len(set(numbers)):
            form.add_error("invoices", _("Some invoice numbers are not this customer's."))
        else:
            try:
                receipt_claim(
                    receipt=BankReceipt(pk=pk),
                    customer=customer,
                    invoice_ids=invoice_ids,
                    actor=request.user,
                )
            except BusinessRuleError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Claimed; finance will confirm it."))
                return redirect("banking:claim_list")
    return render(request, "banking/claim_form.html", {"form": form, "receipt": row})


@require_POST
def claim_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Finance confirms or rejects a claim (never their own)."""
    _require(request, Role.FINANCE)
    claim = get_object_or_404(ReceiptClaim, pk=pk)
    form = ClaimDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose confirm or reject."))
        return redirect("banking:claim_list")
    try:
        if form.cleaned_data["decision"] == "confirm":
            receipt_claim_confirm(claim=claim, actor=request.user)
            messages.success(request, _("Claim confirmed; the receipt is applied."))
        else:
            receipt_claim_reject(
                claim=claim, actor=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Claim rejected."))
    except BusinessRuleError as error:
        messages.error(request, error.message)
    if request.POST.get("next") == "queue":
        return redirect("banking:receipt_queue")
    return redirect("banking:claim_list")
