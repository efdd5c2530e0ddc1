"""The daily receivables snapshot: taken idempotently, back-filled, and read for history."""

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from dashboards.models import ReceivablesSnapshot, ReceivablesSnapshotDay
from dashboards.selectors.common import DashboardFilters, periods_ending, previous_month_end
from dashboards.selectors.kpis import (
    DSO_LOOKBACK_MONTHS,
    ageing_bucket_invoices,
    ageing_for_dashboard,
    kpi_trend,
    overdue_overview,
)
from dashboards.selectors.snapshots import receivables_positions
from dashboards.services import receivables_snapshot_take
from dashboards.tasks import receivables_snapshot_task
from receivables.models import Invoice
from receivables.services.invoices import credit_note_issue, invoice_cancel
from receivables.services.payments import payment_record, payment_reverse
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date(2026, 4, 15)
NOW = datetime(2026, 4, 15, 10, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))


def filters(as_of: date = TODAY, **kwargs) -> DashboardFilters:
    return DashboardFilters(as_of=as_of, currency="CNY", today=TODAY, **kwargs)


def pay(invoice: Invoice, amount: str, on: date):
    return payment_record(
        customer=invoice.customer,
        payment_date=on,
        amount=D(amount),
        currency=invoice.currency,
        reference=f"R-{invoice.number}-{on}",
        actor=None,
        allocations=[(invoice, D(amount))],
    )


@pytest.fixture
def book():
    """Two reps, CNY and USD, invoices over five months with payments, a reversal,
    a credit note and a cancelled invoice, all written through the services."""
    with time_machine.travel(NOW, tick=False):
        reps = [SalesRepFactory(), SalesRepFactory()]
        customers = [
            CustomerFactory(sales_rep=reps[0]),
            CustomerFactory(sales_rep=reps[0]),
            CustomerFactory(sales_rep=reps[1]),
            CustomerFactory(sales_rep=reps[1], currency="USD"),
        ]
        invoices = []
        for month in range(11, 13):
            for index, customer in enumerate(customers):
                invoices.append(
                    InvoiceFactory(
                        customer=customer,
                        issue_date=date(2025, month, 3 + index),
                        amount=D("1000.00") * (index + 1),
                    )
                )
        for month in range(1, 5):
            for index, customer in enumerate(customers):
                invoices.append(
                    InvoiceFactory(
                        customer=customer,
                        issue_date=date(2026, month, 3 + index),
                        amount=D("1500.00") + D(index * 250),
                    )
                )
        pay(invoices[0], "1000.00", date(2025, 12, 20))
        pay(invoices[2], "1200.00", date(2026, 1, 10))
        pay(invoices[5], "500.00", date(2026, 2, 27))
        reversed_payment = pay(invoices[6], "700.00", date(2026, 2, 1))
        payment_reverse(payment=reversed_payment, reason="bounced", actor=None)
        pay(invoices[9], "800.00", date(2026, 4, 14))
        credit_note_issue(
            invoice=invoices[10],
            number="CN-1",
            amount=D("300.00"),
            issue_date=date(2026, 3, 2),
            reason="damaged",
            actor=None,
        )
        invoice_cancel(invoice=invoices[13], reason="issued by mistake", actor=None)
    return reps, customers, invoices


def trend_days(as_of: date) -> list[date]:
    """The dates the trend reads: its month ends and the countback's look-back."""
    periods = periods_ending(as_of=as_of)
    days = [previous_month_end(periods[0].start), *(period.end for period in periods)]
    while len(days) <= 13 + DSO_LOOKBACK_MONTHS:
        days.insert(0, previous_month_end(days[0]))
    return [day for day in days if day < TODAY]


def without_live(points):
    return [dataclasses.replace(point, live=False) for point in points]


def test_a_snapshot_holds_each_rep_and_currency_as_the_ageing_rule_says(book):
    reps, _customers, _invoices = book

    with time_machine.travel(NOW, tick=False):
        rows = receivables_snapshot_take(business_date=date(2026, 2, 28))

    assert rows == 3  # rep 0 in CNY, rep 1 in CNY and in USD
    snapshot = ReceivablesSnapshot.objects.get(
        business_date=date(2026, 2, 28), currency="CNY", sales_rep=reps[0]
    )
    # Invoices issued by 28 Feb: 2 x (1,000 + 2,000) + 2 x (1,500 + 1,750) = 12,500, less the
    # cancelled February invoice (1,750), 1,000 paid in Dec and 500 on 27 Feb (the 700 paid
    # on another rep's invoice was reversed; the 800 of 14 April comes later).
    assert snapshot.receivables == D("9250.00")
    # Not yet due at 28 Feb, and the month's sales: February's remaining invoice.
    assert snapshot.current_receivables == D("1500.00")
    assert snapshot.month_sales == D("1500.00")
    assert ReceivablesSnapshotDay.objects.filter(business_date=date(2026, 2, 28)).exists()


def test_taking_a_date_again_replaces_its_rows_without_duplicates(book):
    reps, customers, invoices = book
    day = date(2026, 3, 31)
    with time_machine.travel(NOW, tick=False):
        receivables_snapshot_take(business_date=day)
        first = set(ReceivablesSnapshot.objects.filter(business_date=day).values_list())

        # Taken twice with nothing changed: the same rows
        receivables_snapshot_take(business_date=day)
        assert set(ReceivablesSnapshot.objects.filter(business_date=day).values_list()) == first

        # A customer moves to the other rep, a payment is recorded back-dated: taken again,
        # the rows say so and the rep without receivables keeps none
        customers[0].sales_rep = reps[1]
        customers[0].save()
        customers[1].sales_rep = reps[1]
        customers[1].save()
        pay(invoices[8], "100.00", date(2026, 3, 31))
        receivables_snapshot_take(business_date=day)

    rows = ReceivablesSnapshot.objects.filter(business_date=day)
    assert sorted(rows.values_list("currency", "sales_rep_id")) == [
        ("CNY", reps[1].pk),
        ("USD", reps[1].pk),
    ]
    expected = receivables_positions(as_of=day)[("CNY", reps[1].pk)]
    cny = rows.get(currency="CNY")
    assert (cny.receivables, cny.current_receivables, cny.month_sales) == (
        expected.receivables,
        expected.current,
        expected.month_sales,
    )
    assert ReceivablesSnapshotDay.objects.filter(business_date=day).count() == 1


def test_the_beat_task_takes_yesterday_and_is_scheduled():
    with time_machine.travel(NOW, tick=False):
        result = receivables_snapshot_task.apply().get()

    assert result == {"business_date": "2026-04-14", "rows": 0}
    assert ReceivablesSnapshotDay.objects.filter(business_date=date(2026, 4, 14)).exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["dashboards-receivables-snapshot"]
    assert schedule["task"] == receivables_snapshot_task.name


def test_the_back_fill_command_takes_every_date_of_the_range_with_progress(book):
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(
            "snapshot_receivables", "--from", "2026-03-01", "--to", "2026-03-31", stdout=out
        )
        # Run again over an overlapping range: nothing doubles
        call_command("snapshot_receivables", "--from", "2026-03-30", stdout=StringIO())

    lines = out.getvalue().splitlines()
    assert lines[0] == "1/31 2026-03-01: 3 rows"
    assert lines[30] == "31/31 2026-03-31: 3 rows"
    assert "31 days snapshotted" in lines[-1]
    assert ReceivablesSnapshotDay.objects.count() == 31 + 14  # on to yesterday, 14 April
    assert ReceivablesSnapshot.objects.filter(business_date=date(2026, 3, 31)).count() == 3


def test_the_back_fill_refuses_today_and_a_reversed_range():
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(CommandError, match="before today"):
            call_command("snapshot_receivables", "--from", "2026-04-01", "--to", "2026-04-15")
        with pytest.raises(CommandError, match="before --from"):
            call_command("snapshot_receivables", "--from", "2026-04-10", "--to", "2026-04-01")


@pytest.mark.parametrize("as_of", [TODAY, date(2026, 3, 20)])
def test_history_from_snapshots_equals_the_live_computation(book, as_of):
    reps, _customers, _invoices = book
    manager = ManagerFactory()
    cases = [
        (manager, filters(as_of)),
        (manager, filters(as_of, rep_id=reps[1].pk)),
        (reps[0], filters(as_of)),
    ]
    with time_machine.travel(NOW, tick=False):
        # Nothing snapshotted: every point is computed live, and says so
        live = {index: kpi_trend(user=user, filters=f) for index, (user, f) in enumerate(cases)}
        assert all(point.live for points in live.values() for point in points)

        for day in trend_days(as_of):
            receivables_snapshot_take(business_date=day)

        for index, (user, f) in enumerate(cases):
            stored = kpi_trend(user=user, filters=f)
            assert without_live(stored) == without_live(live[index])
            # Only the business date itself is still computed live
            assert [point.period.end for point in stored if point.live] == (
                [TODAY] if as_of == TODAY else []
            )
    assert any(point.receivables for point in live[0])
    assert any(point.cei is not None for point in live[0])


def test_a_missing_snapshot_is_computed_and_the_dashboard_says_so(client, book):
    manager = ManagerFactory()
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        for day in trend_days(TODAY):
            receivables_snapshot_take(business_date=day)
        complete = kpi_trend(user=manager, filters=filters())
        page = client.get(reverse("dashboards:dashboard")).content.decode()
        assert 'data-testid="trend-live"' not in page

        ReceivablesSnapshotDay.objects.filter(business_date=date(2026, 2, 28)).delete()
        ReceivablesSnapshot.objects.filter(business_date=date(2026, 2, 28)).delete()
        patched = kpi_trend(user=manager, filters=filters())
        page = client.get(reverse("dashboards:dashboard")).content.decode()

    assert without_live(patched) == without_live(complete)
    assert [point.period.label for point in patched if point.live] == ["2026-02", "2026-04"]
    assert 'data-testid="trend-live"' in page
    assert "2026-02" in page.split('data-testid="trend-live"')[1].split("</p>")[0]


def test_todays_figures_from_the_open_items_equal_the_as_of_computation(book):
    # Given the book, seen by a manager on the business date
    manager = ManagerFactory()
    today, history = filters(), DashboardFilters(as_of=TODAY, currency="CNY")

    with time_machine.travel(NOW, tick=False):
        # When today's figures are read from the stored outstanding and from history
        pairs = [(ageing_for_dashboard(user=manager, filters=f), f) for f in (today, history)]
        drill = [
            [
                (i.number, i.open_amount)
                for i in ageing_bucket_invoices(user=manager, filters=f, bucket=None)
            ]
            for f in (today, history)
        ]
        overdue = [overdue_overview(user=manager, filters=f, limit=None) for f in (today, history)]

    # Then they agree to the cent
    assert pairs[0][0] == pairs[1][0]
    assert pairs[0][0].totals["total"] > 0
    assert drill[0] == drill[1]
    assert len(drill[0]) > 5
    assert overdue[0] == overdue[1]
    assert overdue[0].total > 0
