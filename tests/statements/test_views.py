"""Statements on the customer page, the schedule and the finance desk: wiring and scope."""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from statements.models import Statement, StatementSchedule
from statements.services.runs import statement_run, statements_send
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.statements import scheduled_customer
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.fixture
def owned():
    rep = SalesRepFactory()
    customer = CustomerFactory(code="OWN", sales_rep=rep, language="en")
    InvoiceFactory(
        customer=customer, number="INV-OWN", issue_date=date(2026, 11, 3), amount=Decimal("1234.50")
    )
    return rep, customer


def test_the_rep_downloads_the_pdf_of_any_period(client, owned, django_assert_max_num_queries):
    rep, customer = owned
    client.force_login(rep)
    url = reverse("statements:statement_download", args=[customer.pk])

    with django_assert_max_num_queries(14):
        response = client.get(url, {**PERIOD, "format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "statement-OWN-20261101-20261130.pdf" in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "INV-OWN" in text
    assert "1,234.50" in text


def test_the_xlsx_in_chinese(client, owned):
    rep, customer = owned
    client.force_login(rep)

    response = client.get(
        reverse("statements:statement_download", args=[customer.pk]),
        {**PERIOD, "format": "xlsx", "language": "zh-hans"},
    )

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "对账单"
    assert any(row[2] == "INV-OWN" for row in rows)


def test_another_reps_customer_is_404(client, owned):
    _rep, customer = owned
    client.force_login(SalesRepFactory())

    for name in ("statements:statement_download", "statements:statement_schedule_edit"):
        response = client.get(reverse(name, args=[customer.pk]), {**PERIOD, "format": "pdf"})
        assert response.status_code == 404


def test_a_bad_period_shows_the_form_again(client, owned):
    rep, customer = owned
    client.force_login(rep)

    response = client.get(
        reverse("statements:statement_download", args=[customer.pk]),
        {"date_from": "2026-11-30", "date_to": "2026-11-01", "format": "pdf"},
    )

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()


def test_the_customer_page_offers_the_statement_form(client, owned):
    rep, customer = owned
    client.force_login(rep)

    page = client.get(customer.get_absolute_url()).content.decode()

    assert reverse("statements:statement_download", args=[customer.pk]) in page
    assert reverse("statements:statement_schedule_edit", args=[customer.pk]) in page


def test_the_schedule_is_set_by_post(client, owned):
    rep, customer = owned
    client.force_login(rep)
    url = reverse("statements:statement_schedule_edit", args=[customer.pk])

    response = client.post(
        url, {"frequency": "monthly", "working_day": "3", "send_at_zero_balance": "on"}
    )

    assert response.status_code == 302
    schedule = StatementSchedule.objects.get(customer=customer)
    assert (schedule.frequency, schedule.working_day, schedule.send_at_zero_balance) == (
        "monthly",
        3,
        True,
    )
    assert client.post(url, {"frequency": "monthly", "working_day": "40"}).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_a_failed_statement_shows_on_the_finance_desk_and_is_sent_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    customer = scheduled_customer(code="NOMAIL", finance_email=None)
    statement_run(as_of=date(2026, 12, 1))
    statements_send()
    statement = Statement.objects.get()
    finance = FinanceUserFactory()
    client.force_login(finance)

    desk = client.get(reverse("dashboards:finance_desk")).content.decode()
    assert f'data-statement="{statement.pk}"' in desk
    assert 'data-testid="count-statements">1<' in desk
    assert (
        f'data-statement="{statement.pk}"'
        in client.get(reverse("statements:statement_desk")).content.decode()
    )

    customer.contacts.create(name="AP", role="finance", email="ap@fixed.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("statements:statement_retry", args=[statement.pk]))

    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == Statement.Status.SENT
    assert mailoutbox[0].to == ["ap@fixed.example"]


def test_only_finance_sees_the_statement_desk_and_retries(client):
    client.force_login(SalesRepFactory())

    assert client.get(reverse("statements:statement_desk")).status_code == 403
    assert client.post(reverse("statements:statement_retry", args=[1])).status_code == 403
    assert client.get(reverse("statements:statement_retry", args=[1])).status_code == 405
