"""Dunning messages and demand letters: finance's approval queue, preview, download, print."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dunning.forms import LetterRejectForm, add_business_error
from dunning.letters import DemandLetterError, demand_letter_render
from dunning.models import Channel, Communication
from dunning.pdf import PDF_CONTENT_TYPE
from dunning.selectors import communication_get, letter_list_awaiting_approval
from dunning.services.communications import (
    communication_approve,
    communication_letter_ensure,
    communication_reject,
)
from dunning.services.render import RenderError, communication_email
from dunning.views._common import require_roles


def letter_queue(request: HttpRequest) -> HttpResponse:
    require_roles(request, Role.FINANCE)
    communications = list(letter_list_awaiting_approval())
    return render(request, "dunning/letter_list.html", {"communications": communications})


def _communication_page(
    request: HttpRequest,
    communication: Communication,
    *,
    reject_form: LetterRejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    steps = list(
        communication.steps.filter(excluded_reason="")
        .select_related("invoice", "instalment__agreement")
        .order_by("due_date", "pk")
    )
    email, email_error = None, ""
    if communication.subject:
        email = (communication.subject, communication.body)
    else:
        # The sender stores the text when the message goes out: until then, or for a
        # message that never went out, the page renders it as it reads now.
        try:
            email = communication_email(communication=communication, steps=steps)
        except RenderError as error:
            email_error = str(error)
    return render(
        request,
        "dunning/communication_detail.html",
        {
            "communication": communication,
            "items": [(step.item_label, step) for step in steps],
            "has_letter": Channel.LETTER in communication.channels,
            "email": email,
            "email_is_preview": email is not None and not communication.subject,
            "email_may_go_out": communication.status
            in (Communication.Status.PENDING, Communication.Status.AWAITING_APPROVAL),
            "email_error": email_error,
            "may_approve": has_role(request.user, Role.FINANCE)
            and communication.status == Communication.Status.AWAITING_APPROVAL,
            "reject_form": reject_form or LetterRejectForm(),
        },
        status=status,
    )


def communication_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _communication_page(request, communication_get(user=request.user, pk=pk))


def _pdf_headers(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _letter_filename(communication: Communication) -> str:
    return f"demand-letter-{communication.customer.code}-{communication.business_date}.pdf"


def communication_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Finance previews a letter: the stored one once it exists, else as if it went out today."""
    communication = communication_get(user=request.user, pk=pk)
    require_roles(request, Role.FINANCE)
    if Channel.LETTER not in communication.channels:
        raise Http404
    if communication.letter_pdf:
        return _stored_letter(communication, inline=True, prefix="preview-")
    letter_date = None
    if communication.status == Communication.Status.AWAITING_APPROVAL:
        letter_date = max(communication.business_date, timezone.localdate())
    try:
        pdf = demand_letter_render(communication=communication, letter_date=letter_date)
    except DemandLetterError as error:
        messages.error(request, _("The letter cannot be rendered: %(reason)s") % {"reason": error})
        return redirect("dunning:communication_detail", pk=communication.pk)
    response = HttpResponse(pdf, content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=f"preview-{_letter_filename(communication)}"
    )
    return _pdf_headers(response)


def _stored_letter(communication: Communication, *, inline: bool, prefix: str = "") -> FileResponse:
    try:
        handle = communication.letter_pdf.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        handle,
        content_type=PDF_CONTENT_TYPE,
        as_attachment=not inline,
        filename=prefix + _letter_filename(communication),
    )
    return _pdf_headers(response)


def communication_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The stored letter, for anyone who may see the customer; `?inline=1` opens it to print.

    A released letter the send sweep has not reached yet is stored now, so the
    link works from the moment the message is approved.
    """
    communication = communication_get(user=request.user, pk=pk)
    if (
        not communication.letter_pdf
        and Channel.LETTER in communication.channels
        and communication.status == Communication.Status.PENDING
    ):
        try:
            communication = communication_letter_ensure(communication_id=communication.pk)
        except DemandLetterError as error:
            raise Http404 from error
    if not communication.letter_pdf:
        raise Http404
    return _stored_letter(communication, inline=request.GET.get("inline") == "1")


@require_POST
def communication_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    communication = communication_get(user=request.user, pk=pk)
    require_roles(request, Role.FINANCE)
    try:
        communication_approve(communication=communication, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, error.message)
        return redirect("dunning:communication_detail", pk=communication.pk)
    messages.success(
        request,
        _("Approved: the %(level)s for %(customer)s goes out with the next send.")
        % {"level": communication.get_level_display(), "customer": communication.customer.name},
    )
    return redirect("dunning:letter_queue")


@require_POST
def communication_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    communication = communication_get(user=request.user, pk=pk)
    require_roles(request, Role.FINANCE)
    form = LetterRejectForm(request.POST)
    if form.is_valid():
        try:
            communication_reject(
                communication=communication, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except BusinessRuleError as error:
            add_business_error(form, error)
        else:
            messages.success(request, _("Refused: the message will not go out."))
            return redirect("dunning:letter_queue")
    return _communication_page(request, communication, reject_form=form, status=400)
