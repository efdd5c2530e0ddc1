import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from receivables.models import Customer
from receivables.selectors.ageing import (
    ageing_currencies,
    ageing_report,
    customer_ageing,
    customers_with_ageing_today,
)
from receivables.services.invoices import credit_note_issue, invoice_cancel, invoice_issue
from receivables.services.payments import payment_record, payment_reverse
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)


def _issue(customer, number, amount, due, *, issued=None):
    return invoice_issue(
        customer=customer,
        number=number,
        issue_date=issued or due - timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        currency=customer.currency,
        actor=None,
        check_credit=False,
    )


def _pay(customer, amount, paid_on, *, reference, allocations=None):
    return payment_record(
        customer=customer,
        payment_date=paid_on,
        amount=Decimal(amount),
        currency=customer.currency,
        reference=reference,
        actor=None,
        allocations=allocations,
    )


@pytest.fixture
def book():
    """Two reps' customers with invoices at every age, payments and credit notes.

    As of 2026-06-30, customer A-1 owes: current 1000.00; 1-30 4500.00
    (2000.00 less 500.00 paid on 06-20, and 3000.00 due exactly 30 days
    before); 31-60 4500.00; 61-90 1300.00; 90+ 700.00 (800.00 less a
    100.00 credit note); 12000.00 in total.
    """
    rep1 = SalesRepFactory(username="rep-a")
    rep2 = SalesRepFactory(username="rep-b")
    a = CustomerFactory(code="A-1", name="Alpha", sales_rep=rep1, currency="CNY")
    b = CustomerFactory(code="B-1", name="Beta", sales_rep=rep2, currency="CNY")
    dollars = CustomerFactory(code="D-1", name="Dollar", sales_rep=rep1, currency="USD")
    inv = {
        "current": _issue(a, "A-CUR", "1000.00", date(2026, 6, 30), issued=date(2026, 6, 1)),
        "15": _issue(a, "A-15", "2000.00", date(2026, 6, 15)),
        "30": _issue(a, "A-30", "3000.00", date(2026, 5, 31)),
        "31": _issue(a, "A-31", "4000.00", date(2026, 5, 30)),
        "60": _issue(a, "A-60", "500.00", date(2026, 5, 1)),
        "61": _issue(a, "A-61", "600.00", date(2026, 4, 30)),
        "90": _issue(a, "A-90", "700.00", date(2026, 4, 1)),
        "91": _issue(a, "A-91", "800.00", date(2026, 3, 31)),
        # Issued after the as-of date: not yet a receivable then.
        "later": _issue(a, "A-LATER", "999.00", date(2026, 7, 31), issued=date(2026, 7, 1)),
    }
    _pay(a, "500.00", date(2026, 6, 20), reference="P-1", allocations=[(inv["15"], "500.00")])
    # Paid after the as-of date: still open then.
    _pay(a, "1000.00", date(2026, 7, 5), reference="P-2", allocations=[(inv["current"], "1000")])
    credit_note_issue(
        invoice=inv["91"],
        number="CN-1",
        amount=Decimal("100.00"),
        issue_date=date(2026, 6, 1),
        reason="Short delivery",
        actor=None,
    )
    credit_note_issue(
        invoice=inv["90"],
        number="CN-2",
        amount=Decimal("100.00"),
        issue_date=date(2026, 7, 2),
        reason="Late credit",
        actor=None,
    )
    bounced = _pay(
        a, "300.00", date(2026, 6, 10), reference="P-3", allocations=[(inv["30"], "300")]
    )
    payment_reverse(payment=bounced, reason="Bounced", actor=None)
    cancelled = _issue(a, "A-CANCELLED", "5000.00", date(2026, 6, 1))
    invoice_cancel(invoice=cancelled, reason="Issued by mistake", actor=None)

    _issue(b, "B-1", "250.50", date(2026, 6, 25))
    settled = _issue(b, "B-SETTLED", "0.30", date(2026, 6, 1))
    _pay(b, "0.10", date(2026, 6, 2), reference="B-P1", allocations=[(settled, "0.10")])
    _pay(b, "0.20", date(2026, 6, 3), reference="B-P2", allocations=[(settled, "0.20")])
    _issue(dollars, "D-1", "77.00", date(2026, 1, 1))
    return {"rep1": rep1, "rep2": rep2, "a": a, "b": b, "invoices": inv}


def _amounts(row):
    return {key: str(value) for key, value in row.items()}


def test_buckets_per_customer_and_in_total_as_of_a_date(book, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        report = ageing_report(as_of=AS_OF, currency="CNY")

    alpha, beta = report.customers
    assert (alpha.code, alpha.name) == ("A-1", "Alpha")
    assert _amounts(alpha.amounts) == {
        "current": "1000.00",
        "1-30": "4500.00",
        "31-60": "4500.00",
        "61-90": "1300.00",
        "90+": "700.00",
        "total": "12000.00",
    }
    assert _amounts(beta.amounts) == {
        "current": "0.00",
        "1-30": "250.50",
        "31-60": "0.00",
        "61-90": "0.00",
        "90+": "0.00",
        "total": "250.50",
    }
    assert _amounts(report.totals) == {
        "current": "1000.00",
        "1-30": "4750.50",
        "31-60": "4500.00",
        "61-90": "1300.00",
        "90+": "700.00",
        "total": "12250.50",
    }


def test_as_of_a_date_before_the_payments_and_credit_notes(book):
    report = ageing_report(as_of=date(2026, 6, 19), currency="CNY")

    alpha = report.customers[0]
    assert _amounts(alpha.amounts) == {
        "current": "1000.00",
        "1-30": "9000.00",
        "31-60": "1100.00",
        "61-90": "1400.00",
        "90+": "0.00",
        "total": "12500.00",
    }
    # Beta's 0.30 invoice was settled on 06-03; B-1 is not yet due.
    assert [row.code for row in report.customers] == ["A-1", "B-1"]
    assert _amounts(report.customers[1].amounts)["current"] == "250.50"
    assert _amounts(report.customers[1].amounts)["total"] == "250.50"


def test_later_payments_and_credit_notes_count_from_their_dates(book):
    report = ageing_report(as_of=date(2026, 7, 5), currency="CNY")

    alpha = report.customers[0]
    # 07-05: A-CUR paid; A-LATER (999.00) issued and current; CN-2 lowers A-90;
    # everything has aged five days.
    assert _amounts(alpha.amounts) == {
        "current": "999.00",
        "1-30": "1500.00",
        "31-60": "7000.00",
        "61-90": "1100.00",
        "90+": "1300.00",
        "total": "11899.00",
    }


def test_a_settled_customer_is_left_out_and_an_empty_report_is_zero(book):
    report = ageing_report(as_of=date(2026, 1, 1), currency="CNY")

    assert report.customers == []
    assert set(report.totals.values()) == {Decimal("0.00")}


def test_other_currencies_are_reported_separately(book):
    report = ageing_report(as_of=AS_OF, currency="USD")

    assert [(row.code, str(row.amounts["90+"])) for row in report.customers] == [("D-1", "77.00")]
    assert ageing_currencies() == ["CNY", "USD"]


def test_per_rep_and_per_user_scope(book):
    by_rep = ageing_report(as_of=AS_OF, currency="CNY", rep=book["rep2"])
    as_rep = ageing_report(as_of=AS_OF, currency="CNY", user=book["rep1"])
    as_finance = ageing_report(as_of=AS_OF, currency="CNY", user=FinanceUserFactory())

    assert [row.code for row in by_rep.customers] == ["B-1"]
    assert str(by_rep.totals["total"]) == "250.50"
    assert [row.code for row in as_rep.customers] == ["A-1"]
    assert str(as_finance.totals["total"]) == "12250.50"


@pytest.mark.parametrize("today", [None, AS_OF], ids=["history", "open items"])
def test_a_rep_filter_on_ones_own_name_keeps_to_that_rep_whoever_asks(book, today):
    # Given a finance user who is also the rep of a customer of their own
    finance = FinanceUserFactory()
    own = CustomerFactory(sales_rep=finance, currency="CNY", code="F-1")
    _issue(own, "F-1-1", "42.00", AS_OF - timedelta(days=3))

    def codes(**scope):
        report = ageing_report(as_of=AS_OF, currency="CNY", today=today, **scope)
        return [row.code for row in report.customers]

    # When they narrow to themselves, then only their customer, though they see every one
    assert codes(user=finance, rep=finance) == ["F-1"]
    assert codes(user=finance) == ["A-1", "B-1", "F-1"]
    # and a rep narrowed to themselves, or to another rep, sees only their own book
    assert codes(user=book["rep1"], rep=book["rep1"]) == ["A-1"]
    assert codes(user=book["rep1"], rep=book["rep2"]) == []


def test_customer_ageing(book):
    assert str(customer_ageing(customer=book["a"], as_of=AS_OF)["61-90"]) == "1300.00"


def test_a_customer_annotated_with_todays_ageing_reads_the_same_buckets_without_a_query(
    book, django_assert_num_queries
):
    # Given every customer of the book, fetched with today's ageing annotated
    customers = list(customers_with_ageing_today(Customer.objects.order_by("pk"), today=AS_OF))
    assert len(customers) >= 3

    for customer in customers:
        # When its ageing for today is asked, then no query runs
        with django_assert_num_queries(0):
            annotated = customer_ageing(customer=customer, as_of=AS_OF, today=AS_OF)
        # and every bucket equals the grouped query's over the open items
        plain = Customer.objects.get(pk=customer.pk)
        assert annotated == customer_ageing(customer=plain, as_of=AS_OF, today=AS_OF)
    assert str(customer_ageing(customer=customers[0], as_of=AS_OF, today=AS_OF)["total"]) != "0.00"


def test_totals_stay_exact_to_the_cent_with_many_small_amounts():
    customer = CustomerFactory(currency="CNY")
    amounts = [Decimal("0.01") * n + Decimal("0.07") for n in range(1, 60)]
    for n, amount in enumerate(amounts):
        _issue(customer, f"S-{n}", amount, date(2026, 1, 1) + timedelta(days=n * 3))
    _pay(customer, "3.33", date(2026, 3, 1), reference="S-P")

    report = ageing_report(as_of=AS_OF, currency="CNY")

    expected = sum(amounts, Decimal(0)) - Decimal("3.33")
    assert report.totals["total"] == expected
    assert (
        sum(
            (report.totals[key] for key in ("current", "1-30", "31-60", "61-90", "90+")), Decimal(0)
        )
        == expected
    )


def test_aging_report_command_json(book, capsys):
    call_command("aging_report", "--as-of", "2026-06-30", "--currency", "CNY")

    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == "2026-06-30"
    assert data["currency"] == "CNY"
    assert data["totals"] == {
        "current": "1000.00",
        "1-30": "4750.50",
        "31-60": "4500.00",
        "61-90": "1300.00",
        "90+": "700.00",
        "total": "12250.50",
    }
    assert data["customers"][0] == {
        "code": "A-1",
        "name": "Alpha",
        "current": "1000.00",
        "1-30": "4500.00",
        "31-60": "4500.00",
        "61-90": "1300.00",
        "90+": "700.00",
        "total": "12000.00",
    }


def test_aging_report_command_csv_and_rep(book, capsys):
    call_command("aging_report", "--as-of", "2026-06-30", "--rep", "rep-b", "--format", "csv")

    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["code", "name", "current", "1-30", "31-60", "61-90", "90+", "total"],
        ["B-1", "Beta", "0.00", "250.50", "0.00", "0.00", "0.00", "250.50"],
        ["TOTAL", "", "0.00", "250.50", "0.00", "0.00", "0.00", "250.50"],
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as-of", "2026/06/30"], "YYYY-MM-DD"),
        (["--as-of", "2026-02-30"], "YYYY-MM-DD"),
        (["--as-of", "2026-06-30", "--currency", "RMB"], "ISO 4217"),
        (["--as-of", "2026-06-30", "--rep", "nobody"], "no user"),
    ],
)
def test_aging_report_command_refuses_bad_arguments(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("aging_report", *arguments)
