"""Every portal URL, opened with another customer's token, finds nothing of the first."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import URLPattern, reverse

from dunning.models import Dispute, PromiseToPay
from portal.models import BalanceConfirmation, DocumentRequest
from portal.services.actions import Visitor, portal_balance_confirm
from portal.urls import urlpatterns
from tests.factories.statements import sent_statement
from tests.portal.conftest import AS_OF, TODAY

pytestmark = pytest.mark.django_db

PORTAL_NAMES = {
    pattern.name
    for pattern in urlpatterns
    if isinstance(pattern, URLPattern) and str(pattern.pattern).startswith("p/")
}


def _first_customers_words(book) -> list[str]:
    return [
        book.customer.name,
        book.customer.code,
        book.contract.number,
        *[invoice.number for invoice in book.invoices],
        f"{book.customer.code}-proof",
        "Qian Li",
    ]


def test_every_portal_url_with_another_customers_token_reveals_nothing(client, book, other_book):
    confirmation = portal_balance_confirm(
        link=book.link,
        position="CFO",
        visitor=Visitor(name="Qian Li", ip_address="203.0.113.9", user_agent="x"),
        language="en",
        today=TODAY,
    )
    statement = sent_statement(
        customer=book.customer,
        period_start=date(2026, 2, 1),
        period_end=AS_OF,
        closing=Decimal("10000.00"),
    )
    token = other_book.token
    first_ids = {
        "proof": book.proof_id,
        "letter": book.letter.pk,
        "confirmation_pdf": confirmation.pk,
        "statement_pdf": statement.pk,
    }
    walked = set()
    answers = []
    for name in ("page",):
        answers.append(client.get(reverse(f"portal:{name}", kwargs={"token": token})))
        walked.add(name)
    for name, pk in first_ids.items():
        response = client.get(reverse(f"portal:{name}", kwargs={"token": token, "pk": pk}))
        assert response.status_code == 404, name
        answers.append(response)
        walked.add(name)
    first_invoice_ids = [invoice.pk for invoice in book.invoices]
    posts = {
        "confirm": {"name": "Mallory", "position": "x"},
        "dispute": {"invoices": first_invoice_ids, "reason": "x", "name": "Mallory"},
        "promise": {
            "invoices": first_invoice_ids,
            "amount": "1.00",
            "promised_date": "2026-03-10",
            "name": "Mallory",
        },
        "request": {"document": "invoice", "invoice": first_invoice_ids[0], "name": "Mallory"},
    }
    for name, data in posts.items():
        response = client.post(reverse(f"portal:{name}", kwargs={"token": token}), data)
        answers.append(response)
        walked.add(name)
    assert walked == PORTAL_NAMES, "a new portal URL must be walked here too"

    for response in answers:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode(errors="replace")
        for word in _first_customers_words(book):
            assert word not in text
    # The first customer's items took no dispute, promise or request from the stranger
    assert not Dispute.objects.filter(customer=book.customer).exists()
    assert not PromiseToPay.objects.filter(customer=book.customer).exists()
    assert not DocumentRequest.objects.filter(customer=book.customer).exists()
    # The confirm went to the second customer's own balance, never the first's
    assert BalanceConfirmation.objects.filter(customer=book.customer).count() == 1


def test_the_page_shows_no_internal_state(client, book):
    from dunning.models import CaseEvent
    from tests.factories.cases import CollectionCaseFactory

    CollectionCaseFactory(
        customer=book.customer, owner=book.customer.sales_rep, notes="Secret rep note: cheapskate"
    )
    CaseEvent.objects.create(customer=book.customer, kind=CaseEvent.Kind.NOTE, text="internal")
    page = client.get(reverse("portal:page", kwargs={"token": book.token})).content.decode()
    for word in ("Secret rep note", "Demand letter", "demand_letter", "internal", "Open case"):
        assert word not in page
    assert book.invoices[0].number in page
    assert book.customer.sales_rep.username not in page


def test_the_page_takes_a_bounded_number_of_queries(client, book, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = client.get(reverse("portal:page", kwargs={"token": book.token}))
    assert response.status_code == 200


def test_the_page_speaks_the_customers_language_with_a_switch(client, book):
    book.customer.language = "zh-hans"
    book.customer.save(update_fields=["language"])
    url = reverse("portal:page", kwargs={"token": book.token})
    chinese = client.get(url).content.decode()
    assert 'lang="zh-hans"' in chinese
    assert "English" in chinese
    assert "未结款项" in chinese
    english = client.get(url + "?lang=en").content.decode()
    assert 'lang="en"' in english
    assert "Open items" in english
