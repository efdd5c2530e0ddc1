"""`Idempotency-Key` on POST of payments and invoices."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.models import IdempotencyRecord
from api.services import api_token_create
from receivables.models import Invoice, Payment
from tests.api.conftest import make_book
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


def _payment_body(book, **overrides) -> dict:
    return {
        "customer": book.customer.pk,
        "payment_date": "2026-03-02",
        "amount": "250.00",
        "currency": "CNY",
        "reference": "WIRE-77",
    } | overrides


def test_a_retried_payment_returns_the_first_answer_and_writes_nothing(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="pay-1")
    first = client.post("/api/v1/payments/", _payment_body(books["rep1"]))
    assert first.status_code == 201, first.json()
    count = Payment.objects.count()

    again = client.post("/api/v1/payments/", _payment_body(books["rep1"]))

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == count
    assert IdempotencyRecord.objects.count() == 1


def test_the_same_key_with_another_body_answers_422(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="pay-2")
    assert client.post("/api/v1/payments/", _payment_body(books["rep1"])).status_code == 201
    count = Payment.objects.count()

    other = client.post("/api/v1/payments/", _payment_body(books["rep1"], amount="251.00"))

    assert other.status_code == 422
    assert Payment.objects.count() == count


def test_key_order_and_spacing_of_the_body_do_not_matter(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="pay-3")
    body = _payment_body(books["rep1"])
    assert client.post("/api/v1/payments/", body).status_code == 201
    reordered = dict(reversed(list(body.items())))
    assert client.post("/api/v1/payments/", reordered).status_code == 201
    assert Payment.objects.filter(reference="WIRE-77").count() == 1


def test_a_refused_request_keeps_nothing_so_a_corrected_retry_runs(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="pay-4")
    refused = client.post(
        "/api/v1/payments/", _payment_body(books["rep1"], payment_date="2026-04-01")
    )
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert client.post("/api/v1/payments/", _payment_body(books["rep1"])).status_code == 201


def test_keys_belong_to_their_user_and_endpoint(api, books, users):
    body = _payment_body(books["rep1"])
    assert (
        api("finance1", HTTP_IDEMPOTENCY_KEY="k").post("/api/v1/payments/", body).status_code == 201
    )
    # The admin's same key is their own: a second payment (another reference) goes through.
    admin = api("admin", HTTP_IDEMPOTENCY_KEY="k")
    assert admin.post("/api/v1/payments/", {**body, "reference": "W-2"}).status_code == 201
    invoice = {
        "customer": books["rep1"].customer.pk,
        "number": "IDEM-INV-1",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "amount": "100.00",
        "currency": "CNY",
    }
    issued = api("finance1", HTTP_IDEMPOTENCY_KEY="k").post("/api/v1/invoices/", invoice)
    assert issued.status_code == 201
    assert Payment.objects.filter(reference__in=["WIRE-77", "W-2"]).count() == 2


def test_a_retried_invoice_is_issued_once(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="inv-1")
    body = {
        "customer": books["rep1"].customer.pk,
        "number": "IDEM-INV-2",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "amount": "100.00",
        "currency": "CNY",
    }
    first = client.post("/api/v1/invoices/", body)
    again = client.post("/api/v1/invoices/", body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Invoice.objects.filter(number="IDEM-INV-2").count() == 1
    assert client.post("/api/v1/invoices/", {**body, "amount": "1.00"}).status_code == 422


def test_an_overlong_key_is_a_400(api, books):
    client = api("finance1", HTTP_IDEMPOTENCY_KEY="x" * 300)
    response = client.post("/api/v1/payments/", _payment_body(books["rep1"]))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_record_one_payment():
    """Eight threads send the same keyed payment at once: one payment, eight equal answers."""
    _token, key = api_token_create(user=FinanceUserFactory(username="fin-cc"), name="cc")
    book = make_book(SalesRepFactory(username="rep-concurrent"), code="CC")
    body = _payment_body(book)
    barrier = threading.Barrier(8)
    answers = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_IDEMPOTENCY_KEY="same")
        barrier.wait()
        try:
            response = client.post("/api/v1/payments/", body)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _body in answers] == [201] * 8
    # PostgreSQL's jsonb keeps keys in its own order: compare the answers, not their text.
    assert all(body == answers[0][1] for _status, body in answers)
    assert Payment.objects.filter(customer=book.customer, reference="WIRE-77").count() == 1


def test_answers_past_their_time_to_live_are_purged_by_the_beat_task(
    api, books, settings, monkeypatch, django_assert_max_num_queries
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from api import services
    from api.tasks import idempotency_records_purge_task

    settings.API_IDEMPOTENCY_TTL = timedelta(hours=24)
    monkeypatch.setattr(services, "PURGE_BATCH", 2)
    now = timezone.now()
    for hours, key in ((30, "old-1"), (26, "old-2"), (25, "old-3"), (23, "young")):
        with time_machine.travel(now - timedelta(hours=hours), tick=False):
            response = api("finance1", HTTP_IDEMPOTENCY_KEY=key).post(
                "/api/v1/payments/",
                _payment_body(books["rep1"], reference=key, payment_date="2026-02-27"),
            )
            assert response.status_code == 201

    with django_assert_max_num_queries(2 * 3 + 1):
        assert idempotency_records_purge_task() == {"purged": 3}

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert idempotency_records_purge_task() == {"purged": 0}
