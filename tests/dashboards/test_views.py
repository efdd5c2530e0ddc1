"""The daily pages: who may open them, what they show, how many queries they cost."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dunning.models import CaseEvent, CollectionCase, LevelCode
from receivables.models import Invoice
from tests.factories.cases import (
    AgreementInstalmentFactory,
    CaseEventFactory,
    CollectionCaseFactory,
    CommunicationFactory,
    DisputeFactory,
    PromiseToPayFactory,
    SupplementaryAgreementFactory,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def overdue_invoice(customer, *, days: int = 40, amount: str = "1000.00", **fields) -> Invoice:
    today = timezone.localdate()
    return InvoiceFactory(
        customer=customer,
        issue_date=today - timedelta(days=days + 30),
        due_date=today - timedelta(days=days),
        amount=D(amount),
        **fields,
    )


# --- Who sees which page ---------------------------------------------------------


def test_home_is_the_worklist_for_a_rep_the_desk_for_finance_the_dashboard_for_managers(client):
    client.force_login(SalesRepFactory())
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    assert "dashboards/rep_home.html" in [t.name for t in response.templates]

    client.force_login(FinanceUserFactory())
    assert client.get(reverse("core:home")).url == reverse("dashboards:finance_desk")

    client.force_login(ManagerFactory())
    assert client.get(reverse("core:home")).url == reverse("dashboards:dashboard")


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("dashboards:dashboard", {"manager", "finance"}),
        ("dashboards:finance_desk", {"finance"}),
        ("dashboards:rep_home", {"rep", "manager", "finance", "nobody"}),
        ("dashboards:ageing_invoices", {"rep", "manager", "finance", "nobody"}),
    ],
)
def test_role_pages_refuse_other_roles(client, name, allowed):
    users = {
        "rep": SalesRepFactory(),
        "manager": ManagerFactory(),
        "finance": FinanceUserFactory(),
        "nobody": UserFactory(),
    }
    for role, user in users.items():
        client.force_login(user)
        status = client.get(reverse(name)).status_code
        assert status == (200 if role in allowed else 403), (role, status)


def test_pages_need_a_login(client):
    for name in ("dashboards:dashboard", "dashboards:finance_desk", "dashboards:export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_navigation_offers_the_dashboard_and_the_desk_by_role(client):
    client.force_login(ManagerFactory())
    page = client.get(reverse("dashboards:dashboard")).content.decode()
    assert reverse("dashboards:dashboard") in page
    assert reverse("dashboards:finance_desk") not in page

    client.force_login(SalesRepFactory())
    page = client.get(reverse("dashboards:rep_home")).content.decode()
    assert f'href="{reverse("dashboards:dashboard")}"' not in page


# --- The rep's worklist ------------------------------------------------------------


def test_worklist_shows_totals_tasks_and_customers_of_the_rep_only(client):
    # Given a rep with an overdue customer without finance contact, a promise and a case
    today = timezone.localdate()
    rep = SalesRepFactory()
    late = CustomerFactory(sales_rep=rep, name="Late Payer Co")
    overdue_invoice(late, days=40, amount="1000.00")
    InvoiceFactory(
        customer=late,
        issue_date=today - timedelta(days=20),
        due_date=today + timedelta(days=3),
        amount=D("250.00"),
    )
    PromiseToPayFactory(customer=late, amount=D("400.00"), promised_date=today)
    CollectionCaseFactory(customer=late, owner=rep, opened_on=today - timedelta(days=10))
    # and another rep's customer
    other = CustomerFactory(name="Someone Else Co", code="X-999")
    overdue_invoice(other, amount="99999.00")
    client.force_login(rep)

    # When the rep opens the home page
    response = client.get(reverse("core:home"))
    page = response.content.decode()

    # Then the totals count their book only
    assert response.context["totals"][0].open == D("1250.00")
    assert response.context["totals"][0].overdue == D("1000.00")
    assert response.context["totals"][0].due_soon == D("250.00")
    assert response.context["totals"][0].promised == D("400.00")
    tasks = {task_list.key: task_list for task_list in response.context["tasks"]}
    assert tasks["promises"].count == 1
    assert tasks["reasons"].count == 1
    assert tasks["contacts"].count == 1
    assert tasks["proof"].count == 2
    assert [row.name for row in tasks["contacts"].rows] == ["Late Payer Co"]
    assert reverse("receivables:contact_create", args=[late.pk]) + "?role=finance" in page
    assert "Late Payer Co" in page
    assert "Someone Else Co" not in page
    assert "X-999" not in page
    assert "99,999" not in page


def test_worklist_sorts_filters_and_paginates(client):
    rep = SalesRepFactory()
    customers = [CustomerFactory(sales_rep=rep, name=f"Cust {n:02d}") for n in range(30)]
    for n, customer in enumerate(customers[:5]):
        overdue_invoice(customer, days=10 + n, amount=str(100 * (n + 1)))
    ContactFactory(customer=customers[0])
    client.force_login(rep)
    url = reverse("dashboards:rep_home")

    by_balance = client.get(url, {"order": "-balance"}).context["page"].object_list
    assert [c.name for c in by_balance[:3]] == ["Cust 04", "Cust 03", "Cust 02"]
    default = client.get(url).context["page"].object_list
    assert default[0].name == "Cust 04"  # the oldest overdue first
    overdue_only = client.get(url, {"state": "overdue"}).context["page"]
    assert overdue_only.paginator.count == 5
    searched = client.get(url, {"q": "Cust 1"}).context["page"]
    assert searched.paginator.count == 10
    no_contact = client.get(url, {"state": "no_finance_contact"}).context["page"]
    assert no_contact.paginator.count == 29
    second = client.get(url, {"order": "name", "page": 2}).context["page"]
    assert [c.name for c in second.object_list] == [
        "Cust 25",
        "Cust 26",
        "Cust 27",
        "Cust 28",
        "Cust 29",
    ]


def test_worklist_answers_htmx_with_the_table_only(client):
    rep = SalesRepFactory()
    CustomerFactory(sales_rep=rep, name="Only Customer")
    client.force_login(rep)

    response = client.get(
        reverse("dashboards:rep_home"),
        {"order": "name"},
        headers={"HX-Request": "true", "HX-Target": "worklist-customers"},
    )

    assert response.templates[0].name == "dashboards/_worklist_customers.html"
    assert "Only Customer" in response.content.decode()
    assert "<html" not in response.content.decode()


# --- Dashboard ---------------------------------------------------------------------


def test_dashboard_shows_the_ageing_and_links_each_bucket_to_its_invoices(client):
    customer = CustomerFactory(name="Ageing Co")
    overdue_invoice(customer, days=45, amount="300.00")
    overdue_invoice(customer, days=5, amount="20.00")
    client.force_login(ManagerFactory())

    response = client.get(reverse("dashboards:dashboard"))
    page = response.content.decode()

    assert response.context["ageing"].totals["31-60"] == D("300.00")
    assert response.context["overdue_total"] == D("320.00")
    assert "<svg" in page
    drill = response.context["drill_urls"]["31-60"]
    assert f'href="{drill.replace("&", "&amp;")}"' in page
    drilled = client.get(drill).context["page"].object_list
    assert [invoice.amount for invoice in drilled] == [D("300.00")]
    assert [row.label for row in response.context["by_customer"]] == [f"{customer.code} Ageing Co"]


def test_dashboard_filters_fall_back_to_defaults_and_never_look_into_the_future(client):
    client.force_login(ManagerFactory())
    today = timezone.localdate()

    bad = client.get(reverse("dashboards:dashboard"), {"as_of": "not-a-date", "rep": "x"})
    future = client.get(
        reverse("dashboards:dashboard"), {"as_of": (today + timedelta(days=30)).isoformat()}
    )
    past = client.get(reverse("dashboards:dashboard"), {"as_of": "2026-01-31"})

    assert bad.status_code == 200
    assert bad.context["filters"].as_of == today
    assert bad.context["filters"].rep_id is None
    assert future.context["filters"].as_of == today
    assert past.context["filters"].as_of == date(2026, 1, 31)
    assert past.context["latest"].period.label == "2026-01"


def test_dashboard_narrows_to_one_rep(client):
    alice = SalesRepFactory()
    overdue_invoice(CustomerFactory(sales_rep=alice), amount="10.00")
    overdue_invoice(CustomerFactory(), amount="5000.00")
    client.force_login(ManagerFactory())

    response = client.get(reverse("dashboards:dashboard"), {"rep": alice.pk})

    assert response.context["ageing"].totals["total"] == D("10.00")
    assert [row.key for row in response.context["by_rep"]] == [alice.pk]


# --- Finance desk ---------------------------------------------------------------------


def test_finance_desk_counts_each_queue(client):
    customer = CustomerFactory(credit_status="on_hold")
    CommunicationFactory(customer=customer)
    InvoiceFactory(customer=customer, delivered_at=timezone.now())
    client.force_login(FinanceUserFactory())

    response = client.get(reverse("dashboards:finance_desk"))

    queues = response.context["queues"]
    assert queues["letters"].count == 1
    assert queues["receipt"].count == 1
    assert queues["holds"].count == 1
    assert queues["undelivered"].count == 0
    page = response.content.decode()
    assert reverse("receivables:payment_create") in page
    assert reverse("receivables:receivables_import") in page
    assert reverse("receivables:credit_assessment_queue") in page


# --- Customer file -----------------------------------------------------------------------


def test_customer_page_shows_the_collection_file(client):
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    invoice = overdue_invoice(customer, days=20)
    case = CollectionCaseFactory(
        customer=customer, overdue_reason=CollectionCase.OverdueReason.CASH_FLOW
    )
    CaseEventFactory(
        customer=customer,
        case=case,
        kind=CaseEvent.Kind.CONTACT_ATTEMPT,
        text="Called AP: paying Friday",
    )
    PromiseToPayFactory(customer=customer, invoices=[invoice])
    CommunicationFactory(customer=customer, level=LevelCode.DEMAND_LETTER)
    client.force_login(rep)

    page = client.get(customer.get_absolute_url()).content.decode()

    assert 'id="customer-file"' in page
    assert "Called AP: paying Friday" in page
    assert "Cash-flow trouble" in page
    assert "Demand letter" in page
    assert "20 days" in page


def test_customer_file_costs_a_fixed_number_of_queries(big_book, django_assert_max_num_queries):
    own, _theirs = big_book
    customer = own.customers[0]
    request = RequestFactory().get("/")
    request.user = own.rep
    template = Template("{% load dashboards %}{% customer_file customer %}")

    with django_assert_max_num_queries(20):
        html = template.render(Context({"request": request, "customer": customer}))

    assert customer.name in html or "customer-file" in html


# --- Query bounds with thousands of rows -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "bound"),
    [
        ("dashboards:rep_home", "rep", 30),
        ("dashboards:dashboard", "manager", 30),
        ("dashboards:ageing_invoices", "manager", 12),
        ("dashboards:ageing_invoices", "rep", 12),
        ("dashboards:finance_desk", "finance", 28),
    ],
)
def test_pages_cost_a_bounded_number_of_queries_on_thousands_of_rows(
    client, big_book, django_assert_max_num_queries, name, role, bound
):
    own, _theirs = big_book
    user = {"rep": own.rep, "manager": ManagerFactory(), "finance": FinanceUserFactory()}[role]
    client.force_login(user)
    assert Invoice.objects.count() == 6000

    with django_assert_max_num_queries(bound):
        response = client.get(reverse(name))

    assert response.status_code == 200


def test_big_book_rep_sees_only_their_half(client, big_book):
    own, _theirs = big_book
    client.force_login(own.rep)

    home = client.get(reverse("dashboards:rep_home"))
    drill = client.get(reverse("dashboards:ageing_invoices"))
    export = client.get(reverse("dashboards:export"), {"table": "ageing", "format": "csv"})

    assert home.context["page"].paginator.count == 150
    assert drill.context["page"].paginator.count == own.invoices
    for body in (home.content, drill.content, export.content):
        assert b"OTHER-" not in body
    assert b"OWN-" in export.content


# --- Exports -------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def read_xlsx(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.content))
    return list(workbook.active.iter_rows(values_only=True))


def test_ageing_exports_as_csv_and_xlsx_with_the_same_figures(client):
    as_of = timezone.localdate()
    customer = CustomerFactory(code="C-EXP", name="导出客户 Export Co")
    overdue_invoice(customer, days=45, amount="300.00")
    overdue_invoice(customer, days=0, amount="20.50")
    client.force_login(ManagerFactory())
    params = {"table": "ageing", "as_of": as_of.isoformat(), "currency": "CNY"}

    as_csv = client.get(reverse("dashboards:export"), {**params, "format": "csv"})
    as_xlsx = client.get(reverse("dashboards:export"), {**params, "format": "xlsx"})

    assert as_csv["Content-Disposition"].startswith('attachment; filename="ageing-cny-')
    rows = read_csv(as_csv)
    assert rows[0][:3] == ["Code", "Name", "Current (not yet due) (CNY)"]
    assert rows[1] == [
        "C-EXP",
        "导出客户 Export Co",
        "20.50",
        "0.00",
        "300.00",
        "0.00",
        "0.00",
        "320.50",
    ]
    assert rows[-1][0] == "Total"
    sheet = read_xlsx(as_xlsx)
    assert sheet[0][:2] == ("Code", "Name")
    assert sheet[1][0] == "C-EXP"
    assert sheet[1][2:] == (20.5, 0, 300, 0, 0, 320.5)
    assert sheet[-1][-1] == 320.5


@pytest.mark.parametrize(
    "table",
    ["overdue_by_rep", "overdue_by_customer", "trend", "ladder", "promises", "agreements"],
)
def test_every_dashboard_table_exports_in_both_formats(client, table):
    overdue_invoice(CustomerFactory(), amount="10.00")
    client.force_login(ManagerFactory())

    for file_format, reader in (("csv", read_csv), ("xlsx", read_xlsx)):
        response = client.get(reverse("dashboards:export"), {"table": table, "format": file_format})
        assert response.status_code == 200
        rows = reader(response)
        assert len(rows) >= 1
        assert all(header for header in rows[0])


def test_drill_down_export_keeps_the_bucket_and_search(client):
    customer = CustomerFactory(code="C-DRL")
    overdue_invoice(customer, days=45, amount="300.00", number="INV-OLD")
    overdue_invoice(customer, days=5, amount="20.00", number="INV-NEW")
    client.force_login(ManagerFactory())

    response = client.get(
        reverse("dashboards:export"),
        {"table": "ageing_invoices", "format": "xlsx", "bucket": "31-60", "q": "INV"},
    )

    rows = read_xlsx(response)
    assert [row[0] for row in rows[1:]] == ["INV-OLD"]
    assert rows[1][6] == 45


def test_export_writes_formula_like_text_as_text(client):
    customer = CustomerFactory(code="C-F", name='=HYPERLINK("http://evil.example")')
    overdue_invoice(customer, amount="1.00")
    client.force_login(ManagerFactory())

    url = reverse("dashboards:export")
    as_csv = read_csv(client.get(url, {"table": "ageing", "format": "csv"}))
    workbook = load_workbook(
        io.BytesIO(client.get(url, {"table": "ageing", "format": "xlsx"}).content)
    )
    cell = workbook.active.cell(row=2, column=2)

    assert as_csv[1][1].startswith("'=")
    assert cell.data_type == "s"  # a string, never a formula
    assert cell.value == customer.name


def test_exports_refuse_unknown_tables_and_manager_tables_to_reps(client):
    client.force_login(SalesRepFactory())

    assert client.get(reverse("dashboards:export"), {"table": "nope"}).status_code == 404
    assert (
        client.get(reverse("dashboards:export"), {"table": "ageing", "format": "pdf"}).status_code
        == 404
    )
    assert client.get(reverse("dashboards:export"), {"table": "overdue_by_rep"}).status_code == 403
    assert client.get(reverse("dashboards:export"), {"table": "customers"}).status_code == 200


def test_rep_exports_contain_only_their_customers_even_when_asking_for_another_rep(client):
    rep, other = SalesRepFactory(), SalesRepFactory()
    overdue_invoice(CustomerFactory(sales_rep=rep, code="MINE-1"))
    overdue_invoice(CustomerFactory(sales_rep=other, code="THEIRS-1"))
    client.force_login(rep)

    for table in ("ageing", "ageing_invoices", "customers"):
        for file_format in ("csv", "xlsx"):
            response = client.get(
                reverse("dashboards:export"),
                {"table": table, "format": file_format, "rep": other.pk},
            )
            cells = read_csv(response) if file_format == "csv" else read_xlsx(response)
            flat = " ".join(str(cell) for row in cells for cell in row)
            assert "MINE-1" in flat, (table, file_format)
            assert "THEIRS-1" not in flat, (table, file_format)


def test_the_date_filter_keeps_an_iso_value_in_chinese(client):
    client.force_login(ManagerFactory())

    page = client.get(
        reverse("dashboards:dashboard"), headers={"Accept-Language": "zh-hans"}
    ).content.decode()

    assert '<html lang="zh-hans">' in page
    assert f'name="as_of" value="{timezone.localdate().isoformat()}"' in page


def test_customer_file_links_stored_letters_to_their_pdf(client):
    from django.core.files.base import ContentFile

    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    # A sent message is evidence: its letter is stored with it, never attached later.
    sent = CommunicationFactory(
        customer=customer,
        status="sent",
        letter_pdf=ContentFile(b"%PDF-1.4 letter", name="letter.pdf"),
    )
    waiting = CommunicationFactory(customer=customer)
    client.force_login(rep)

    page = client.get(customer.get_absolute_url()).content.decode()

    assert reverse("dunning:communication_pdf", args=[sent.pk]) + "?inline=1" in page
    assert reverse("dunning:communication_preview", args=[waiting.pk]) not in page
    assert client.get(reverse("dunning:communication_pdf", args=[sent.pk])).status_code == 200

    client.force_login(FinanceUserFactory())
    page = client.get(customer.get_absolute_url()).content.decode()
    assert reverse("dunning:communication_preview", args=[waiting.pk]) in page


def test_customer_file_lists_each_promise_and_dispute_invoices_and_each_plan_instalments(client):
    # Given a customer with a promise over two invoices, a dispute over one, a plan of two
    # instalments, and another customer's promise over its own invoice
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    first, second, third = (
        InvoiceFactory(customer=customer, number=number)
        for number in ("INV-FILE-2", "INV-FILE-1", "INV-FILE-3")
    )
    PromiseToPayFactory(customer=customer, invoices=[first, second])
    DisputeFactory(customer=customer, invoices=[third])
    plan = SupplementaryAgreementFactory(customer=customer, number="SA-FILE-1")
    AgreementInstalmentFactory(
        agreement=plan, sequence=2, due_date=date(2026, 6, 1), amount=Decimal("250.50")
    )
    AgreementInstalmentFactory(
        agreement=plan, sequence=1, due_date=date(2026, 5, 1), amount=Decimal("1000.00")
    )
    other = CustomerFactory(sales_rep=rep)
    PromiseToPayFactory(
        customer=other, invoices=[InvoiceFactory(customer=other, number="INV-OTHER-1")]
    )
    client.force_login(rep)

    # When the rep opens the customer page
    page = client.get(customer.get_absolute_url()).content.decode()

    # Then the promise shows its invoices by number, the dispute its own, and the plan its
    # instalments by sequence; the other customer's invoice is not there
    assert "INV-FILE-1, INV-FILE-2" in page
    assert "<small>INV-FILE-3</small>" in page
    assert "2026-05-01: 1,000.00 · 2026-06-01: 250.50" in page
    assert "INV-OTHER-1" not in page
