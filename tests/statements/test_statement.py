"""The statement of account: opening, lines, running balance, closing, to the cent."""

import io
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from pypdf import PdfReader

from receivables.services.invoices import credit_note_issue, invoice_cancel
from receivables.services.payments import payment_record, payment_reverse
from statements.documents import statement_pdf, statement_xlsx
from statements.selectors import statement_of_account
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def ledger():
    """A book with everything a statement shows, each event on its own business date."""
    finance = FinanceUserFactory()
    customer = CustomerFactory(code="ACME", currency="CNY")
    other = CustomerFactory(code="OTHER")
    InvoiceFactory(customer=other, number="X-1", issue_date=date(2026, 2, 3))
    with time_machine.travel(at(date(2026, 1, 10)), tick=False):
        InvoiceFactory(
            customer=customer,
            number="INV-1",
            issue_date=date(2026, 1, 10),
            amount=Decimal("1000.00"),
        )
    with time_machine.travel(at(date(2026, 1, 20)), tick=False):
        early = payment_record(
            customer=customer,
            payment_date=date(2026, 1, 20),
            amount=Decimal("300.00"),
            currency="CNY",
            reference="B-1",
            actor=finance,
        )
    with time_machine.travel(at(date(2026, 2, 2)), tick=False):
        InvoiceFactory(
            customer=customer, number="INV-3", issue_date=date(2026, 2, 2), amount=Decimal("500.00")
        )
        InvoiceFactory(
            customer=customer, number="INV-2", issue_date=date(2026, 2, 2), amount=Decimal("250.50")
        )
        voided = InvoiceFactory(
            customer=customer,
            number="INV-VOID",
            issue_date=date(2026, 2, 2),
            amount=Decimal("999.00"),
        )
        invoice_cancel(invoice=voided, reason="issued twice", actor=finance)
        payment_record(
            customer=customer,
            payment_date=date(2026, 2, 2),
            amount=Decimal("200.00"),
            currency="CNY",
            reference="B-2",
            actor=finance,
        )
    with time_machine.travel(at(date(2026, 2, 10)), tick=False):
        # The January payment bounces in February: a debit on the day it is reversed.
        payment_reverse(payment=early, reason="cheque bounced", actor=finance)
        from receivables.models import Invoice

        credit_note_issue(
            invoice=Invoice.objects.get(number="INV-3"),
            number="CN-1",
            amount=Decimal("100.25"),
            issue_date=date(2026, 2, 10),
            reason="damaged",
            actor=finance,
        )
    with time_machine.travel(at(date(2026, 3, 5)), tick=False):
        payment_record(
            customer=customer,
            payment_date=date(2026, 3, 5),
            amount=Decimal("50.00"),
            currency="CNY",
            reference="B-3",
            actor=finance,
        )
    return customer


def test_statement_opening_lines_running_balance_and_closing(ledger):
    statement = statement_of_account(
        customer=ledger, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)
    )

    data = statement.as_dict()
    assert data["opening"] == "700.00"  # 1000.00 invoiced less 300.00 paid in January
    assert [
        (
            line["date"],
            line["kind"],
            line["reference"],
            line["debit"],
            line["credit"],
            line["balance"],
        )
        for line in data["lines"]
    ] == [
        ("2026-02-02", "invoice", "INV-2", "250.50", "0.00", "950.50"),
        ("2026-02-02", "invoice", "INV-3", "500.00", "0.00", "1450.50"),
        ("2026-02-02", "payment", "B-2", "0.00", "200.00", "1250.50"),
        ("2026-02-10", "payment_reversal", "B-1", "300.00", "0.00", "1550.50"),
        ("2026-02-10", "credit_note", "CN-1", "0.00", "100.25", "1450.25"),
    ]
    assert data["closing"] == "1450.25"
    assert statement.ageing["total"] == Decimal("1450.25")


def test_next_period_opens_with_the_previous_closing(ledger):
    february = statement_of_account(
        customer=ledger, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)
    )
    march = statement_of_account(
        customer=ledger, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)
    )

    assert march.opening == february.closing
    assert march.closing == Decimal("1400.25")


def test_a_period_without_lines_closes_at_its_opening(ledger):
    statement = statement_of_account(
        customer=ledger, date_from=date(2026, 4, 1), date_to=date(2026, 4, 30)
    )

    assert statement.lines == []
    assert statement.as_dict()["closing"] == statement.as_dict()["opening"] == "1400.25"


def test_the_statement_takes_a_bounded_number_of_queries(ledger, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        statement_of_account(customer=ledger, date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))


def test_command_json_matches_design(ledger):
    out = io.StringIO()
    call_command(
        "statement",
        "--customer",
        "ACME",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
        "--format",
        "json",
        stdout=out,
    )

    data = json.loads(out.getvalue())
    assert list(data) == ["customer_code", "currency", "from", "to", "opening", "closing", "lines"]
    assert data["customer_code"] == "ACME"
    assert data["currency"] == "CNY"
    assert (data["from"], data["to"]) == ("2026-02-01", "2026-02-28")
    assert list(data["lines"][0]) == ["date", "kind", "reference", "debit", "credit", "balance"]
    assert data["closing"] == "1450.25"


def test_command_pdf_to_a_file(ledger, tmp_path):
    target = tmp_path / "s.pdf"
    call_command(
        "statement",
        "--customer",
        "ACME",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
        "--format",
        "pdf",
        "--language",
        "en",
        "--output",
        str(target),
    )

    text = "".join(page.extract_text() for page in PdfReader(target).pages)
    assert "Statement of account" in text
    assert "INV-2" in text
    assert "1,450.25" in text
    assert "INV-VOID" not in text


def test_pdf_in_chinese_and_long_table_repeats_its_header(ledger):
    customer = CustomerFactory(code="LONG", language="zh-hans")
    with time_machine.travel(at(date(2026, 2, 28)), tick=False):
        InvoiceFactory.create_batch(
            120, customer=customer, issue_date=date(2026, 2, 1), amount=Decimal("10.00")
        )
    statement = statement_of_account(
        customer=customer, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)
    )

    pages = PdfReader(io.BytesIO(statement_pdf(statement=statement))).pages
    assert len(pages) >= 2
    for page in pages:
        assert "借方" in page.extract_text()  # the header row on every page
    assert "1,200.00" in pages[-1].extract_text()


def test_xlsx_has_typed_amounts(ledger):
    from openpyxl import load_workbook

    statement = statement_of_account(
        customer=ledger, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)
    )
    sheet = load_workbook(io.BytesIO(statement_xlsx(statement=statement, language="en"))).active
    rows = [row[:6] for row in sheet.iter_rows(values_only=True)]

    header = rows.index(("Date", "Kind", "Reference", "Debit", "Credit", "Balance"))
    assert rows[header + 1][5] == 700
    assert rows[header + 2][2] == "INV-2"
    assert rows[header + 2][3] == 250.5
    closing = rows[header + 2 + len(statement.lines)]
    assert closing[1] == "Closing balance"
    assert closing[5] == 1450.25


def test_unknown_customer_is_an_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no customer"):
        call_command(
            "statement", "--customer", "NOPE", "--from", "2026-02-01", "--to", "2026-02-28"
        )
