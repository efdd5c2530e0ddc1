"""The customer's statements on its page, and the balance it confirms: the statement's."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from portal.models import BalanceConfirmation
from statements.models import Statement
from tests.factories.invoices import PaymentFactory
from tests.factories.statements import sent_statement
from tests.portal.conftest import AS_OF

pytestmark = pytest.mark.django_db

FEBRUARY = {"period_start": date(2026, 2, 1), "period_end": AS_OF}


def _pdf_text(response) -> str:
    body = b"".join(response.streaming_content)
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_contact_downloads_a_sent_statement_rendered_when_first_opened(client, book):
    statement = sent_statement(customer=book.customer, closing=Decimal("10000.00"), **FEBRUARY)
    url = reverse("portal:statement_pdf", kwargs={"token": book.token, "pk": statement.pk})

    page = client.get(reverse("portal:page", kwargs={"token": book.token})).content.decode()
    first = client.get(url)
    second = client.get(url)

    assert f'href="{url}"' in page
    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert "no-store" in first["Cache-Control"]
    text = _pdf_text(first)
    assert "10,000.00" in text
    assert "Alpha Trading" in text
    statement.refresh_from_db()
    assert statement.pdf  # kept: the second answer is the same document
    assert _pdf_text(second) == text


def test_another_customers_statement_or_one_not_sent_is_404(client, book, other_book):
    theirs = sent_statement(customer=book.customer, closing=Decimal("10000.00"), **FEBRUARY)
    unsent = sent_statement(customer=other_book.customer, closing=Decimal("1.00"), **FEBRUARY)
    Statement.objects.filter(pk=unsent.pk).update(status=Statement.Status.PENDING)

    for pk in (theirs.pk, unsent.pk, 999_999):
        url = reverse("portal:statement_pdf", kwargs={"token": other_book.token, "pk": pk})
        response = client.get(url)
        assert response.status_code == 404
        assert book.customer.name not in response.content.decode()
    theirs.refresh_from_db()
    assert not theirs.pdf  # nothing was rendered for the stranger


def test_the_confirmed_balance_is_the_statements_closing_with_unallocated_credit(client, book):
    # 10,000 invoiced; 700 received on the 25th and not yet allocated to any invoice.
    PaymentFactory(customer=book.customer, payment_date=date(2026, 2, 25), amount=Decimal(700))

    page = client.get(reverse("portal:page", kwargs={"token": book.token})).content.decode()
    response = client.post(
        reverse("portal:confirm", kwargs={"token": book.token}),
        {"name": "Qian Li", "position": "CFO"},
    )

    assert response.status_code == 302
    confirmation = BalanceConfirmation.objects.get(customer=book.customer)
    assert confirmation.balance == Decimal("9300.00")  # not the open invoices' 10,000
    assert "9,300.00" in page


def test_the_confirmed_balance_is_the_closing_of_the_statement_that_was_sent(client, book):
    sent_statement(customer=book.customer, closing=Decimal("9999.99"), **FEBRUARY)

    client.post(
        reverse("portal:confirm", kwargs={"token": book.token}),
        {"name": "Qian Li", "position": "CFO"},
    )

    assert BalanceConfirmation.objects.get(customer=book.customer).balance == Decimal("9999.99")
