"""The customer's page under /p/<token>/, outside login, and the staff's views of links.

Every portal view is throttled per address, answers a wrong, expired or
revoked token with the same 404, and serves files only of the link's
customer. `PortalHeadersMiddleware` adds `Referrer-Policy: no-referrer` and
`Cache-Control: no-store` to every answer under /p/.
"""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import get_in_scope_or_404
from portal import selectors
from portal.csrf import portal_csrf_protect
from portal.forms import ConfirmForm, DisputeForm, DocumentRequestForm, LinkCreateForm, PromiseForm
from portal.models import PortalDisputeAttachment, PortalLink
from portal.services.actions import (
    PortalLinkInactive,
    Visitor,
    portal_balance_confirm,
    portal_dispute_submit,
    portal_document_request,
    portal_promise_submit,
)
from portal.services.links import portal_link_create_by_user, portal_link_revoke, portal_url
from receivables.models import Customer
from statements.selectors import statement_closing_balances
from statements.services.runs import statement_pdf_stored

PortalView = Callable[..., HttpResponse]
LANGUAGES = {code for code, _name in settings.LANGUAGES}
LINK_ROWS = 50


def not_found(request: HttpRequest) -> HttpResponse:
    """The one answer to a wrong, expired or revoked token, and to anything not the customer's."""
    with translation.override(_language(request, None)):
        return HttpResponse(render_to_string("portal/not_found.html", request=request), status=404)


def _throttled(request: HttpRequest) -> HttpResponse:
    with translation.override(_language(request, None)):
        return HttpResponse(render_to_string("portal/throttled.html", request=request), status=429)


def _language(request: HttpRequest, link: PortalLink | None) -> str:
    asked = request.GET.get("lang") or request.POST.get("lang")
    if asked in LANGUAGES:
        return asked
    if link is not None and link.customer.language in LANGUAGES:
        return link.customer.language
    return translation.get_language_from_request(request)


def client_address(request: HttpRequest) -> str | None:
    """The visitor's address as the login's throttle finds it (behind AXES_PROXY_COUNT proxies)."""
    return get_client_ip_address(request) or request.META.get("REMOTE_ADDR") or None


def _throttle_key(group: str, request: HttpRequest) -> str:
    return client_address(request) or "unknown"


def portal_view(view: PortalView) -> PortalView:
    """Throttle by address, find the link of the token or answer the one 404, speak its language."""

    @login_not_required
    @wraps(view)
    def wrapped(request: HttpRequest, token: str, **kwargs: object) -> HttpResponse:
        if is_ratelimited(
            request,
            group="portal",
            key=_throttle_key,
            rate=getattr(settings, "PORTAL_RATE_LIMIT", "100/m"),
            increment=True,
        ):
            return _throttled(request)
        link = selectors.portal_link_active_get(token=token)
        if link is None:
            return not_found(request)
        language = _language(request, link)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            try:
                return view(request, link=link, token=token, language=language, **kwargs)
            except PortalLinkInactive:
                return not_found(request)

    return wrapped


def _visitor(request: HttpRequest, name: str) -> Visitor:
    return Visitor(
        name=name,
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _page_url(token: str, language: str, **params: str) -> str:
    query = urlencode({"lang": language, **params})
    return f"{reverse('portal:page', kwargs={'token': token})}?{query}"


def _page(
    request: HttpRequest,
    *,
    link: PortalLink,
    token: str,
    language: str,
    forms: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    customer = link.customer
    today = timezone.localdate()
    open_items = list(selectors.portal_open_items(customer=customer))
    free_items = selectors.portal_open_items(customer=customer).filter(
        in_dispute=False, promised=False
    )
    open_qs = selectors.portal_open_items(customer=customer)
    forms = forms or {}
    confirmations = list(selectors.portal_confirmations(customer=customer))
    balances = (
        statement_closing_balances(customer=customer, as_of=link.as_of)
        if link.as_of and link.as_of <= today
        else {}
    )
    context = {
        "customer": customer,
        "link": link,
        "token": token,
        "language": language,
        "other_language": "en" if language != "en" else "zh-hans",
        "open_items": open_items,
        "open_total": _totals(open_items),
        "has_free_items": any(not (i.in_dispute or i.promised) for i in open_items),
        "invoices": selectors.portal_invoices(customer=customer),
        "proofs": list(selectors.portal_delivery_proofs(customer=customer)),
        "letters": list(selectors.portal_letters(customer=customer)),
        "statements": selectors.portal_statements(customer=customer),
        "confirmations": confirmations,
        "confirmed": any(c.as_of == link.as_of for c in confirmations),
        "balances": sorted(balances.items()),
        "confirm_form": forms.get("confirm") or ConfirmForm(),
        "dispute_form": forms.get("dispute") or DisputeForm(invoices=free_items),
        "promise_form": forms.get("promise") or PromiseForm(invoices=free_items),
        "request_form": forms.get("request") or DocumentRequestForm(invoices=open_qs),
        "done": request.GET.get("done", ""),
    }
    return render(request, "portal/page.html", context, status=status)


def _totals(items: list) -> list[tuple[str, str]]:
    totals: dict[str, object] = {}
    for item in items:
        totals[item.currency] = totals.get(item.currency, 0) + item.outstanding
    return [(currency, f"{total:,.2f}") for currency, total in sorted(totals.items())]


@require_GET
@portal_view
def page(request: HttpRequest, *, link: PortalLink, token: str, language: str) -> HttpResponse:
    return _page(request, link=link, token=token, language=language)


def _act(
    request: HttpRequest,
    *,
    link: PortalLink,
    token: str,
    language: str,
    key: str,
    form: object,
    action: Callable[[], object],
) -> HttpResponse:
    if form.is_valid():
        try:
            action()
        except BusinessRuleError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return HttpResponseRedirect(_page_url(token, language, done=key))
    return _page(request, link=link, token=token, language=language, forms={key: form}, status=400)


@csrf_exempt  # checked by portal_csrf_protect (portal/csrf.py)
@portal_csrf_protect
@require_POST
@portal_view
def confirm(request: HttpRequest, *, link: PortalLink, token: str, language: str) -> HttpResponse:
    form = ConfirmForm(request.POST)
    return _act(
        request,
        link=link,
        token=token,
        language=language,
        key="confirm",
        form=form,
        action=lambda: portal_balance_confirm(
            link=link,
            position=form.cleaned_data["position"],
            visitor=_visitor(request, form.cleaned_data["name"]),
            language=language,
            today=timezone.localdate(),
        ),
    )


@csrf_exempt  # checked by portal_csrf_protect (portal/csrf.py)
@portal_csrf_protect
@require_POST
@portal_view
def dispute(request: HttpRequest, *, link: PortalLink, token: str, language: str) -> HttpResponse:
    invoices = selectors.portal_open_items(customer=link.customer)
    form = DisputeForm(request.POST, request.FILES, invoices=invoices)
    return _act(
        request,
        link=link,
        token=token,
        language=language,
        key="dispute",
        form=form,
        action=lambda: portal_dispute_submit(
            link=link,
            invoice_ids=[invoice.pk for invoice in form.cleaned_data["invoices"]],
            reason=form.cleaned_data["reason"],
            attachment=form.cleaned_data.get("attachment"),
            visitor=_visitor(request, form.cleaned_data["name"]),
            today=timezone.localdate(),
        ),
    )


@csrf_exempt  # checked by portal_csrf_protect (portal/csrf.py)
@portal_csrf_protect
@require_POST
@portal_view
def promise(request: HttpRequest, *, link: PortalLink, token: str, language: str) -> HttpResponse:
    invoices = selectors.portal_open_items(customer=link.customer)
    form = PromiseForm(request.POST, invoices=invoices)
    return _act(
        request,
        link=link,
        token=token,
        language=language,
        key="promise",
        form=form,
        action=lambda: portal_promise_submit(
            link=link,
            invoice_ids=[invoice.pk for invoice in form.cleaned_data["invoices"]],
            amount=form.cleaned_data["amount"],
            promised_date=form.cleaned_data["promised_date"],
            visitor=_visitor(request, form.cleaned_data["name"]),
            today=timezone.localdate(),
        ),
    )


@csrf_exempt  # checked by portal_csrf_protect (portal/csrf.py)
@portal_csrf_protect
@require_POST
@portal_view
def document_request(
    request: HttpRequest, *, link: PortalLink, token: str, language: str
) -> HttpResponse:
    invoices = selectors.portal_open_items(customer=link.customer)
    form = DocumentRequestForm(request.POST, invoices=invoices)
    return _act(
        request,
        link=link,
        token=token,
        language=language,
        key="request",
        form=form,
        action=lambda: portal_document_request(
            link=link,
            document=form.cleaned_data["document"],
            invoice_id=form.cleaned_data["invoice"].pk if form.cleaned_data["invoice"] else None,
            note=form.cleaned_data["note"],
            visitor=_visitor(request, form.cleaned_data["name"]),
            today=timezone.localdate(),
        ),
    )


def _file(field, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(
        field.open("rb"), as_attachment=False, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@portal_view
def proof(
    request: HttpRequest, *, link: PortalLink, token: str, language: str, pk: int
) -> HttpResponse:
    record = selectors.portal_delivery_proofs(customer=link.customer).filter(pk=pk).first()
    if record is None:
        return not_found(request)
    return _file(
        record.proof,
        filename=record.proof_original_name or f"proof-{record.pk}",
        content_type=record.proof_content_type or "application/octet-stream",
    )


@require_GET
@portal_view
def letter(
    request: HttpRequest, *, link: PortalLink, token: str, language: str, pk: int
) -> HttpResponse:
    communication = selectors.portal_letters(customer=link.customer).filter(pk=pk).first()
    if communication is None:
        return not_found(request)
    return _file(
        communication.letter_pdf,
        filename=f"letter-{communication.business_date:%Y%m%d}.pdf",
        content_type="application/pdf",
    )


@require_GET
@portal_view
def statement_pdf(
    request: HttpRequest, *, link: PortalLink, token: str, language: str, pk: int
) -> HttpResponse:
    """A statement of account the customer was sent, as a PDF (rendered on first open)."""
    statement = selectors.portal_statement_get(customer=link.customer, pk=pk)
    if statement is None:
        return not_found(request)
    statement = statement_pdf_stored(statement=statement)
    return _file(
        statement.pdf,
        filename=f"statement-{statement.customer.code}-{statement.period_start:%Y%m}.pdf",
        content_type="application/pdf",
    )


@require_GET
@portal_view
def confirmation_pdf(
    request: HttpRequest, *, link: PortalLink, token: str, language: str, pk: int
) -> HttpResponse:
    confirmation = selectors.portal_confirmations(customer=link.customer).filter(pk=pk).first()
    if confirmation is None or not confirmation.pdf:
        return not_found(request)
    return _file(
        confirmation.pdf,
        filename=f"balance-confirmation-{confirmation.as_of:%Y%m%d}.pdf",
        content_type="application/pdf",
    )


# --- Staff ---------------------------------------------------------------------------


@require_POST
def link_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Make a link by hand and show it once (it is never stored in clear)."""
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    form = LinkCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid date."))
        return redirect(customer.get_absolute_url())
    try:
        link, token = portal_link_create_by_user(
            customer=customer,
            actor=request.user,
            as_of=form.cleaned_data["as_of"],
            today=timezone.localdate(),
        )
    except BusinessRuleError as error:
        messages.error(request, error.message)
        return redirect(customer.get_absolute_url())
    response = render(
        request,
        "portal/link_created.html",
        {"customer": customer, "link": link, "url": portal_url(token=token)},
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def link_list(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The customer's links to its page, newest first, with revoke buttons."""
    customer = get_in_scope_or_404(Customer.objects.all(), request.user, pk=customer_pk)
    links = list(PortalLink.objects.filter(customer=customer).order_by("-created_at")[:LINK_ROWS])
    return render(request, "portal/link_list.html", {"customer": customer, "links": links})


@require_POST
def link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_in_scope_or_404(PortalLink.objects.select_related("customer"), request.user, pk=pk)
    try:
        portal_link_revoke(link=link, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The link no longer opens the customer's page."))
    return redirect("portal:link_list", customer_pk=link.customer_id)


@require_GET
def portal_dispute_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """The file a contact attached to a dispute, for users who may see the customer."""
    attachment = get_in_scope_or_404(PortalDisputeAttachment.objects.all(), request.user, pk=pk)
    response = _file(
        attachment.file,
        filename=attachment.original_name or f"attachment-{attachment.pk}",
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def confirmation_desk(request: HttpRequest) -> HttpResponse:
    """Finance's view of a period: who confirmed, who disputed, who stayed silent."""
    if not has_role(request.user, Role.FINANCE, Role.MANAGER):
        raise PermissionDenied
    periods = selectors.confirmation_periods()
    as_of = periods[0] if periods else None
    asked = request.GET.get("as_of")
    if asked:
        as_of = next((period for period in periods if period.isoformat() == asked), None)
    rows = page_obj = rate = None
    if as_of is not None:
        page_obj = Paginator(selectors.confirmation_status_list(as_of=as_of), 100).get_page(
            request.GET.get("page")
        )
        rows = page_obj.object_list
        rate = selectors.confirmation_rate(as_of=as_of)
    return render(
        request,
        "portal/confirmation_desk.html",
        {"periods": periods, "as_of": as_of, "rows": rows, "page_obj": page_obj, "rate": rate},
    )
