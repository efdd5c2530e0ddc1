"""After an approved instalment plan, "overdue" everywhere is the plan's unpaid instalments
past their own due dates, and every page agrees to the cent."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from contracts.models import SupplementaryAgreement
from dashboards.selectors.common import DashboardFilters
from dashboards.selectors.customer_file import customer_summary
from dashboards.selectors.kpis import overdue_by_customer, overdue_by_rep, overdue_total
from dashboards.selectors.worklist import customer_worklist, rep_totals
from dunning.selectors import collection_case_list, customer_overdue_items
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
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
    assert overdue_total(user=manager, filters=filters) == expected
    [by_customer] = overdue_by_customer(user=manager, filters=filters)
    assert (by_customer.overdue, by_customer.invoices) == (expected, 2)
    assert by_customer.days_overdue(TODAY) == 20
    [by_rep] = overdue_by_rep(user=manager, filters=filters)
    assert by_rep.overdue == expected
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
