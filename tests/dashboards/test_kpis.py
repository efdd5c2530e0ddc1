"""The manager's numbers against answers worked out by hand."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import SupplementaryAgreement
from dashboards.selectors.common import DashboardFilters, periods_ending
from dashboards.selectors.kpis import (
    ageing_bucket_invoices,
    ageing_for_dashboard,
    cei_value,
    dso_countback,
    kpi_trend,
    ladder_distribution,
    overdue_by_customer,
    overdue_by_rep,
    overdue_overview,
    promise_stats,
    receivables_at,
)
from dunning.models import LevelCode, PromiseToPay
from receivables.models import Invoice, Payment
from receivables.selectors.ageing import BUCKETS, ageing_report
from tests.dashboards.conftest import book_create
from tests.factories.cases import (
    AgreementInstalmentFactory,
    DunningStepFactory,
    PromiseToPayFactory,
    SupplementaryAgreementFactory,
    pay_invoice,
)
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.invoices import (
    CreditNoteFactory,
    InvoiceFactory,
    PaymentAllocationFactory,
    PaymentFactory,
)
from tests.factories.users import ManagerFactory, SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def filters(as_of: date, **kwargs) -> DashboardFilters:
    return DashboardFilters(as_of=as_of, currency="CNY", **kwargs)


def pay(invoice: Invoice, amount: str, on: date, **kwargs) -> None:
    payment = PaymentFactory(customer=invoice.customer, payment_date=on, amount=D(amount), **kwargs)
    PaymentAllocationFactory(payment=payment, invoice=invoice, amount=D(amount))


@pytest.fixture
def two_months():
    """Feb: 100,000 invoiced, half paid on 20 March; March: 100,000 invoiced, unpaid."""
    customer = CustomerFactory()
    february = InvoiceFactory(
        customer=customer,
        issue_date=date(2026, 2, 10),
        due_date=date(2026, 3, 12),
        amount=D("100000.00"),
    )
    march = InvoiceFactory(
        customer=customer,
        issue_date=date(2026, 3, 5),
        due_date=date(2026, 4, 4),
        amount=D("100000.00"),
    )
    pay(february, "50000.00", date(2026, 3, 20))
    return customer, february, march


# --- DSO and CEI ---------------------------------------------------------------


def test_dso_countback_walks_back_through_monthly_sales():
    # Given 150,000 open at 31 March, March sales 100,000, February sales 100,000
    sales = {date(2026, 3, 1): D("100000.00"), date(2026, 2, 1): D("100000.00")}

    # When DSO is counted back from 31 March
    dso = dso_countback(receivables=D("150000.00"), end=date(2026, 3, 31), sales=sales)

    # Then all 31 days of March count, and half of February's 28 days
    assert dso == D("45.0")


def test_dso_counts_a_month_without_sales_in_full_and_zero_receivables_as_zero():
    sales = {date(2026, 1, 1): D("90000.00")}

    # February had no sales: its 28 days, then a third of January's 31 days (10.33)
    assert dso_countback(receivables=D("30000.00"), end=date(2026, 2, 28), sales=sales) == D("38.3")
    assert dso_countback(receivables=D("0.00"), end=date(2026, 2, 28), sales=sales) == D("0.0")


def test_dso_of_the_current_month_counts_only_the_days_so_far():
    sales = {date(2026, 3, 1): D("30000.00")}

    assert dso_countback(receivables=D("15000.00"), end=date(2026, 3, 10), sales=sales) == D("5.0")


def test_cei_formula_and_undefined_when_nothing_was_collectable():
    assert cei_value(
        opening=D("100000"), sales=D("100000"), closing=D("150000"), closing_current=D("100000")
    ) == D("50.0")
    assert cei_value(opening=D("0"), sales=D("0"), closing=D("0"), closing_current=D("0")) is None


def test_trend_gives_dso_and_cei_per_month_from_the_database(two_months):
    # Given the two months of the fixture, seen as of 31 March 2026
    user = ManagerFactory()

    # When the trend is read
    trend = kpi_trend(user=user, filters=filters(date(2026, 3, 31)))

    # Then there are twelve months, ending in March 2026
    assert [point.period.label for point in trend][-3:] == ["2026-01", "2026-02", "2026-03"]
    assert len(trend) == 12
    february, march = trend[-2], trend[-1]
    # February: 100,000 invoiced and still open, nothing due yet -> CEI undefined? No:
    # collectable = 0 + 100,000 - 100,000 current = 0, so CEI is undefined.
    assert february.receivables == D("100000.00")
    assert february.current_receivables == D("100000.00")
    assert february.cei is None
    assert february.dso == D("28.0")  # 100,000 open = all of February's sales
    # March: opening 100,000 + sales 100,000 - closing 150,000 = 50,000 collected,
    # of 100,000 collectable (closing current = the March invoice, not yet due).
    assert march.opening_receivables == D("100000.00")
    assert march.sales == D("100000.00")
    assert march.receivables == D("150000.00")
    assert march.current_receivables == D("100000.00")
    assert march.collected == D("50000.00")
    assert march.cei == D("50.0")
    assert march.dso == D("45.0")
    assert all(point.dso == D("0.0") for point in trend[:-2])


def test_receivables_at_matches_the_ageing_report_on_every_date():
    # Given invoices with payments, a reversed payment, a credit note and a cancelled invoice
    customer = CustomerFactory()
    first = InvoiceFactory(
        customer=customer, issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4), amount=D("800")
    )
    second = InvoiceFactory(
        customer=customer, issue_date=date(2026, 2, 7), due_date=date(2026, 3, 9), amount=D("500")
    )
    InvoiceFactory(
        customer=customer,
        issue_date=date(2026, 1, 9),
        due_date=date(2026, 2, 9),
        amount=D("999"),
        status=Invoice.Status.CANCELLED,
    )
    InvoiceFactory(
        issue_date=date(2026, 1, 9), amount=D("777"), currency="USD", customer__currency="USD"
    )
    pay(first, "300.00", date(2026, 2, 1))
    pay(first, "200.00", date(2026, 3, 3), status=Payment.Status.REVERSED)
    CreditNoteFactory(invoice=second, issue_date=date(2026, 3, 1), amount=D("120.00"))
    user = ManagerFactory()
    days = [date(2026, 1, 31), date(2026, 2, 5), date(2026, 2, 28), date(2026, 3, 31)]

    # When receivables are read at several dates at once
    positions = receivables_at(user=user, filters=filters(days[-1]), days=days)

    # Then each equals the ageing report's total and current bucket on that date
    for day in days:
        report = ageing_report(as_of=day, currency="CNY")
        assert positions[day].total == report.totals["total"], day
        assert positions[day].current == report.totals["current"], day
    assert positions[date(2026, 3, 31)].total == D("880.00")


# --- Ageing drill-down ---------------------------------------------------------


def test_drill_down_lists_exactly_the_invoices_of_each_bucket():
    # Given one invoice in each bucket as of 30 June 2026 and one paid off
    as_of = date(2026, 6, 30)
    customer = CustomerFactory()
    dues = {
        "current": date(2026, 6, 30),
        "1-30": date(2026, 5, 31),
        "31-60": date(2026, 5, 1),
        "61-90": date(2026, 4, 1),
        "90+": date(2026, 3, 31),
    }
    numbers = {}
    for bucket, due in dues.items():
        invoice = InvoiceFactory(
            customer=customer, issue_date=date(2026, 1, 1), due_date=due, amount=D("100")
        )
        numbers[bucket] = invoice.number
    paid = InvoiceFactory(customer=customer, issue_date=date(2026, 1, 1), due_date=dues["1-30"])
    pay(paid, "1000.00", date(2026, 6, 1))
    user = ManagerFactory()

    report = ageing_for_dashboard(user=user, filters=filters(as_of))
    for bucket in BUCKETS:
        # When the bucket is drilled into
        rows = list(ageing_bucket_invoices(user=user, filters=filters(as_of), bucket=bucket))

        # Then it lists that bucket's invoice only, for the bucket's amount
        assert [row.number for row in rows] == [numbers[bucket]], bucket
        assert sum(row.open_amount for row in rows) == report.totals[bucket]
    everything = ageing_bucket_invoices(user=user, filters=filters(as_of), bucket=None)
    assert everything.count() == 5


# --- Ladder, promises, overdue ---------------------------------------------------


def customer_at_the_demand_letter(*, due: date) -> None:
    """A customer whose invoice got its reminder on 2 April and its letter on 16 April."""
    invoice = InvoiceFactory(customer=CustomerFactory(), due_date=due)
    DunningStepFactory(invoice=invoice, level=LevelCode.REMINDER, fired_on=date(2026, 4, 2))
    DunningStepFactory(invoice=invoice, level=LevelCode.DEMAND_LETTER, fired_on=date(2026, 4, 16))


def test_ladder_counts_each_customer_once_at_its_highest_rung_of_items_still_owed():
    as_of = date(2026, 6, 30)
    due = date(2026, 4, 1)
    # Given a customer at the demand letter (its reminder too), one at the reminder,
    customer_at_the_demand_letter(due=due)
    at_reminder = CustomerFactory()
    DunningStepFactory(
        invoice=InvoiceFactory(customer=at_reminder, due_date=due),
        level=LevelCode.REMINDER,
        fired_on=date(2026, 4, 2),
    )
    # one whose escalated invoice is paid (it stands nowhere) but with an overdue one not dunned,
    paid_off = CustomerFactory()
    DunningStepFactory(
        invoice=InvoiceFactory(customer=paid_off, due_date=due, status=Invoice.Status.PAID),
        level=LevelCode.EXECUTIVE,
        fired_on=date(2026, 5, 1),
    )
    InvoiceFactory(customer=paid_off, due_date=date(2026, 6, 20))
    # one whose legal step fires only after the date, one replaced by an approved plan
    later = CustomerFactory()
    DunningStepFactory(
        invoice=InvoiceFactory(customer=later, due_date=due),
        level=LevelCode.LEGAL,
        fired_on=date(2026, 7, 1),
    )
    planned = CustomerFactory()
    replaced = InvoiceFactory(customer=planned, due_date=due)
    DunningStepFactory(invoice=replaced, level=LevelCode.EXECUTIVE, fired_on=date(2026, 5, 1))
    SupplementaryAgreementFactory(
        customer=planned, status=SupplementaryAgreement.Status.APPROVED, invoices=[replaced]
    )
    CustomerFactory()  # nothing owed at all

    # When the ladder is read
    rows = {
        row.level: row.customers
        for row in ladder_distribution(user=ManagerFactory(), filters=filters(as_of))
    }

    # Then paid_off and later stand on no rung yet (the later step does not count yet)
    assert rows == {
        "": 2,  # paid_off and later: overdue invoices, no rung standing; planned is replaced
        LevelCode.REMINDER: 1,
        LevelCode.DEMAND_LETTER: 1,
        LevelCode.EXECUTIVE: 0,
        LevelCode.LEGAL: 0,
    }


def ladder(user, as_of: date, *, today: date | None) -> dict[str, int]:
    """Customers per rung, read as today (the stored rungs) or as a past date (the steps)."""
    rows = ladder_distribution(user=user, filters=filters(as_of, today=today))
    return {row.level: row.customers for row in rows}


def test_todays_ladder_reads_the_rungs_stored_on_the_open_invoices_as_the_steps_say():
    as_of = date(2026, 6, 30)
    due = date(2026, 4, 1)
    customer_at_the_demand_letter(due=due)
    # A customer at the reminder with a second invoice that went further but is paid
    at_reminder = CustomerFactory()
    for status, level in ((Invoice.Status.OPEN, "reminder"), (Invoice.Status.PAID, "legal")):
        DunningStepFactory(
            invoice=InvoiceFactory(customer=at_reminder, due_date=due, status=status),
            level=level,
            fired_on=date(2026, 5, 2),
        )
    planned = CustomerFactory()
    replaced = InvoiceFactory(customer=planned, due_date=due)
    DunningStepFactory(invoice=replaced, level=LevelCode.EXECUTIVE, fired_on=date(2026, 5, 1))
    SupplementaryAgreementFactory(
        customer=planned, status=SupplementaryAgreement.Status.APPROVED, invoices=[replaced]
    )
    user = ManagerFactory()

    # Read as today (the stored rungs) and as a past date (the steps): the same ladder
    assert (
        ladder(user, as_of, today=as_of)
        == ladder(user, as_of, today=None)
        == {
            "": 0,
            LevelCode.REMINDER: 1,
            LevelCode.DEMAND_LETTER: 1,
            LevelCode.EXECUTIVE: 0,
            LevelCode.LEGAL: 0,
        }
    )


def test_todays_ladder_leaves_out_a_customer_whose_dunned_invoice_is_paid_within_tolerance():
    as_of = date(2026, 6, 30)
    ensure_default_policy()  # tolerance 1.00
    settled, owing = CustomerFactory(), CustomerFactory()
    for customer, level, paid in (
        (settled, LevelCode.DEMAND_LETTER, "999.50"),
        (owing, LevelCode.REMINDER, "999.00"),
    ):
        invoice = InvoiceFactory(customer=customer, due_date=date(2026, 4, 1))
        DunningStepFactory(invoice=invoice, level=level, fired_on=date(2026, 5, 2))
        pay_invoice(invoice=invoice, amount=paid, on=date(2026, 6, 1))
    assert Invoice.objects.get(customer=settled).outstanding == D("0.50")

    user = ManagerFactory()

    # The settled invoice's rung ends with the money: only the customer still owing stands,
    # read as today (the stored rungs) and from the steps alike
    assert (
        ladder(user, as_of, today=as_of)
        == ladder(user, as_of, today=None)
        == {
            "": 0,
            LevelCode.REMINDER: 1,
            LevelCode.DEMAND_LETTER: 0,
            LevelCode.EXECUTIVE: 0,
            LevelCode.LEGAL: 0,
        }
    )


def test_ladder_counts_instalments_of_approved_plans():
    as_of = date(2026, 6, 30)
    customer = CustomerFactory()
    agreement = SupplementaryAgreementFactory(
        customer=customer,
        status=SupplementaryAgreement.Status.APPROVED,
        invoices=[InvoiceFactory(customer=customer, due_date=date(2026, 3, 1), amount=D("500.00"))],
    )
    instalment = AgreementInstalmentFactory(agreement=agreement, due_date=date(2026, 5, 1))
    DunningStepFactory(
        invoice=None,
        instalment=instalment,
        customer=customer,
        due_date=instalment.due_date,
        currency="CNY",
        outstanding=D("500.00"),
        level=LevelCode.REMINDER,
        fired_on=date(2026, 5, 2),
    )

    rows = {
        row.level: row.customers
        for row in ladder_distribution(user=ManagerFactory(), filters=filters(as_of))
    }

    assert rows[LevelCode.REMINDER] == 1


def test_promise_kept_rate_over_the_last_twelve_months():
    as_of = date(2026, 6, 30)
    for status, promised in [
        (PromiseToPay.Status.KEPT, date(2026, 6, 1)),
        (PromiseToPay.Status.KEPT, date(2025, 7, 1)),
        (PromiseToPay.Status.BROKEN, date(2026, 3, 1)),
        (PromiseToPay.Status.OPEN, date(2026, 6, 29)),
        (PromiseToPay.Status.KEPT, date(2025, 6, 30)),  # before the window
        (PromiseToPay.Status.BROKEN, date(2026, 7, 1)),  # after the date
    ]:
        PromiseToPayFactory(status=status, promised_date=promised, amount=D("100.00"))

    stats = promise_stats(user=ManagerFactory(), filters=filters(as_of))

    assert (stats.kept, stats.broken, stats.open) == (2, 1, 1)
    assert stats.kept_rate == D("66.7")
    assert stats.kept_amount == D("200.00")
    assert promise_stats(user=ManagerFactory(), filters=filters(date(2020, 1, 1))).kept_rate is None


def test_overdue_by_rep_and_customer_largest_first_as_of_the_date():
    as_of = date(2026, 6, 30)
    rep_a, rep_b = SalesRepFactory(username="alice"), SalesRepFactory(username="bob")
    big = CustomerFactory(sales_rep=rep_a, code="A-1")
    small = CustomerFactory(sales_rep=rep_a, code="A-2")
    other = CustomerFactory(sales_rep=rep_b, code="B-1")
    InvoiceFactory(customer=big, due_date=date(2026, 5, 1), amount=D("700"))
    InvoiceFactory(customer=big, due_date=date(2026, 6, 1), amount=D("300"))
    InvoiceFactory(customer=small, due_date=date(2026, 6, 1), amount=D("50"))
    partly = InvoiceFactory(customer=other, due_date=date(2026, 4, 1), amount=D("900"))
    pay(partly, "100.00", date(2026, 6, 1))
    pay(partly, "800.00", date(2026, 7, 5))  # after the date: still overdue on 30 June
    InvoiceFactory(customer=other, due_date=date(2026, 7, 1), amount=D("5000"))  # not yet due

    by_rep = overdue_by_rep(user=ManagerFactory(), filters=filters(as_of))
    by_customer = overdue_by_customer(user=ManagerFactory(), filters=filters(as_of))

    assert [(row.label, row.overdue, row.invoices) for row in by_rep] == [
        ("alice", D("1050.00"), 3),
        ("bob", D("800.00"), 1),
    ]
    assert by_rep[1].days_overdue(as_of) == 90
    assert [(row.label.split()[0], row.overdue) for row in by_customer] == [
        ("A-1", D("1000.00")),
        ("B-1", D("800.00")),
        ("A-2", D("50.00")),
    ]
    assert len(overdue_by_customer(user=ManagerFactory(), filters=filters(as_of), limit=2)) == 2


def test_the_customers_owing_most_are_cut_after_ties_in_code_order():
    # Given twelve customers owing the same, their codes in no particular order
    as_of = date(2026, 6, 30)
    codes = ["Z-9", "C10", "C-100", "A1", "B-10", "B-2", "C-1", "D.5", "B10", "E", "C_3", "C-2"]
    customers = {code: CustomerFactory(code=code) for code in codes}
    for customer in customers.values():
        InvoiceFactory(customer=customer, due_date=date(2026, 6, 1), amount=D("100"))

    # When the manager reads the ten owing most
    rows = overdue_by_customer(user=ManagerFactory(), filters=filters(as_of))

    # Then the cut keeps the first ten codes, in the order Python sorts them
    assert [row.key for row in rows] == [customers[code].pk for code in sorted(codes)[:10]]


def test_a_user_with_no_role_sees_no_overdue_figures():
    as_of = date(2026, 6, 30)
    InvoiceFactory(due_date=date(2026, 6, 1), amount=D("100"))
    nobody = UserFactory()

    overview = overdue_overview(user=nobody, filters=filters(as_of))

    assert (overview.total, overview.by_rep, overview.by_customer) == (D("0.00"), [], [])
    assert sum(row.customers for row in overview.ladder) == 0


# --- Scope --------------------------------------------------------------------------


def test_every_number_of_a_rep_counts_only_their_own_customers(two_months):
    # Given another rep's customer (the fixture's) and the rep's own smaller book
    as_of = date(2026, 3, 31)
    rep = SalesRepFactory()
    own = CustomerFactory(sales_rep=rep)
    InvoiceFactory(
        customer=own, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 10), amount=D("10")
    )
    PromiseToPayFactory(
        customer=own, status=PromiseToPay.Status.KEPT, promised_date=date(2026, 3, 20)
    )
    PromiseToPayFactory(status=PromiseToPay.Status.BROKEN, promised_date=date(2026, 3, 20))
    someone_else = two_months[0].sales_rep

    # When the rep reads every figure, even asking for the other rep
    for asked in (None, someone_else.pk):
        f = filters(as_of, rep_id=asked)
        assert ageing_for_dashboard(user=rep, filters=f).totals["total"] == D("10.00")
        assert [row.number for row in ageing_bucket_invoices(user=rep, filters=f, bucket=None)] == [
            own.invoices.get().number
        ]
        assert kpi_trend(user=rep, filters=f)[-1].receivables == D("10.00")
        assert [row.label for row in overdue_by_rep(user=rep, filters=f)] == [rep.username]
        assert [row.key for row in overdue_by_customer(user=rep, filters=f)] == [own.pk]
        assert sum(row.customers for row in ladder_distribution(user=rep, filters=f)) == 1
        assert promise_stats(user=rep, filters=f).broken == 0


def test_a_manager_can_narrow_every_number_to_one_rep(two_months):
    as_of = date(2026, 3, 31)
    rep = SalesRepFactory()
    InvoiceFactory(
        customer=CustomerFactory(sales_rep=rep),
        issue_date=date(2026, 3, 1),
        due_date=date(2026, 3, 10),
        amount=D("10"),
    )
    manager = ManagerFactory()

    assert ageing_for_dashboard(user=manager, filters=filters(as_of)).totals["total"] == D(
        "150010.00"
    )
    narrowed = filters(as_of, rep_id=rep.pk)
    assert ageing_for_dashboard(user=manager, filters=narrowed).totals["total"] == D("10.00")
    assert kpi_trend(user=manager, filters=narrowed)[-1].receivables == D("10.00")


def test_periods_end_at_the_business_date():
    periods = periods_ending(as_of=date(2026, 3, 10), months=3)

    assert [(p.start, p.end) for p in periods] == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10)),
    ]


@pytest.mark.parametrize("days_back", [0, 20])
def test_the_dashboard_ageing_totals_equal_the_sum_of_its_rows_per_customer(days_back):
    # Given two reps' books with invoices at every age
    rep, other = SalesRepFactory(), SalesRepFactory()
    book_create(rep=rep, customers=3, invoices_per_customer=6, prefix="A")
    book_create(rep=other, customers=2, invoices_per_customer=4, prefix="B")
    today = timezone.localdate()
    as_of = today - timedelta(days=days_back)

    for user in (ManagerFactory(), rep):
        chosen = filters(as_of, today=today)
        # When the dashboard asks for the totals alone, and the export for every row
        totals = ageing_for_dashboard(user=user, filters=chosen).totals
        report = ageing_for_dashboard(user=user, filters=chosen, per_customer=True)

        # Then both say the same, to the cent, and the export's rows add up to it
        assert totals == report.totals
        assert totals["total"] > 0
        assert sum(row.amounts["total"] for row in report.customers) == totals["total"]
