"""Bill pages: finance receives and changes bills; reps see their own customers' bills only;
the desk, the dashboard and the customer page show them with a bounded number of queries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bills.models import AcceptanceBill
from core.roles import user_roles
from dunning.models import CaseEvent
from receivables.models import Invoice
from tests.bills.conftest import at
from tests.factories.bills import receive_bill
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)  # a Monday


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


@pytest.fixture(autouse=True)
def _clock():
    with at(TODAY):
        yield


def a_bill(customer, *, number="BA-100", maturity=TODAY + timedelta(days=20), face="1000.00"):
    return receive_bill(
        customer=customer,
        received_on=TODAY,
        face=face,
        number=number,
        issue=TODAY - timedelta(days=10),
        maturity=maturity,
    )


def receive_data(**change):
    data = {
        "number": "BA-777",
        "kind": "bank",
        "acceptor": "Bank of Ningbo",
        "drawer": "Northwind Trading",
        "issue_date": "2026-06-01",
        "maturity_date": "2026-12-01",
        "face_amount": "1500.00",
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
        "mode": "explicit",
    }
    return data | change


def test_finance_receives_a_bill_on_the_page_and_its_invoice_is_paid(client, customer, finance):
    invoice = due_invoice(customer=customer, due=TODAY - timedelta(days=3), amount="1500.00")
    client.force_login(finance)

    chooser = client.get(reverse("bills:bill_receive"))
    assert customer.code in chooser.content.decode()
    url = reverse("bills:bill_receive") + f"?customer={customer.pk}"
    form = client.get(url)
    assert form.status_code == 200
    assert invoice.number in form.content.decode()

    response = client.post(url, receive_data(**{f"allocate_{invoice.pk}": "1500.00"}))

    bill = AcceptanceBill.objects.get(number="BA-777")
    assert response.status_code == 302
    assert response.url == bill.get_absolute_url()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.outstanding) == (Invoice.Status.PAID, Decimal("0.00"))
    assert bill.received_by == finance
    detail = client.get(bill.get_absolute_url()).content.decode()
    assert invoice.number in detail
    assert 'data-action="discount"' in detail


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"maturity_date": "2026-05-01"}, "maturity_date", "before the issue date"),
        ({"number": "BA-100"}, "number", "already recorded"),
        ({"received_on": "2026-06-16"}, "received_on", "after today"),
        ({"face_amount": "1,500.00"}, "face_amount", "plain amount"),
        ({"acceptor": ""}, "acceptor", "required"),
    ],
)
def test_the_receive_form_shows_each_refusal_beside_its_field(
    client, customer, finance, change, field, message
):
    a_bill(customer)
    client.force_login(finance)
    url = reverse("bills:bill_receive") + f"?customer={customer.pk}"

    response = client.post(url, receive_data(mode="none", **change))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert AcceptanceBill.objects.count() == 1


def test_finance_endorses_discounts_collects_and_dishonours_on_the_page(client, customer, finance):
    client.force_login(finance)
    endorsed = a_bill(customer, number="BA-E")
    discounted = a_bill(customer, number="BA-D", face="100000.00")
    dishonoured = a_bill(customer, number="BA-X")
    collected = a_bill(customer, number="BA-C", maturity=TODAY)

    responses = [
        client.post(
            reverse("bills:bill_endorse", args=[endorsed.pk]),
            {"endorsee": "Steel Supplier", "endorsed_on": TODAY.isoformat()},
        ),
        client.post(
            reverse("bills:bill_discount", args=[discounted.pk]),
            {"discounted_on": TODAY.isoformat(), "discount_amount": "1234.57"},
        ),
        client.post(
            reverse("bills:bill_collect", args=[collected.pk]),
            {"collected_on": TODAY.isoformat()},
        ),
        client.post(
            reverse("bills:bill_dishonour", args=[dishonoured.pk]),
            {"dishonoured_on": TODAY.isoformat(), "dishonour_reason": "Acceptor insolvent"},
        ),
    ]

    assert [r.status_code for r in responses] == [302] * 4
    statuses = dict(AcceptanceBill.objects.values_list("number", "status"))
    assert statuses == {
        "BA-E": "endorsed",
        "BA-D": "discounted",
        "BA-C": "collected",
        "BA-X": "dishonoured",
    }
    page = client.get(discounted.get_absolute_url()).content.decode()
    assert "98,765.43" in page
    assert "1,234.57" in page
    assert CaseEvent.objects.filter(kind__startswith="bill_").count() == 8
    # an endorsed bill can still come back with recourse; a collected one cannot
    endorsed_page = client.get(endorsed.get_absolute_url()).content.decode()
    collected_page = client.get(collected.get_absolute_url()).content.decode()
    assert 'data-action="dishonour"' in endorsed_page
    assert 'data-action="discount"' not in endorsed_page
    assert 'data-action="dishonour"' not in collected_page


def test_a_refused_transition_shows_the_reason_and_changes_nothing(client, customer, finance):
    bill = a_bill(customer, face="500.00")
    client.force_login(finance)

    response = client.post(
        reverse("bills:bill_discount", args=[bill.pk]),
        {"discounted_on": TODAY.isoformat(), "discount_amount": "500.00"},
    )

    assert response.status_code == 400
    assert "discount_amount" in response.context["discount_form"].errors
    bill.refresh_from_db()
    assert bill.status == AcceptanceBill.Status.HELD
    assert client.get(reverse("bills:bill_collect", args=[bill.pk])).status_code == 405


def test_reps_see_their_own_customers_bills_only_and_change_none(client, customer, rep, other_rep):
    mine = a_bill(customer, number="BA-MINE")
    theirs = a_bill(dunning_customer(sales_rep=other_rep, name="Rival Co"), number="BA-THEIRS")
    client.force_login(rep)

    listing = client.get(reverse("bills:bill_list")).content.decode()
    assert "BA-MINE" in listing
    assert "BA-THEIRS" not in listing
    detail = client.get(mine.get_absolute_url())
    assert detail.status_code == 200
    assert 'data-action="endorse"' not in detail.content.decode()
    assert client.get(theirs.get_absolute_url()).status_code == 404
    endorse = {"endorsee": "X", "endorsed_on": TODAY.isoformat()}
    assert client.post(reverse("bills:bill_endorse", args=[mine.pk]), endorse).status_code == 403
    assert client.post(reverse("bills:bill_endorse", args=[theirs.pk]), endorse).status_code == 404
    assert client.get(reverse("bills:bill_receive")).status_code == 403
    assert (
        client.get(reverse("bills:bill_list"), {"customer": theirs.customer_id}).status_code == 404
    )
    assert set(AcceptanceBill.objects.values_list("status", flat=True)) == {"held"}


def test_the_list_filters_by_maturity_window_and_pages(client, customer, finance):
    for n in range(55):
        a_bill(customer, number=f"BA-N{n:02d}", maturity=TODAY + timedelta(days=10))
    a_bill(customer, number="BA-LATE", maturity=TODAY + timedelta(days=45))
    client.force_login(finance)

    first = client.get(reverse("bills:bill_list"), {"window": "0-30"})
    second = client.get(reverse("bills:bill_list"), {"window": "0-30", "page": 2})
    later = client.get(reverse("bills:bill_list"), {"window": "31-60"}).content.decode()

    assert len(first.context["bills"]) == 50
    assert len(second.context["bills"]) == 5
    assert "BA-LATE" not in first.content.decode() + second.content.decode()
    assert "BA-LATE" in later


def _desk_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboards:finance_desk"))
    assert response.status_code == 200
    page = response.content.decode()
    return len(queries), page.split('id="queue-bills"')[1].split("</article>")[0]


def test_the_finance_desk_lists_bills_maturing_in_30_60_and_90_days_in_constant_queries(
    client, customer, finance
):
    client.force_login(finance)
    windows = {"past": -1, "0-30": 30, "31-60": 31, "61-90": 90}
    a_bill(customer, number="BA-FAR", maturity=TODAY + timedelta(days=91))
    with at(TODAY - timedelta(days=30)):
        receive_bill(
            customer=customer,
            received_on=TODAY - timedelta(days=30),
            face="10.00",
            number="BA-past",
            issue=TODAY - timedelta(days=40),
            maturity=TODAY - timedelta(days=1),
        )
    for code, days in windows.items():
        if code != "past":
            a_bill(customer, number=f"BA-{code}", maturity=TODAY + timedelta(days=days))
    few, page = _desk_queries(client)

    for code in windows:
        section = page.split(f'data-window="{code}"')[1].split("</section>")[0]
        assert f"BA-{code}" in section
    assert "BA-FAR" not in page

    for code, days in windows.items():
        for n in range(12):
            a_bill(customer, number=f"BA-{code}-{n}", maturity=TODAY + timedelta(days=max(days, 0)))
    many, page = _desk_queries(client)
    assert many == few
    assert "?window=0-30" in page  # more than the desk shows: a link to all of them


def test_the_dashboard_shows_bills_in_hand_by_maturity(client, customer, manager):
    a_bill(customer, number="BA-1", maturity=TODAY + timedelta(days=5), face="100.00")
    a_bill(customer, number="BA-2", maturity=TODAY + timedelta(days=30), face="200.50")
    a_bill(customer, number="BA-3", maturity=TODAY + timedelta(days=75), face="300.00")
    a_bill(customer, number="BA-4", maturity=TODAY + timedelta(days=200), face="400.00")
    client.force_login(manager)

    page = client.get(reverse("dashboards:dashboard")).content.decode()

    section = page.split('id="bills-by-maturity"')[1].split("</section>")[0]
    cells = {
        code: section.split(f'data-window="{code}">')[1].split("</td>")[0]
        for code in ("0-30", "31-60", "61-90", "90+", "total")
    }
    assert "300.50" in cells["0-30"]
    assert "2 bills" in cells["0-30"]
    assert "—" in cells["31-60"]
    assert "300.00" in cells["61-90"]
    assert "400.00" in cells["90+"]
    assert "1,000.50" in cells["total"]


def test_the_customer_page_lists_the_customers_bills(client, customer, rep):
    a_bill(customer, number="BA-CUST")
    client.force_login(rep)

    page = client.get(customer.get_absolute_url()).content.decode()

    section = page.split('id="customer-bills"')[1].split("</section>")[0]
    assert "BA-CUST" in section
    assert "Receive a bill" not in section


def test_the_bills_sections_cost_one_query_each(customer, finance, django_assert_num_queries, rf):
    for n in range(30):
        a_bill(customer, number=f"BA-Q{n}", maturity=TODAY + timedelta(days=n * 4))
    request = rf.get("/")
    request.user = finance
    user_roles(finance)  # read once per request, before the sections
    context = Context({"request": request, "customer": customer})

    with django_assert_num_queries(1):
        Template("{% load bills %}{% bills_dashboard %}").render(context)
    with django_assert_num_queries(4):
        Template("{% load bills %}{% bills_desk %}").render(context)
    with django_assert_num_queries(1):
        Template("{% load bills %}{% customer_bills customer %}").render(context)


def test_the_payment_page_of_a_bill_offers_no_reversal_and_refuses_one(client, customer, finance):
    bill = a_bill(customer)
    client.force_login(finance)

    page = client.get(bill.payment.get_absolute_url()).content.decode()
    response = client.post(
        reverse("receivables:payment_reverse", args=[bill.payment_id]), {"reason": "Bounced"}
    )

    assert "Acceptance bill" in page
    assert 'name="reason"' not in page
    assert response.status_code == 400
    assert "record the bill as dishonoured" in response.content.decode()
    bill.payment.refresh_from_db()
    assert bill.payment.status == "posted"


def test_payment_lists_mark_a_bills_payment(client, customer, finance):
    a_bill(customer, number="BA-LISTED")
    client.force_login(finance)

    listing = client.get(reverse("receivables:payment_list")).content.decode()
    customer_page = client.get(customer.get_absolute_url()).content.decode()

    for page in (listing, customer_page):
        assert 'BA-LISTED <small class="badge">Acceptance bill</small>' in page


def test_the_admin_shows_bills_and_their_history_but_changes_nothing(client, customer):
    bill = a_bill(customer, number="BA-ADMIN")
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))

    listing = client.get(reverse("admin:bills_acceptancebill_changelist"))
    change = client.get(reverse("admin:bills_acceptancebill_change", args=[bill.pk]))
    history = client.get(reverse("admin:bills_acceptancebill_history", args=[bill.pk]))

    assert listing.status_code == 200
    assert "BA-ADMIN" in listing.content.decode()
    assert (change.status_code, history.status_code) == (200, 200)
    assert client.get(reverse("admin:bills_acceptancebill_add")).status_code == 403
