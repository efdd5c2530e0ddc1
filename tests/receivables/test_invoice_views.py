from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from receivables.models import CreditNote, Invoice, Payment
from receivables.services.payments import payment_record
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
NOW = timezone.make_aware(timezone.datetime(2026, 6, 30, 15, 0))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def own_invoice(rep):
    customer = CustomerFactory(sales_rep=rep, code="OWN-1", name="Own Customer")
    return InvoiceFactory(
        customer=customer,
        number="INV-OWN",
        issue_date=date(2026, 5, 1),
        due_date=date(2026, 5, 31),
        amount=Decimal("1000.00"),
    )


@pytest.fixture
def other_invoice():
    customer = CustomerFactory(code="OTHER-1", name="Other Customer")
    return InvoiceFactory(customer=customer, number="INV-OTHER", amount=Decimal("500.00"))


def _pay(invoice, amount="300.00", reference="R-1"):
    return payment_record(
        customer=invoice.customer,
        payment_date=date(2026, 6, 1),
        amount=Decimal(amount),
        currency=invoice.currency,
        reference=reference,
        actor=None,
    )


# --- Scope and roles -------------------------------------------------------------


def test_rep_lists_only_own_invoices(client, rep, own_invoice, other_invoice):
    client.force_login(rep)

    response = client.get(reverse("receivables:invoice_list"))

    assert response.status_code == 200
    assert [invoice.number for invoice in response.context["invoices"]] == ["INV-OWN"]
    assert "Record a payment" not in response.content.decode()


def test_rep_gets_404_for_another_reps_invoice_and_payment(client, rep, other_invoice):
    payment = _pay(other_invoice)
    client.force_login(rep)

    assert client.get(other_invoice.get_absolute_url()).status_code == 404
    assert client.get(payment.get_absolute_url()).status_code == 404
    assert (
        client.post(
            reverse("receivables:invoice_deliver", args=[other_invoice.pk]), {"method": "email"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("receivables:payment_reverse", args=[payment.pk]), {"reason": "x"}
        ).status_code
        == 404
    )


def test_rep_sees_own_invoice_and_payment_but_no_finance_actions(client, rep, own_invoice):
    payment = _pay(own_invoice)
    client.force_login(rep)

    invoice_page = client.get(own_invoice.get_absolute_url())
    payment_page = client.get(payment.get_absolute_url())

    assert invoice_page.status_code == 200
    assert "delivery_form" not in invoice_page.context
    assert payment_page.status_code == 200
    assert "reversal_form" not in payment_page.context


@pytest.mark.parametrize("user_factory", [SalesRepFactory, ManagerFactory])
def test_only_finance_records_payments_confirms_invoices_and_imports(
    client, own_invoice, user_factory
):
    # The rep owns the customer (so the refusal is about the role, not the scope).
    user = own_invoice.customer.sales_rep if user_factory is SalesRepFactory else user_factory()
    client.force_login(user)
    payment = _pay(own_invoice)

    urls = [
        ("get", reverse("receivables:payment_create")),
        ("get", reverse("receivables:invoice_create")),
        ("get", reverse("receivables:receivables_import")),
        ("post", reverse("receivables:invoice_deliver", args=[own_invoice.pk])),
        ("post", reverse("receivables:invoice_confirm_receipt", args=[own_invoice.pk])),
        ("post", reverse("receivables:invoice_cancel", args=[own_invoice.pk])),
        ("post", reverse("receivables:credit_note_create", args=[own_invoice.pk])),
        ("post", reverse("receivables:payment_reverse", args=[payment.pk])),
        ("post", reverse("receivables:payment_apply_credit", args=[payment.pk])),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    payment.refresh_from_db()
    assert payment.status == Payment.Status.POSTED


def test_anonymous_users_are_sent_to_login(client, own_invoice):
    response = client.get(own_invoice.get_absolute_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_navigation_offers_invoices_to_all_and_import_to_finance(client, rep, finance):
    url = reverse("receivables:invoice_list")
    client.force_login(rep)
    rep_items = [label for label, _url in client.get(url).context["nav_items"]]
    client.force_login(finance)
    finance_items = [label for label, _url in client.get(url).context["nav_items"]]

    assert "Invoices" in rep_items
    assert "Import" not in rep_items
    assert "Import" in finance_items


# --- Lists and query bounds -------------------------------------------------------


def test_invoice_list_queries_are_bounded_and_paginated(
    client, finance, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(5)
    for n in range(120):
        InvoiceFactory(customer=customers[n % 5], number=f"B-{n:04d}")
    client.force_login(finance)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("receivables:invoice_list"))
    with django_assert_max_num_queries(8):
        page_3 = client.get(reverse("receivables:invoice_list"), {"page": 3})

    assert len(response.context["invoices"]) == 50
    assert len(page_3.context["invoices"]) == 20


def test_invoice_list_filters(client, finance, own_invoice, other_invoice):
    InvoiceFactory(customer=other_invoice.customer, number="INV-USD", currency="USD")
    _pay(own_invoice, amount="1000.00")
    client.force_login(finance)
    url = reverse("receivables:invoice_list")

    def numbers(**params):
        return sorted(invoice.number for invoice in client.get(url, params).context["invoices"])

    assert numbers(q="own") == ["INV-OWN"]
    assert numbers(q="OTHER-1") == ["INV-OTHER", "INV-USD"]
    assert numbers(status="paid") == ["INV-OWN"]
    assert numbers(currency="USD") == ["INV-USD"]
    assert numbers(overdue="on") == ["INV-OTHER", "INV-USD"]  # due 2026-01-31
    assert client.get(url, {"status": "bogus"}).status_code == 200


def test_payment_list_queries_are_bounded(client, finance, django_assert_max_num_queries):
    for n in range(60):
        invoice = InvoiceFactory(number=f"P-{n}")
        _pay(invoice, amount="10.00", reference=f"R-{n}")
    client.force_login(finance)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("receivables:payment_list"))

    assert len(response.context["payments"]) == 50
    assert response.context["payments"][0].allocated == Decimal("10.00")


def _customer_page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_customer_page_shows_balance_and_ageing_in_bounded_queries(client, finance, own_invoice):
    client.force_login(finance)
    url = own_invoice.customer.get_absolute_url()
    few = _customer_page_queries(client, url)
    for n in range(30):
        InvoiceFactory(
            customer=own_invoice.customer,
            number=f"C-{n}",
            issue_date=TODAY - timedelta(days=n * 5 + 30),
            due_date=TODAY - timedelta(days=n * 5),
            amount=Decimal("100.00"),
        )
    _pay(own_invoice, amount="250.00")

    many = _customer_page_queries(client, url)
    html = client.get(url).content.decode()

    assert many == few
    assert 'id="customer-open-balance">CNY 3,750.00' in html
    assert 'data-bucket="total"><strong>CNY 3,750.00' in html
    assert 'data-bucket="current">100.00' in html  # due today
    assert 'data-bucket="1-30">1,600.00' in html  # INV-OWN + 6 x 100.00
    assert 'data-bucket="90+">850.00' in html  # 11 x 100.00 less the 250.00, oldest first


# --- Finance actions ------------------------------------------------------------


def test_finance_records_a_partial_payment_and_returns_to_the_customer(
    client, finance, own_invoice
):
    client.force_login(finance)
    customer = own_invoice.customer
    url = reverse("receivables:payment_create") + f"?customer={customer.pk}"

    form_page = client.get(url)
    response = client.post(
        url,
        {
            "payment_date": "2026-06-29",
            "amount": "400.00",
            "currency": "CNY",
            "reference": "BANK-77",
            "mode": "auto",
            "next": customer.get_absolute_url(),
        },
    )

    assert form_page.status_code == 200
    assert response.status_code == 302
    assert response.url == customer.get_absolute_url()
    own_invoice.refresh_from_db()
    assert own_invoice.outstanding == Decimal("600.00")
    payment = Payment.objects.get()
    assert payment.recorded_by == finance
    page = client.get(response.url).content.decode()
    assert "400.00 allocated" in page
    assert 'id="customer-open-balance">CNY 600.00' in page


def test_finance_allocates_explicitly_and_keeps_the_rest_as_credit(client, finance, own_invoice):
    second = InvoiceFactory(customer=own_invoice.customer, number="INV-2")
    client.force_login(finance)
    url = reverse("receivables:payment_create") + f"?customer={own_invoice.customer.pk}"

    response = client.post(
        url,
        {
            "payment_date": "2026-06-29",
            "amount": "500.00",
            "currency": "CNY",
            "reference": "BANK-78",
            "mode": "explicit",
            f"allocate_{second.pk}": "200.00",
        },
    )

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response.url == payment.get_absolute_url()
    second.refresh_from_db()
    own_invoice.refresh_from_db()
    assert (second.outstanding, own_invoice.outstanding) == (Decimal("800.00"), Decimal("1000"))
    detail = client.get(response.url)
    assert detail.context["unallocated"] == Decimal("300.00")
    assert "apply_form" in detail.context


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "USD"}, "invoiced in CNY, not USD"),
        ({"mode": "explicit"}, "at least one invoice"),
        ({"mode": "explicit", "allocate": "1000.01"}, "more than the open amount"),
        ({"amount": "0"}, "must be positive"),
        ({"payment_date": "2026-07-01"}, "is after today"),
        ({"amount": "1,000.00"}, "no thousands separator"),
    ],
)
def test_bad_payments_are_refused_with_a_message_and_nothing_is_written(
    client, finance, own_invoice, data, message
):
    client.force_login(finance)
    url = reverse("receivables:payment_create") + f"?customer={own_invoice.customer.pk}"
    post = {
        "payment_date": "2026-06-29",
        "amount": "100.00",
        "currency": "CNY",
        "reference": "B",
        "mode": "auto",
    } | data
    if "allocate" in post:
        post[f"allocate_{own_invoice.pk}"] = post.pop("allocate")
        post["amount"] = "2000.00"
        post["confirm_excess"] = "on"  # twice the balance: finance confirmed the amount

    response = client.post(url, post)

    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Payment.objects.exists()


def test_payment_create_without_a_customer_offers_a_choice(client, finance, own_invoice):
    client.force_login(finance)

    response = client.get(reverse("receivables:payment_create"))
    bogus = client.get(reverse("receivables:payment_create"), {"customer": "abc"})
    missing = client.get(reverse("receivables:payment_create"), {"customer": "999999"})

    assert own_invoice.customer in response.context["customers"]
    assert bogus.status_code == 200
    assert missing.status_code == 404


def test_finance_reverses_a_payment_and_the_invoice_reopens(client, finance, own_invoice):
    payment = _pay(own_invoice, amount="1000.00")
    client.force_login(finance)

    refused = client.post(reverse("receivables:payment_reverse", args=[payment.pk]), {})
    response = client.post(
        reverse("receivables:payment_reverse", args=[payment.pk]), {"reason": "Bounced"}
    )

    assert refused.status_code == 400
    assert response.status_code == 302
    own_invoice.refresh_from_db()
    assert own_invoice.outstanding == Decimal("1000.00")
    assert own_invoice.status == Invoice.Status.OPEN


def test_finance_applies_credit_oldest_first(client, finance, own_invoice):
    payment = payment_record(
        customer=own_invoice.customer,
        payment_date=date(2026, 6, 1),
        amount=Decimal("250.00"),
        currency="CNY",
        reference="CR",
        actor=None,
        allocations=[],
    )
    client.force_login(finance)

    response = client.post(
        reverse("receivables:payment_apply_credit", args=[payment.pk]), {"mode": "auto"}
    )

    assert response.status_code == 302
    own_invoice.refresh_from_db()
    assert own_invoice.outstanding == Decimal("750.00")


def test_finance_records_delivery_and_receipt_and_the_page_shows_the_proof(
    client, finance, own_invoice
):
    client.force_login(finance)
    before = client.get(own_invoice.get_absolute_url()).content.decode()

    delivered = client.post(
        reverse("receivables:invoice_deliver", args=[own_invoice.pk]),
        {"method": "courier", "tracking_number": "SF-1", "delivered_at": "2026-05-02T10:00"},
    )
    confirmed = client.post(
        reverse("receivables:invoice_confirm_receipt", args=[own_invoice.pk]),
        {"confirmed_by": "Ms Zhou", "confirmed_at": "2026-05-03T09:30"},
    )
    after = client.get(own_invoice.get_absolute_url()).content.decode()

    assert "No delivery recorded" in before
    assert (delivered.status_code, confirmed.status_code) == (302, 302)
    assert "SF-1" in after
    assert "Confirmed by Ms Zhou on 2026-05-03 09:30" in after
    own_invoice.refresh_from_db()
    assert own_invoice.has_proof_of_delivery
    assert own_invoice.has_confirmation_of_receipt


def test_delivery_without_tracking_number_is_refused_on_the_page(client, finance, own_invoice):
    client.force_login(finance)

    response = client.post(
        reverse("receivables:invoice_deliver", args=[own_invoice.pk]),
        {"method": "courier", "tracking_number": "", "delivered_at": "2026-05-02T10:00"},
    )

    assert response.status_code == 400
    assert "tracking number" in response.content.decode()
    own_invoice.refresh_from_db()
    assert own_invoice.delivered_at is None


def test_finance_issues_a_credit_note_and_cancels_an_invoice(client, finance, own_invoice):
    spare = InvoiceFactory(customer=own_invoice.customer, number="INV-SPARE")
    client.force_login(finance)

    noted = client.post(
        reverse("receivables:credit_note_create", args=[own_invoice.pk]),
        {"number": "CN-1", "amount": "100.00", "issue_date": "2026-06-01", "reason": "Damage"},
    )
    cancelled = client.post(
        reverse("receivables:invoice_cancel", args=[spare.pk]), {"reason": "Duplicate"}
    )

    assert (noted.status_code, cancelled.status_code) == (302, 302)
    assert CreditNote.objects.get().amount == Decimal("100.00")
    spare.refresh_from_db()
    assert spare.status == Invoice.Status.CANCELLED


def test_finance_issues_a_standalone_invoice_with_the_credit_check(client, finance):
    customer = CustomerFactory(credit_limit=Decimal("1000.00"))
    client.force_login(finance)
    url = reverse("receivables:invoice_create") + f"?customer={customer.pk}"
    data = {
        "customer": customer.pk,
        "number": "NEW-1",
        "issue_date": "2026-06-30",
        "due_date": "2026-07-30",
        "amount": "5000.00",
        "currency": "CNY",
    }

    refused = client.post(url, data)
    overridden = client.post(url, data | {"credit_override_reason": "CFO approved"})

    assert refused.status_code == 200
    assert "Credit limit exceeded" in refused.content.decode()
    assert overridden.status_code == 302
    assert Invoice.objects.get(number="NEW-1").amount == Decimal("5000.00")


# --- Import page --------------------------------------------------------------------


INVOICES_CSV = (
    "customer_code,customer_name,invoice_number,issue_date,due_date,amount,currency\n"
    "U-1,Upload Co,UP-1,2026-06-01,2026-06-30,100.00,CNY\n"
)


def test_import_page_shows_every_bad_line_and_writes_nothing(client, finance):
    client.force_login(finance)
    bad = INVOICES_CSV + 'U-1,Upload Co,UP-2,2026-06-01,2026-06-30,"1,000.00",CNY\n'

    response = client.post(
        reverse("receivables:receivables_import"),
        {"invoices_file": SimpleUploadedFile("invoices.csv", bad.encode())},
    )

    assert response.status_code == 400
    assert response.context["errors"] == [
        "line 3: amount '1,000.00' has a comma; write plain decimals with a dot and no "
        "thousands separator, e.g. 1000.00."
    ]
    assert "line 3: amount" in response.content.decode().replace("&#x27;", "'")
    assert not Invoice.objects.exists()


def test_import_page_dry_run_then_import_then_nothing_new(client, finance):
    client.force_login(finance)
    url = reverse("receivables:receivables_import")

    def upload(**extra):
        return client.post(
            url, {"invoices_file": SimpleUploadedFile("i.csv", INVOICES_CSV.encode())} | extra
        )

    dry = upload(dry_run="on")
    assert "Dry run" in dry.content.decode()
    assert not Invoice.objects.exists()
    real = upload()
    assert "Imported" in real.content.decode()
    again = upload()
    assert "Nothing new" in again.content.decode()
    assert Invoice.objects.get().created_by == finance
