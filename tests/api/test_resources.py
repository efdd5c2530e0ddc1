"""The API's resources: scoping as the pages, writes through the services, money as strings."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from dunning.models import Dispute, PromiseToPay
from receivables.models import Customer, Invoice, Payment
from tests.factories.contracts import PDF_BYTES
from tests.factories.invoices import InvoiceFactory

pytestmark = pytest.mark.django_db

DETAILS = {
    "customers": "customer",
    "invoices": "invoice",
    "payments": "payment",
    "credit-notes": "credit_note",
    "contracts": "contract",
    "milestones": "milestone",
    "cases": "case",
    "messages": "message",
    "promises": "promise",
    "disputes": "dispute",
    "acceptance-bills": "bill",
}


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(("path", "attribute"), DETAILS.items())
def test_a_rep_sees_their_own_objects_and_gets_404_for_another_reps(api, books, path, attribute):
    mine = getattr(books["rep1"], attribute)
    theirs = getattr(books["rep2"], attribute)

    assert api("rep1").get(f"/api/v1/{path}/{mine.pk}/").status_code == 200
    missing = api("rep1").get(f"/api/v1/{path}/{theirs.pk}/")
    assert missing.status_code == 404
    assert missing.json() == api("rep1").get(f"/api/v1/{path}/999999/").json()
    listed = api("rep1").get(f"/api/v1/{path}/")
    assert mine.pk in _ids(listed)
    assert theirs.pk not in _ids(listed)


@pytest.mark.parametrize("role", ["finance1", "manager1", "admin"])
def test_finance_managers_and_admins_see_every_reps_objects(api, books, role):
    listed = _ids(api(role).get("/api/v1/invoices/"))
    assert {books["rep1"].invoice.pk, books["rep2"].invoice.pk} <= listed


def test_a_user_without_a_role_sees_nothing(api, books, users, db):
    from api.services import api_token_create
    from tests.factories.users import UserFactory

    _token, key = api_token_create(user=UserFactory(username="nobody"), name="n")
    client = api("rep1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/invoices/").json()["results"] == []
    assert client.get(f"/api/v1/invoices/{books['rep1'].invoice.pk}/").status_code == 404


def test_a_customer_shows_contacts_credit_limit_terms_and_money_as_strings(api, books):
    body = api("rep1").get(f"/api/v1/customers/{books['rep1'].customer.pk}/").json()
    assert body["credit_limit"] == "500000.00"
    assert body["payment_terms_days"] == 30
    assert body["open_receivables"] == "1290.00"
    assert [contact["role"] for contact in body["contacts"]] == ["finance"]


def test_a_rep_creates_a_customer_they_own(api, users):
    response = api("rep1").post(
        "/api/v1/customers/", {"code": "NEW-1", "name": "New Co"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Customer.objects.get(code="NEW-1").sales_rep == users["rep1"]
    assert response.json()["credit_limit"] == "0.00"


def test_a_rep_cannot_give_a_customer_to_another_rep(api, users):
    response = api("rep1").post(
        "/api/v1/customers/",
        {"code": "NEW-2", "name": "New Co", "sales_rep": "rep2"},
        format="json",
    )
    assert response.status_code == 400
    assert "sales_rep" in response.json()
    assert not Customer.objects.filter(code="NEW-2").exists()


def _invoice_body(customer, **overrides) -> dict:
    return {
        "customer": customer.pk,
        "number": "API-INV-1",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "amount": "1234.50",
        "currency": "CNY",
    } | overrides


def test_finance_issues_an_invoice_through_the_service(api, books):
    response = api("finance1").post(
        "/api/v1/invoices/", _invoice_body(books["rep1"].customer), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "1234.50"
    assert response.json()["outstanding"] == "1234.50"
    invoice = Invoice.objects.get(number="API-INV-1")
    assert invoice.amount == Decimal("1234.50")
    assert invoice.created_by.username == "finance1"


def test_a_rep_may_not_issue_invoices(api, books):
    response = api("rep1").post(
        "/api/v1/invoices/", _invoice_body(books["rep1"].customer), format="json"
    )
    assert response.status_code == 403
    assert not Invoice.objects.filter(number="API-INV-1").exists()


@pytest.mark.parametrize("amount", ["12,50", "1.234", "abc", "-5.00", "0.00", "1e3", "", 12.5])
def test_malformed_money_answers_400_beside_the_field(api, books, amount):
    response = api("finance1").post(
        "/api/v1/invoices/", _invoice_body(books["rep1"].customer, amount=amount), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["amount"]
    assert not Invoice.objects.filter(number="API-INV-1").exists()


def test_errors_speak_the_language_of_accept_language(api, books):
    body = _invoice_body(books["rep1"].customer, amount="12,50", due_date="not a date")
    english = api("finance1").post("/api/v1/invoices/", body, format="json").json()
    chinese = (
        api("finance1", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .post("/api/v1/invoices/", body, format="json")
        .json()
    )
    assert set(english) == set(chinese) == {"amount", "due_date"}
    assert english["amount"] != chinese["amount"]
    assert "金额" in chinese["amount"][0]
    assert "日期" in chinese["due_date"][0]


def test_a_refusal_of_the_credit_check_is_a_400_with_the_reason(api, books):
    customer = books["rep1"].customer
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("1000.00"))
    response = api("finance1").post("/api/v1/invoices/", _invoice_body(customer), format="json")
    assert response.status_code == 400
    assert "limit" in json.dumps(response.json()).lower()
    assert not Invoice.objects.filter(number="API-INV-1").exists()
    overridden = api("finance1").post(
        "/api/v1/invoices/",
        _invoice_body(customer, credit_override_reason="Paid in advance by cheque"),
        format="json",
    )
    assert overridden.status_code == 201


def test_finance_cannot_invoice_a_customer_that_does_not_exist(api, books):
    response = api("rep1").post(
        "/api/v1/invoices/", _invoice_body(books["rep2"].customer), format="json"
    )
    assert response.status_code == 403
    response = api("finance1").post(
        "/api/v1/invoices/", {**_invoice_body(books["rep2"].customer), "customer": 99999}
    )
    assert response.status_code == 400
    assert "customer" in response.json()


def test_invoice_filters(api, books):
    rep1 = books["rep1"]
    client = api("finance1")

    def numbers(query: str) -> set[str]:
        return {row["number"] for row in client.get(f"/api/v1/invoices/?{query}").json()["results"]}

    assert numbers(f"customer={rep1.customer.pk}") == {"R1-INV-0", "R1-CUR"}
    assert numbers("rep=rep2") == {"R2-INV-0", "R2-CUR"}
    assert numbers("overdue=true") == {"R1-INV-0", "R2-INV-0"}
    assert numbers("due_from=2026-03-01&due_to=2026-03-31") == {"R1-CUR", "R2-CUR"}
    assert numbers("bucket=90%2B") == {"R1-INV-0", "R2-INV-0"}
    assert numbers("bucket=current&rep=rep1") == {"R1-CUR"}
    # As of 2025-12-15 the October invoice was 61-90 days past due; the January one not issued.
    assert numbers("bucket=61-90&as_of=2025-12-15&rep=rep1") == {"R1-INV-0"}
    assert numbers("bucket=current&as_of=2025-12-15&rep=rep1") == set()
    Invoice.objects.filter(number="R1-CUR").update(status=Invoice.Status.CANCELLED)
    assert numbers("status=cancelled") == {"R1-CUR"}
    assert client.get("/api/v1/invoices/?bucket=7-8").status_code == 400


def test_finance_cancels_an_invoice_with_a_reason(api, books):
    invoice = books["rep1"].current_invoice
    assert api("rep1").post(f"/api/v1/invoices/{invoice.pk}/cancel/", {}).status_code == 403
    assert api("finance1").post(f"/api/v1/invoices/{invoice.pk}/cancel/", {}).status_code == 400
    response = api("finance1").post(
        f"/api/v1/invoices/{invoice.pk}/cancel/", {"reason": "Issued twice"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["outstanding"] == "0.00"


def test_a_payment_with_allocation_goes_through_the_service_and_reverses(api, books):
    invoice = books["rep1"].invoice
    response = api("finance1").post(
        "/api/v1/payments/",
        {
            "customer": invoice.customer_id,
            "payment_date": "2026-03-02",
            "amount": "500.00",
            "currency": "CNY",
            "reference": "WIRE-1",
            "allocations": [{"invoice": invoice.pk, "amount": "400.00"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["unallocated"] == "100.00"
    assert body["allocations"] == [
        {"invoice": invoice.pk, "invoice_number": invoice.number, "amount": "400.00"}
    ]
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("590.00")

    reversed_ = api("finance1").post(
        f"/api/v1/payments/{body['id']}/reverse/", {"reason": "Bounced"}, format="json"
    )
    assert reversed_.status_code == 200
    assert reversed_.json()["status"] == "reversed"
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("990.00")


def test_a_payment_in_the_future_or_over_the_open_amount_is_refused(api, books):
    invoice = books["rep1"].invoice
    base = {
        "customer": invoice.customer_id,
        "payment_date": "2026-03-02",
        "amount": "5000.00",
        "currency": "CNY",
    }
    future = api("finance1").post(
        "/api/v1/payments/", {**base, "payment_date": "2026-03-03"}, format="json"
    )
    assert future.status_code == 400
    assert "payment_date" in future.json()
    over = api("finance1").post(
        "/api/v1/payments/",
        {**base, "allocations": [{"invoice": invoice.pk, "amount": "5000.00"}]},
        format="json",
    )
    assert over.status_code == 400
    # The book's payment and the one its acceptance bill recorded; nothing new
    assert Payment.objects.filter(customer=invoice.customer).count() == 2


def test_a_rep_cannot_allocate_to_another_reps_invoice_even_as_finance_of_a_wrong_customer(
    api, books
):
    before = Payment.objects.filter(customer=books["rep1"].customer).count()
    response = api("finance1").post(
        "/api/v1/payments/",
        {
            "customer": books["rep1"].customer.pk,
            "payment_date": "2026-03-02",
            "amount": "50.00",
            "currency": "CNY",
            "allocations": [{"invoice": books["rep2"].invoice.pk, "amount": "50.00"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert Payment.objects.filter(customer=books["rep1"].customer).count() == before


def test_finance_issues_a_credit_note(api, books):
    invoice = books["rep1"].current_invoice
    body = {
        "invoice": invoice.pk,
        "number": "CN-API-1",
        "issue_date": "2026-03-02",
        "amount": "100.00",
        "reason": "Short delivery",
    }
    assert api("rep1").post("/api/v1/credit-notes/", body, format="json").status_code == 403
    response = api("finance1").post("/api/v1/credit-notes/", body, format="json")
    assert response.status_code == 201, response.json()
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("200.00")


def test_a_rep_records_a_promise_and_a_dispute_through_the_services(api, books):
    rep1 = books["rep1"]
    fresh = InvoiceFactory(customer=rep1.customer, number="R1-NEW", due_date=date(2026, 2, 1))
    promise = api("rep1").post(
        "/api/v1/promises/",
        {
            "customer": rep1.customer.pk,
            "invoices": [fresh.pk],
            "amount": "800.00",
            "promised_date": "2026-03-09",
        },
        format="json",
    )
    assert promise.status_code == 201, promise.json()
    assert promise.json()["amount"] == "800.00"
    assert PromiseToPay.objects.get(pk=promise.json()["id"]).recorded_by.username == "rep1"

    other = InvoiceFactory(customer=rep1.customer, number="R1-NEW-2", due_date=date(2026, 2, 1))
    dispute = api("rep1").post(
        "/api/v1/disputes/",
        {"customer": rep1.customer.pk, "invoices": [other.pk], "reason": "Wrong quantity"},
        format="json",
    )
    assert dispute.status_code == 201, dispute.json()
    assert Dispute.objects.get(pk=dispute.json()["id"]).opened_by.username == "rep1"


def test_a_rep_cannot_record_a_promise_on_another_reps_customer(api, books):
    rep2 = books["rep2"]
    response = api("rep1").post(
        "/api/v1/promises/",
        {
            "customer": rep2.customer.pk,
            "invoices": [rep2.current_invoice.pk],
            "amount": "10.00",
            "promised_date": "2026-03-09",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"customer", "invoices"}
    assert PromiseToPay.objects.filter(customer=rep2.customer).count() == 1


def test_the_letter_downloads_as_a_pdf_in_scope_only(api, books):
    message = books["rep1"].message
    response = api("rep1").get(f"/api/v1/messages/{message.pk}/letter/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF_BYTES
    detail = api("rep1").get(f"/api/v1/messages/{message.pk}/").json()
    assert detail["has_letter"] is True
    assert detail["letter_url"] == f"/api/v1/messages/{message.pk}/letter/"
    assert api("rep2").get(f"/api/v1/messages/{message.pk}/letter/").status_code == 404


@pytest.mark.parametrize("as_of", ["2026-03-02", "2025-12-15"])
def test_ageing_is_the_aging_report_of_what_the_user_sees(api, books, as_of):
    out = StringIO()
    call_command("aging_report", "--as-of", as_of, "--format", "json", stdout=out)
    assert api("finance1").get(f"/api/v1/ageing/?as_of={as_of}").json() == json.loads(
        out.getvalue()
    )
    out = StringIO()
    call_command("aging_report", "--as-of", as_of, "--rep", "rep1", stdout=out)
    assert api("rep1").get(f"/api/v1/ageing/?as_of={as_of}").json() == json.loads(out.getvalue())
    assert api("rep1").get("/api/v1/ageing/?as_of=2026-13-01").status_code == 400
    assert api("rep1").get("/api/v1/ageing/?currency=XYZ").status_code == 400


def test_pages_follow_a_cursor(api, books):
    for n in range(5):
        InvoiceFactory(customer=books["rep1"].customer, number=f"R1-PAGE-{n}")
    client = api("rep1")
    seen = []
    url = "/api/v1/invoices/?page_size=3"
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 3
        seen += [row["number"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7


def test_the_session_works_with_csrf(client, users, books):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(users["rep1"])
    assert csrf_client.get("/api/v1/invoices/").status_code == 200
    refused = csrf_client.post(
        "/api/v1/customers/", {"code": "X-1", "name": "X"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert not Customer.objects.filter(code="X-1").exists()


def test_anonymous_requests_are_refused_but_the_schema_is_public(client, books):
    assert client.get("/api/v1/invoices/").status_code in (401, 403)
    assert client.get("/api/schema/").status_code == 200


def test_lists_of_payments_cases_messages_promises_and_disputes_filter(api, books):
    from tests.factories.cases import CommunicationFactory

    rep1 = books["rep1"]
    CommunicationFactory(customer=rep1.customer, channels=["email"], level="reminder")
    client = api("finance1")

    def ids(query: str) -> set[int]:
        return _ids(client.get(f"/api/v1/{query}"))

    assert ids(f"payments/?customer={rep1.customer.pk}") == {
        rep1.payment.pk,
        rep1.bill.payment_id,
    }
    assert ids("payments/?status=reversed") == set()
    assert ids("payments/?date_from=2026-02-02") == set()
    assert ids(f"cases/?customer={rep1.customer.pk}&status=open") == {rep1.case.pk}
    assert ids(f"messages/?customer={rep1.customer.pk}&has_letter=true") == {rep1.message.pk}
    assert len(ids(f"messages/?customer={rep1.customer.pk}&level=reminder")) == 1
    assert ids(f"promises/?customer={rep1.customer.pk}&status=open") == {rep1.promise.pk}
    assert ids(f"disputes/?customer={rep1.customer.pk}&status=open") == {rep1.dispute.pk}
    assert client.get("/api/v1/payments/?customer=99999999999999999999999").status_code == 400


# --- Bank receipts and acceptance bills ------------------------------------------


@pytest.mark.parametrize("role", ["finance1", "manager1", "admin"])
def test_finance_and_managers_see_every_receipt_with_its_customer(api, books, role):
    body = api(role).get("/api/v1/bank-receipts/?page_size=100").json()
    by_id = {row["id"]: row for row in body["results"]}
    for rep in ("rep1", "rep2"):
        applied = by_id[books[rep].receipt.pk]
        assert applied["customer_code"] == books[rep].customer.code
        assert applied["payment"] == books[rep].payment.pk
        assert applied["amount"] == f"{books[rep].payment.amount:.2f}"
        assert applied["bank_account"] == f"{books[rep].customer.code}-ICBC"
        assert books[rep].unmatched_receipt.pk in by_id


def test_a_rep_sees_only_the_receipts_offered_to_claims_with_their_public_fields(api, books):
    client = api("rep1")
    body = client.get("/api/v1/bank-receipts/").json()

    # Every unmatched receipt (nobody's yet, as on the claim page), none placed with a customer
    assert _ids_of(body) == {books["rep1"].unmatched_receipt.pk, books["rep2"].unmatched_receipt.pk}
    row = next(row for row in body["results"] if row["id"] == books["rep2"].unmatched_receipt.pk)
    assert row["amount"] == "88.00"
    assert row["payer_name"] == "Unknown payer"
    assert row["memo"] == "goods"
    assert row["customer"] is row["customer_code"] is row["bank_account"] is None
    assert row["transaction_id"] is row["payer_account"] is None
    # A receipt placed with a customer, even the rep's own, is not on the claim page: 404
    for rep in ("rep1", "rep2"):
        assert client.get(f"/api/v1/bank-receipts/{books[rep].receipt.pk}/").status_code == 404
    detail = client.get(f"/api/v1/bank-receipts/{books['rep2'].unmatched_receipt.pk}/").json()
    assert detail == row


def _ids_of(body) -> set[int]:
    return {row["id"] for row in body["results"]}


def test_receipts_filter_by_status_date_range_and_account(api, books):
    client = api("finance1")
    applied = _ids_of(client.get("/api/v1/bank-receipts/?status=applied").json())
    assert applied == {books["rep1"].receipt.pk, books["rep2"].receipt.pk}
    late = _ids_of(client.get("/api/v1/bank-receipts/?date_from=2026-02-21").json())
    assert late == {books["rep1"].unmatched_receipt.pk, books["rep2"].unmatched_receipt.pk}
    early = _ids_of(client.get("/api/v1/bank-receipts/?date_to=2026-02-20").json())
    assert early == applied
    account = _ids_of(client.get("/api/v1/bank-receipts/?account=R2-ICBC").json())
    assert account == {books["rep2"].receipt.pk, books["rep2"].unmatched_receipt.pk}
    bad = client.get("/api/v1/bank-receipts/?status=lost&date_from=2026-13-01")
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "date_from"}


def test_bills_are_scoped_filtered_and_their_money_is_strings(api, books):
    bill = books["rep1"].bill
    body = api("rep1").get(f"/api/v1/acceptance-bills/{bill.pk}/").json()
    assert body["face_amount"] == "500.00"
    assert body["discount_amount"] is None
    assert body["cash_received"] is None
    assert body["status"] == "held"
    assert body["customer_code"] == "R1"
    client = api("finance1")
    assert _ids_of(client.get("/api/v1/acceptance-bills/?status=held").json()) == {
        books["rep1"].bill.pk,
        books["rep2"].bill.pk,
    }
    assert _ids_of(client.get("/api/v1/acceptance-bills/?status=collected").json()) == set()
    maturity = bill.maturity_date.isoformat()
    assert _ids_of(
        client.get(
            f"/api/v1/acceptance-bills/?maturity_from={maturity}&maturity_to={maturity}"
            f"&customer={books['rep2'].customer.pk}"
        ).json()
    ) == {books["rep2"].bill.pk}
