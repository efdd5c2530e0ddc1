"""After an approved instalment plan, "overdue" everywhere is the plan's unpaid instalments
past their own due dates, and every page agrees to the cent."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from contracts.models import SupplementaryAgreement
from dashboards.selectors.common import DashboardFilters
from dashboards.selectors.customer_file import customer_summary
from dashboards.selectors.kpis import (
    ageing_and_receivables,
    ageing_for_dashboard,
    kpi_trend,
    overdue_by_customer,
    overdue_by_rep,
    overdue_overview,
    receivables_today,
)
from dashboards.selectors.worklist import customer_worklist, rep_totals
from dunning.selectors import collection_case_list, customer_overdue_items
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from receivables.selectors.ageing import BUCKETS, ageing_report
from tests.factories.cases import CollectionCaseFactory, overdue_invoice, pay_invoice
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
D = Decimal


def _figure(page: str, element_id: str) -> Decimal:
    match = re.search(rf'id="{element_id}"[^>]*>\s*CNY ([\d,]+\.\d\d)', page)
    assert match, element_id
    return D(match.group(1).replace(",", ""))


@time_machine.travel(NOW, tick=False)
def test_dashboard_customer_page_home_and_case_agree_to_the_cent_after_a_plan(client):
    # Given a customer 65 days late on 100,000.00 and 10 days late on 20,000.00
    ensure_default_policy()
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY", code="PLAN-1")
    late = overdue_invoice(customer=customer, due=TODAY - timedelta(days=65), amount="100000.00")
    recent = overdue_invoice(customer=customer, due=TODAY - timedelta(days=10), amount="20000.00")
    CollectionCaseFactory(customer=customer, owner=rep, opened_on=TODAY - timedelta(days=60))
    # and a plan for the late one, approved 40 days ago: 30,000.00 due 20 days ago, the rest later
    approved_on = TODAY - timedelta(days=40)
    agreement = agreement_propose(
        customer=customer,
        invoices=[late],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY - timedelta(days=20), amount=D("30000.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=10), amount=D("70000.00")),
        ],
        reason="cash flow",
        actor=rep,
        as_of=approved_on,
    )
    manager = ManagerFactory()
    agreement_approve(agreement=agreement, actor=manager, as_of=approved_on)
    # of which 10,000.00 was paid 15 days ago
    pay_invoice(invoice=late, amount="10000.00", on=TODAY - timedelta(days=15))

    # Then what is overdue is 20,000.00 of the first instalment and the recent invoice
    expected = D("40000.00")
    filters = DashboardFilters(as_of=TODAY, currency="CNY")
    assert overdue_overview(user=manager, filters=filters).total == expected
    [by_customer] = overdue_by_customer(user=manager, filters=filters)
    assert (by_customer.overdue, by_customer.invoices) == (expected, 2)
    assert by_customer.days_overdue(TODAY) == 20
    [by_rep] = overdue_by_rep(user=manager, filters=filters)
    assert by_rep.overdue == expected
    assert by_rep.detail.endswith("· 1 customer")
    # on the customer file
    summary = customer_summary(customer=customer, as_of=TODAY)
    assert (summary.overdue, summary.oldest_overdue_days) == (expected, 20)
    # on the rep's home
    [row] = customer_worklist(user=rep, as_of=TODAY)
    assert (row.overdue, row.oldest_overdue_due) == (expected, TODAY - timedelta(days=20))
    [totals] = rep_totals(user=rep, as_of=TODAY)
    assert (totals.open, totals.overdue) == (D("110000.00"), expected)
    # in the case list and on the case page
    [case] = collection_case_list(user=manager, as_of=TODAY)
    assert (case.overdue_total, case.oldest_due) == (expected, TODAY - timedelta(days=20))
    items = customer_overdue_items(customer=customer, as_of=TODAY)
    assert sum((item.outstanding for item in items), D(0)) == expected
    assert sorted(item.label for item in items) == sorted([recent.number, f"{late.number}#1"])

    # and the pages show it: the dashboard and the customer page
    client.force_login(manager)
    dashboard = client.get(reverse("dashboards:dashboard")).content.decode()
    assert "40,000.00" in dashboard
    assert "110,000.00" not in dashboard.split('data-testid="kpi-overdue"')[1][:200]
    page = client.get(reverse("receivables:customer_detail", args=[customer.pk])).content.decode()
    assert _figure(page, "customer-overdue") == expected
    # while the invoice keeps its original due date
    invoice_page = client.get(late.get_absolute_url()).content.decode()
    assert (TODAY - timedelta(days=65)).isoformat() in invoice_page


@time_machine.travel(NOW, tick=False)
def test_the_dashboard_ages_a_plan_by_its_instalments_not_by_the_invoice_it_replaced():
    ensure_default_policy()
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY")
    late = overdue_invoice(customer=customer, due=TODAY - timedelta(days=65), amount="1000.00")
    approved_on = TODAY - timedelta(days=40)
    agreement = agreement_propose(
        customer=customer,
        invoices=[late],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY - timedelta(days=20), amount=D("300.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=10), amount=D("700.00")),
        ],
        reason="cash flow",
        actor=rep,
        as_of=approved_on,
    )
    manager = ManagerFactory()
    agreement_approve(agreement=agreement, actor=manager, as_of=approved_on)
    pay_invoice(invoice=late, amount="100.00", on=TODAY - timedelta(days=5))

    filters = DashboardFilters(as_of=TODAY, currency="CNY")
    report = ageing_for_dashboard(user=manager, filters=filters)

    assert {key: report.totals[key] for key in ("current", "1-30", "61-90", "total")} == {
        "current": D("700.00"),
        "1-30": D("200.00"),
        "61-90": D("0.00"),
        "total": D("900.00"),
    }
    overdue = overdue_overview(user=manager, filters=filters).total
    assert report.totals["total"] - report.totals["current"] == overdue
    # receivables' own report still ages the invoice by its own due date
    plain = ageing_report(as_of=TODAY, currency="CNY", customer=customer)
    assert (plain.totals["61-90"], plain.totals["total"]) == (D("900.00"), D("900.00"))


@time_machine.travel(NOW, tick=False)
def test_the_dashboards_one_scan_gives_the_ageing_and_todays_receivables_of_the_separate_queries():
    # Given two reps' customers: a plan approved over part of one, paid in part, a plan only
    # proposed over another invoice, invoices due and not yet due, and one in another currency
    ensure_default_policy()
    rep, other_rep = SalesRepFactory(), SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY")
    elsewhere = CustomerFactory(sales_rep=other_rep, currency="CNY")
    planned = overdue_invoice(customer=customer, due=TODAY - timedelta(days=65), amount="1000.00")
    proposed = overdue_invoice(customer=customer, due=TODAY - timedelta(days=95), amount="450.10")
    overdue_invoice(customer=customer, due=TODAY + timedelta(days=9), amount="77.07")
    overdue_invoice(customer=elsewhere, due=TODAY - timedelta(days=3), amount="12.34")
    overdue_invoice(
        customer=elsewhere, due=TODAY - timedelta(days=40), amount="99.00", currency="USD"
    )
    approved_on = TODAY - timedelta(days=40)
    manager = ManagerFactory()
    for invoices, approve in (([planned], True), ([proposed], False)):
        agreement = agreement_propose(
            customer=customer,
            invoices=invoices,
            kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
            instalments=[
                InstalmentInput(due_date=TODAY - timedelta(days=20), amount=invoices[0].amount / 2),
                InstalmentInput(due_date=TODAY + timedelta(days=10), amount=invoices[0].amount / 2),
            ],
            reason="cash flow",
            actor=rep,
            as_of=approved_on,
        )
        if approve:
            agreement_approve(agreement=agreement, actor=manager, as_of=approved_on)
    pay_invoice(invoice=planned, amount="100.01", on=TODAY - timedelta(days=5))

    for user, rep_id in ((manager, None), (manager, other_rep.pk), (rep, None)):
        today = DashboardFilters(as_of=TODAY, currency="CNY", rep_id=rep_id, today=TODAY)
        # When the dashboard reads both from one scan
        report, position = ageing_and_receivables(user=user, filters=today)
        # Then they are what the ageing and the trend compute apart, to the cent
        assert report.totals == ageing_for_dashboard(user=user, filters=today).totals
        assert position is not None
        assert position == receivables_today(user=user, filters=today)
        assert kpi_trend(user=user, filters=today, today=position) == kpi_trend(
            user=user, filters=today
        )
    # and a past date has no shortcut
    past = DashboardFilters(as_of=TODAY - timedelta(days=1), currency="CNY", today=TODAY)
    report, position = ageing_and_receivables(user=manager, filters=past)
    assert (report.totals, position) == (
        ageing_for_dashboard(user=manager, filters=past).totals,
        None,
    )


def _read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def _read_xlsx(response) -> list[tuple]:
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


@time_machine.travel(NOW, tick=False)
def test_the_drill_down_and_its_export_agree_with_the_chart_after_a_plan(
    client, django_assert_max_num_queries
):
    # Given a customer 65 days late on 100,000.00 and 10 days late on 20,000.00
    ensure_default_policy()
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY", code="DRILL-1")
    late = overdue_invoice(customer=customer, due=TODAY - timedelta(days=65), amount="100000.00")
    recent = overdue_invoice(customer=customer, due=TODAY - timedelta(days=10), amount="20000.00")
    # and another customer, of another rep, 70 days late without a plan
    other = CustomerFactory(currency="CNY", code="DRILL-2")
    untouched = overdue_invoice(customer=other, due=TODAY - timedelta(days=70), amount="555.55")
    # and a plan for the late one: 30,000.00 due 35 days ago, 40,000.00 5 days ago, the rest later
    approved_on = TODAY - timedelta(days=40)
    agreement = agreement_propose(
        customer=customer,
        invoices=[late],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY - timedelta(days=35), amount=D("30000.00")),
            InstalmentInput(due_date=TODAY - timedelta(days=5), amount=D("40000.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=25), amount=D("30000.00")),
        ],
        reason="cash flow",
        actor=rep,
        as_of=approved_on,
    )
    manager = ManagerFactory()
    agreement_approve(agreement=agreement, actor=manager, as_of=approved_on)
    # of which 10,000.33 was paid 15 days ago
    pay_invoice(invoice=late, amount="10000.33", on=TODAY - timedelta(days=15))

    filters = DashboardFilters(as_of=TODAY, currency="CNY")
    report = ageing_for_dashboard(user=manager, filters=filters)
    client.force_login(manager)
    dashboard = client.get(reverse("dashboards:dashboard"))
    drill_urls = dashboard.context["drill_urls"]
    assert dashboard.context["ageing"].totals == report.totals

    expected = {
        "current": [(f"{late.number}#3", D("30000.00"))],
        "1-30": [(recent.number, D("20000.00")), (f"{late.number}#2", D("40000.00"))],
        "31-60": [(f"{late.number}#1", D("19999.67"))],
        "61-90": [(untouched.number, D("555.55"))],
        "90+": [],
    }
    for bucket in BUCKETS:
        # When the manager drills down from the bar
        with django_assert_max_num_queries(12):
            response = client.get(drill_urls[bucket])
        rows = response.context["page"].object_list
        # Then the rows are the bucket's invoices and instalments, and total the bar
        assert sorted((row.number, row.open_amount) for row in rows) == sorted(expected[bucket])
        assert sum((row.open_amount for row in rows), D("0.00")) == report.totals[bucket]
        # and so do both exports
        for file_format, reader in (("csv", _read_csv), ("xlsx", _read_xlsx)):
            export = client.get(
                reverse("dashboards:export"),
                {"table": "ageing_invoices", "format": file_format, "bucket": bucket},
            )
            lines = reader(export)[1:]
            assert sorted(str(line[0]) for line in lines) == sorted(n for n, _ in expected[bucket])
            total = sum((D(str(line[8])) for line in lines), D("0.00"))
            assert total == report.totals[bucket], (bucket, file_format)
    # An instalment row links to its plan, the replaced invoice is in no bucket
    page = client.get(drill_urls["31-60"]).content.decode()
    assert reverse("dunning:agreement_detail", args=[agreement.pk]) in page
    everything = client.get(reverse("dashboards:ageing_invoices")).context["page"].object_list
    assert late.number not in [row.number for row in everything]
    assert sum((row.open_amount for row in everything), D("0.00")) == report.totals["total"]
    # and a search finds the instalments by the invoice they replace, sorted by open amount
    searched = client.get(
        reverse("dashboards:ageing_invoices"), {"q": late.number, "order": "-open"}
    )
    assert [row.number for row in searched.context["page"].object_list] == [
        f"{late.number}#2",
        f"{late.number}#3",
        f"{late.number}#1",
    ]
    # while the rep sees only their own customer's rows
    client.force_login(rep)
    mine = client.get(reverse("dashboards:ageing_invoices")).context["page"].object_list
    assert untouched.number not in [row.number for row in mine]


@time_machine.travel(NOW, tick=False)
def test_the_invoice_page_and_list_call_a_replaced_invoice_replaced_not_overdue(
    client, django_assert_max_num_queries
):
    # Given two invoices 65 and 10 days late, the first replaced by an approved plan
    ensure_default_policy()
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY")
    late = overdue_invoice(customer=customer, due=TODAY - timedelta(days=65), amount="1000.00")
    recent = overdue_invoice(customer=customer, due=TODAY - timedelta(days=10), amount="200.00")
    client.force_login(rep)
    overdue_list = reverse("receivables:invoice_list") + "?overdue=on"
    before = client.get(overdue_list).context["invoices"]
    assert sorted(invoice.number for invoice in before) == sorted([late.number, recent.number])
    agreement = agreement_propose(
        customer=customer,
        invoices=[late],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY + timedelta(days=10), amount=D("400.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=40), amount=D("600.00")),
        ],
        reason="cash flow",
        actor=rep,
        as_of=TODAY - timedelta(days=3),
    )
    # a proposed plan replaces nothing yet
    page = client.get(late.get_absolute_url()).content.decode()
    assert "65 days overdue" in page
    agreement_approve(agreement=agreement, actor=ManagerFactory(), as_of=TODAY - timedelta(days=2))

    # When the rep opens the invoice page and the overdue list
    with django_assert_max_num_queries(15):
        page = client.get(late.get_absolute_url()).content.decode()
    with django_assert_max_num_queries(10):
        after = client.get(overdue_list).context["invoices"]

    # Then the replaced invoice keeps its due date, is called replaced, and is not overdue
    assert (TODAY - timedelta(days=65)).isoformat() in page
    assert "days overdue" not in page
    assert 'data-testid="invoice-replaced"' in page
    assert [invoice.number for invoice in after] == [recent.number]
    assert "10 days overdue" in client.get(recent.get_absolute_url()).content.decode()
    # and the unfiltered list still lists it
    listed = client.get(reverse("receivables:invoice_list")).context["invoices"]
    assert late.number in [invoice.number for invoice in listed]


@time_machine.travel(NOW, tick=False)
def test_the_drill_down_pages_invoices_and_instalments_together_in_sql_order(
    client, django_assert_max_num_queries
):
    # Given 60 overdue invoices and a plan whose three instalments sort among them
    ensure_default_policy()
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, currency="CNY")
    invoices = [
        overdue_invoice(customer=customer, due=TODAY - timedelta(days=day), amount=f"{day}.00")
        for day in range(1, 61)
    ]
    replaced = invoices[39]  # due 40 days ago, 40.00
    agreement = agreement_propose(
        customer=customer,
        invoices=[replaced],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=TODAY - timedelta(days=5), amount=D("13.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=5), amount=D("13.00")),
            InstalmentInput(due_date=TODAY + timedelta(days=15), amount=D("14.00")),
        ],
        reason="cash flow",
        actor=rep,
        as_of=TODAY - timedelta(days=30),
    )
    agreement_approve(agreement=agreement, actor=ManagerFactory(), as_of=TODAY - timedelta(days=30))
    client.force_login(rep)
    url = reverse("dashboards:ageing_invoices")

    # When the rep pages through the drill-down sorted by open amount, largest first
    numbers, opens = [], []
    for page_number in (1, 2):
        with django_assert_max_num_queries(25):
            response = client.get(url, {"order": "-open", "page": page_number})
        page = response.context["page"]
        assert page.paginator.count == 62
        numbers += [row.number for row in page.object_list]
        opens += [row.open_amount for row in page.object_list]

    # Then the two pages hold every line once, in one order across invoices and instalments
    assert len(numbers) == len(set(numbers)) == 62
    assert opens == sorted(opens, reverse=True)
    assert replaced.number not in numbers
    assert {f"{replaced.number}#{n}" for n in (1, 2, 3)} <= set(numbers)
    # and ties on the amount fall back to the due date, then the number
    thirteens = [n for n, amount in zip(numbers, opens, strict=True) if amount == D("13.00")]
    assert thirteens == [invoices[12].number, f"{replaced.number}#1", f"{replaced.number}#2"]
