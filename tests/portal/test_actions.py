"""What the contact does on the page: confirm, dispute, promise, ask; and what follows."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from dunning.models import (
    CaseEvent,
    CollectionTask,
    Dispute,
    DunningStep,
    LevelCode,
    PromiseToPay,
)
from dunning.services.run import run_dunning
from portal.models import BalanceConfirmation, DocumentRequest, PortalAction
from receivables.models import Invoice
from tests.factories.cases import pay_invoice
from tests.factories.users import SalesRepFactory
from tests.portal.conftest import AS_OF, TODAY

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0"


def _post(client, book, name, data, **extra):
    return client.post(
        reverse(f"portal:{name}", kwargs={"token": book.token}),
        data,
        HTTP_USER_AGENT=UA,
        REMOTE_ADDR="203.0.113.9",
        **extra,
    )


def _portal_event(book, kind):
    event = CaseEvent.objects.get(customer=book.customer, kind=kind)
    assert event.actor is None
    assert event.text == ""
    assert event.data["via"] == "portal"
    return event


def _portal_task(book, action):
    task = CollectionTask.objects.get(
        customer=book.customer, kind=CollectionTask.Kind.CUSTOMER_PORTAL, params__action=action
    )
    assert task.title == ""
    assert task.assignee == book.customer.sales_rep
    assert task.params["contact"] == "Qian Li"
    return task


def test_the_contact_confirms_the_balance_as_of_the_links_date(client, book):
    pay_invoice(invoice=book.invoices[0], amount="1000.00", on=AS_OF)
    pay_invoice(invoice=book.invoices[1], amount="500.00", on=TODAY)  # after the date

    response = _post(client, book, "confirm", {"name": "Qian Li", "position": "CFO"})

    assert response.status_code == 302
    confirmation = BalanceConfirmation.objects.get(customer=book.customer)
    assert confirmation.as_of == AS_OF
    assert confirmation.balance == Decimal("9000.00")  # 10,000 less what was paid by then
    assert (confirmation.name, confirmation.position) == ("Qian Li", "CFO")
    assert confirmation.ip_address == "203.0.113.9"
    assert confirmation.user_agent == UA
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(confirmation.pdf.read())).pages
    )
    assert "Qian Li" in text
    assert "9,000.00" in text
    assert "2026-02-28" in text
    event = _portal_event(book, CaseEvent.Kind.PORTAL_BALANCE_CONFIRMED)
    assert event.data["amount"] == "9000.00"
    # What the contact typed is the row's typed note, never worded into its sentence.
    assert event.typed_note == "Qian Li · CFO"
    assert "Qian Li" not in event.summary
    assert "CFO" not in event.summary
    assert "confirmed the balance of CNY 9,000.00" in event.summary
    with translation.override("zh-hans"):
        assert "9,000.00" in event.summary
        assert "Qian Li" not in event.summary
    assert _portal_task(book, "balance_confirmed").params["as_of"] == "2026-02-28"
    assert "confirmed the balance" in _portal_task(book, "balance_confirmed").display_title

    # The PDF is served back byte for byte, and a second confirmation is refused
    confirmation.pdf.seek(0)
    stored = confirmation.pdf.read()
    served = client.get(
        reverse("portal:confirmation_pdf", kwargs={"token": book.token, "pk": confirmation.pk})
    )
    assert b"".join(served.streaming_content) == stored
    again = _post(client, book, "confirm", {"name": "Qian Li", "position": "CFO"})
    assert again.status_code == 400
    assert BalanceConfirmation.objects.filter(customer=book.customer).count() == 1


def test_a_dispute_pauses_only_those_items_in_the_run(client, book):
    disputed = book.invoices[0]
    response = _post(
        client,
        book,
        "dispute",
        {
            "invoices": [disputed.pk],
            "reason": "Goods arrived damaged",
            "name": "Qian Li",
            "attachment": SimpleUploadedFile("photo.png", b"\x89PNG fake", "image/png"),
        },
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get(customer=book.customer)
    assert list(dispute.invoices.all()) == [disputed]
    assert dispute.opened_by is None
    assert dispute.portal_attachments.get().file.read() == b"\x89PNG fake"
    assert _portal_event(book, CaseEvent.Kind.PORTAL_DISPUTE).data["invoices"] == [disputed.number]
    _portal_task(book, "dispute")
    action = PortalAction.objects.get(kind=PortalAction.Kind.DISPUTE)
    assert action.as_of == AS_OF

    # The rep finds the file on the dispute's page; another rep does not
    attachment = dispute.portal_attachments.get()
    download = reverse("portal:portal_dispute_attachment", kwargs={"pk": attachment.pk})
    client.force_login(book.customer.sales_rep)
    detail = client.get(reverse("dunning:dispute_detail", kwargs={"pk": dispute.pk}))
    assert download in detail.content.decode()
    assert b"".join(client.get(download).streaming_content) == b"\x89PNG fake"
    client.force_login(SalesRepFactory())
    assert client.get(download).status_code == 404

    run_dunning(as_of=TODAY)
    assert not DunningStep.objects.filter(invoice=disputed).exists()
    assert DunningStep.objects.filter(invoice=book.invoices[1], level=LevelCode.REMINDER).exists()


def test_a_promise_is_created_and_the_run_respects_it(client, book):
    rest = book.invoices[1:]
    response = _post(
        client,
        book,
        "promise",
        {
            "invoices": [invoice.pk for invoice in rest],
            "amount": "7000.00",
            "promised_date": "2026-03-16",
            "name": "Qian Li",
        },
    )
    assert response.status_code == 302
    promise = PromiseToPay.objects.get(customer=book.customer)
    assert promise.amount == Decimal("7000.00")
    assert set(promise.invoices.all()) == set(rest)
    assert promise.recorded_by is None
    event = _portal_event(book, CaseEvent.Kind.PORTAL_PROMISE)
    assert event.data["amount"] == "7000.00"
    _portal_task(book, "promise")

    run_dunning(as_of=TODAY)
    assert not DunningStep.objects.filter(invoice__in=rest).exists()
    assert DunningStep.objects.filter(invoice=book.invoices[0]).exists()


def test_a_bad_promise_is_refused_with_the_reason(client, book):
    response = _post(
        client,
        book,
        "promise",
        {
            "invoices": [book.invoices[0].pk],
            "amount": "99999.00",
            "promised_date": "2026-03-16",
            "name": "Qian Li",
        },
    )
    assert response.status_code == 400
    assert "more than" in response.content.decode()
    assert not PromiseToPay.objects.exists()
    assert not PortalAction.objects.exists()


def test_the_contact_asks_for_a_copy(client, book):
    response = _post(
        client,
        book,
        "request",
        {"document": "invoice", "invoice": book.invoices[2].pk, "note": "", "name": "Qian Li"},
    )
    assert response.status_code == 302
    request = DocumentRequest.objects.get()
    assert (request.customer, request.document, request.invoice) == (
        book.customer,
        "invoice",
        book.invoices[2],
    )
    _portal_event(book, CaseEvent.Kind.PORTAL_DOCUMENT_REQUESTED)
    _portal_task(book, "document_requested")


def test_actions_need_the_csrf_token(book):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("portal:confirm", kwargs={"token": book.token}),
        {"name": "Qian Li", "position": "CFO"},
    )
    assert response.status_code == 403
    assert response["Referrer-Policy"] == "no-referrer"
    assert not BalanceConfirmation.objects.exists()


def test_a_disputed_line_leaves_the_dispute_and_promise_lists(client, book):
    _post(
        client,
        book,
        "dispute",
        {"invoices": [book.invoices[0].pk], "reason": "Wrong price", "name": "Qian Li"},
    )
    page = client.get(reverse("portal:page", kwargs={"token": book.token})).content.decode()
    promise_form = page.split('id="promise"')[1].split("</form>")[0]
    assert book.invoices[0].number not in promise_form
    assert book.invoices[1].number in promise_form
    assert Invoice.objects.get(pk=book.invoices[0].pk).status == Invoice.Status.OPEN


def test_the_null_origin_of_our_no_referrer_policy_passes_with_the_csrf_token(book):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    url = reverse("portal:page", kwargs={"token": book.token})
    page = client.get(url, secure=True)
    csrf = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    confirm = reverse("portal:confirm", kwargs={"token": book.token})
    data = {"name": "Qian Li", "position": "CFO"}
    refused = client.post(confirm, data, secure=True, HTTP_ORIGIN="null")
    assert refused.status_code == 403  # no token
    accepted = client.post(
        confirm, {**data, "csrfmiddlewaretoken": csrf}, secure=True, HTTP_ORIGIN="null"
    )
    assert accepted.status_code == 302
    assert BalanceConfirmation.objects.filter(customer=book.customer).exists()
