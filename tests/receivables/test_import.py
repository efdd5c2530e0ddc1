import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from receivables import imports
from receivables.imports import UNASSIGNED_USERNAME, receivables_import
from receivables.models import Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.ageing import ageing_report
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db

INVOICE_HEADER = "customer_code,customer_name,invoice_number,issue_date,due_date,amount,currency"
PAYMENT_HEADER = "customer_code,payment_date,amount,currency,reference"

INVOICES = f"""{INVOICE_HEADER},sales_rep,contract_number
C-1,Alpha Ltd,INV-1,2026-01-01,2026-01-31,1000.00,CNY,rep-a,HT-1
C-1,Alpha Ltd,INV-2,2026-02-01,2026-03-03,500.50,CNY,rep-a,
C-2,Beta Co,INV-3,2026-03-01,2026-03-31,200,CNY,,
"""
PAYMENTS = f"""{PAYMENT_HEADER},invoice_number
C-1,2026-02-10,1200.00,CNY,BANK-1,
C-2,2026-03-15,50.00,CNY,BANK-2,INV-3
C-1,2026-03-20,400.00,CNY,BANK-3,
"""


def _file(text: str, *, bom: bool = False) -> io.BytesIO:
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _import(invoices: str, payments: str | None = None, **options):
    return receivables_import(
        invoices_file=_file(invoices),
        payments_file=None if payments is None else _file(payments),
        **({"dry_run": False} | options),
    )


def _counts():
    return (
        Customer.objects.count(),
        Invoice.objects.count(),
        Payment.objects.count(),
        PaymentAllocation.objects.count(),
        get_user_model().objects.count(),
    )


def _errors(result):
    return [str(error) for error in result.errors]


@pytest.fixture
def rep():
    return SalesRepFactory(username="rep-a")


def test_import_creates_customers_invoices_and_payments_and_allocates_oldest_first(rep):
    result = _import(INVOICES, PAYMENTS)

    assert result.ok, _errors(result)
    assert (result.invoices_created, result.payments_created) == (3, 3)
    assert result.customers_created == ["C-1", "C-2"]
    alpha = Customer.objects.get(code="C-1")
    beta = Customer.objects.get(code="C-2")
    assert alpha.sales_rep == rep
    assert alpha.name == "Alpha Ltd"
    assert alpha.currency == "CNY"
    assert not alpha.is_new  # it has paid
    # No sales rep given: owned by a placeholder that cannot log in.
    assert beta.sales_rep.username == UNASSIGNED_USERNAME
    assert not beta.sales_rep.is_active
    assert not beta.sales_rep.has_usable_password()
    assert result.unassigned_customers == ["C-2"]
    assert Invoice.objects.get(number="INV-1").contract_number == "HT-1"
    # 1200.00 pays INV-1 and 200.00 of INV-2; 400.00 pays the remaining 300.50 of
    # INV-2 and leaves 99.50 as credit; 50.00 goes to INV-3 as named.
    assert Invoice.objects.get(number="INV-1").outstanding == Decimal("0.00")
    assert Invoice.objects.get(number="INV-2").outstanding == Decimal("0.00")
    assert Invoice.objects.get(number="INV-3").outstanding == Decimal("150.00")
    assert result.amount_allocated == Decimal("1550.50")
    assert result.amount_left_as_credit == Decimal("99.50")
    assert "Imported" in " ".join(result.summary())


def test_reimporting_the_same_files_creates_nothing_and_says_so(rep):
    _import(INVOICES, PAYMENTS)
    before = _counts()

    result = _import(INVOICES, PAYMENTS)

    assert result.ok
    assert result.nothing_new
    assert (result.invoices_skipped, result.payments_skipped) == (3, 3)
    assert _counts() == before
    assert "Nothing new" in result.summary()[0]


def test_a_file_with_some_new_rows_imports_only_those(rep):
    _import(INVOICES)
    more = INVOICES + "C-2,Beta Co,INV-4,2026-04-01,2026-04-30,10.00,CNY,,\n"

    result = _import(more)

    assert (result.invoices_created, result.invoices_skipped) == (1, 3)
    assert Invoice.objects.count() == 4


def test_dry_run_checks_everything_and_writes_nothing(rep):
    before = _counts()

    result = _import(INVOICES, PAYMENTS, dry_run=True)

    assert result.ok
    assert (result.invoices_created, result.payments_created) == (3, 3)
    assert "Dry run" in result.summary()[0]
    assert _counts() == before


def test_existing_customers_are_used_regardless_of_code_case(rep):
    existing = CustomerFactory(code="C-1", name="Alpha (existing)", sales_rep=rep)

    result = _import(INVOICES.replace("C-1,Alpha Ltd", "c-1,"))

    assert result.ok, _errors(result)
    assert Invoice.objects.get(number="INV-1").customer == existing
    assert result.customers_created == ["C-2"]


def test_bom_crlf_and_blank_lines_are_tolerated(rep):
    lines = INVOICES.splitlines()
    text = "\r\n".join([lines[0], "", lines[1], "  ", ",,,,,,,,", lines[2], lines[3], "", ""])

    result = receivables_import(invoices_file=_file(text, bom=True), dry_run=False)

    assert result.ok, _errors(result)
    assert result.invoices_created == 3


def test_columns_may_come_in_any_order_and_upper_case(rep):
    text = (
        "INVOICE_NUMBER,Currency,amount,due_date,issue_date,customer_name,customer_code\n"
        "INV-9,CNY,10.00,2026-01-31,2026-01-01,Gamma,C-9\n"
    )

    result = _import(text)

    assert result.ok, _errors(result)
    assert Invoice.objects.get(number="INV-9").customer.code == "C-9"


BAD_INVOICE_ROWS = [
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,-5.00,CNY", "must be positive"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,0,CNY", "must be positive"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,0.00,CNY", "must be positive"),
    ('C-1,Alpha,X-1,2026-01-01,2026-01-31,"1,000.00",CNY', "thousands separator"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,1000.005,CNY", "two decimals"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,1e3,CNY", "plain decimal"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,¥100,CNY", "plain decimal"),
    ("C-1,Alpha,X-1,2026-01-01,2025-12-31,10.00,CNY", "before issue_date"),
    ("C-1,Alpha,X-1,2026/01/01,2026-01-31,10.00,CNY", "YYYY-MM-DD"),
    ("C-1,Alpha,X-1,2026-02-30,2026-03-31,10.00,CNY", "not a real date"),
    ("C-1,Alpha,X-1,20260101,2026-01-31,10.00,CNY", "YYYY-MM-DD"),
    ("C-1,Alpha,X-1,,2026-01-31,10.00,CNY", "YYYY-MM-DD"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,10.00,XYZ", "ISO 4217"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,10.00,RMB", "ISO 4217"),
    ("C-1,Alpha,,2026-01-01,2026-01-31,10.00,CNY", "invoice_number is empty"),
    (",Alpha,X-1,2026-01-01,2026-01-31,10.00,CNY", "customer_code is empty"),
    ("C-NEW,,X-1,2026-01-01,2026-01-31,10.00,CNY", "give its customer_name"),
    ("C-1,Alpha,X-1,2026-01-01,2026-01-31,10.00", "expected 7 fields"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_INVOICE_ROWS)
def test_a_bad_invoice_row_is_reported_with_its_line_and_nothing_is_written(row, reason):
    CustomerFactory(code="C-1")
    text = (
        f"{INVOICE_HEADER}\n"
        "C-1,Alpha,OK-1,2026-01-01,2026-01-31,10.00,CNY\n"
        f"{row}\n"
        "C-1,Alpha,OK-2,2026-01-01,2026-01-31,10.00,CNY\n"
    )
    before = _counts()

    result = _import(text)

    assert not result.ok
    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith("line 3: ")
    assert reason in str(result.errors[0])
    assert _counts() == before


def test_every_bad_row_is_reported_not_only_the_first():
    text = (
        f"{INVOICE_HEADER}\n"
        "C-1,Alpha,A-1,2026-01-01,2026-01-31,-1,CNY\n"
        "C-1,Alpha,A-2,2026-01-01,2026-01-31,10.00,CNY\n"
        "C-1,Alpha,A-3,2026-01-01,2026-01-31,10.00,USD\n"
        "C-1,Alpha,A-2,2026-01-01,2026-01-31,10.00,CNY\n"
    )

    result = _import(text)

    assert _errors(result) == [
        "line 2: amount: The amount must be positive (got -1).",
        "line 4: new customer C-1 has currency 'CNY' on line 3 but 'USD' here.",
        "line 5: invoice number A-2 is already on line 3.",
    ]
    assert not Invoice.objects.exists()
    assert not Customer.objects.exists()


def test_an_invoice_number_already_in_the_database_with_other_data_is_refused():
    InvoiceFactory(number="INV-1", customer=CustomerFactory(code="C-9"))

    result = _import(INVOICES)

    assert _errors(result)[0].startswith("line 2: invoice number INV-1 already exists")
    assert "customer C-9" in _errors(result)[0]
    assert Invoice.objects.count() == 1


def test_an_unknown_sales_rep_is_refused():
    result = _import(INVOICES.replace("rep-a", "rep-zzz"))

    assert "line 2: sales_rep rep-zzz is not an active sales rep." in _errors(result)


def test_an_existing_customer_of_another_rep_is_refused(rep):
    CustomerFactory(code="C-1", sales_rep=SalesRepFactory(username="rep-b"))

    result = _import(INVOICES)

    assert _errors(result)[0] == "line 2: customer C-1 belongs to sales rep rep-b, not rep-a."


def test_an_invoice_in_another_currency_than_the_existing_customers_is_refused(rep):
    CustomerFactory(code="C-2", currency="USD")

    result = _import(INVOICES)

    assert _errors(result) == ["line 4: Customer C-2 is invoiced in USD, not CNY."]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("customer_code,customer_name,invoice_number,issue_date,amount,currency", "due_date"),
        (INVOICE_HEADER + ",notes", "unknown column(s) notes"),
        (INVOICE_HEADER + ",amount", "repeated column(s) amount"),
        (INVOICE_HEADER.replace(",", ";"), "missing column(s)"),
    ],
)
def test_a_wrong_header_is_refused_on_line_1(header, reason):
    text = f"{header}\nC-1,Alpha,X-1,2026-01-01,2026-01-31,10.00,CNY\n"

    result = _import(text)

    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith("line 1: wrong header: ")
    assert reason in str(result.errors[0])
    assert not Invoice.objects.exists()


def test_an_empty_file_is_refused():
    result = _import("")

    assert _errors(result)[0].startswith("line 1: the file is empty")


def test_a_header_only_file_imports_nothing():
    result = _import(INVOICE_HEADER + "\n")

    assert result.ok
    assert result.nothing_new


def test_a_file_in_an_encoding_not_read_is_refused_with_the_line():
    data = f"{INVOICE_HEADER}\nC-1,Café,X-1,2026-01-01,2026-01-31,10.00,CNY\n".encode("latin-1")

    result = receivables_import(invoices_file=io.BytesIO(data), dry_run=False)

    assert _errors(result) == [
        "line 2: the file looks like Windows-1252 (Western European) text, which is not read "
        "here (UTF-8, GB18030/GBK or UTF-16 with a byte-order mark are); save it as "
        '"CSV UTF-8" and import it again.'
    ]


def test_malformed_quoting_is_refused():
    text = f'{INVOICE_HEADER}\nC-1,"Alpha"x,X-1,2026-01-01,2026-01-31,10.00,CNY\n'

    result = _import(text)

    assert "malformed CSV" in _errors(result)[0]
    assert _errors(result)[0].startswith("line 2: ")


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 1024)
    big = INVOICE_HEADER + "\n" + "C-1,Alpha,X-1,2026-01-01,2026-01-31,10.00,CNY\n" * 100
    source = _file(big)

    result = receivables_import(invoices_file=source, dry_run=False)

    assert _errors(result) == [
        "invoices file: the file is larger than the 1.0\xa0KB limit; split it into smaller files."
    ]
    assert source.tell() == 1025
    assert not Invoice.objects.exists()


def test_a_fifty_megabyte_file_is_refused():
    row = b"C-1,Alpha,X-%d,2026-01-01,2026-01-31,10.00,CNY\n"
    data = INVOICE_HEADER.encode() + b"\n" + b"".join(row % n for n in range(1_200_000))
    assert len(data) > 50 * 1024 * 1024

    result = receivables_import(invoices_file=io.BytesIO(data), dry_run=False)

    assert "larger than the 10.0\xa0MB limit" in _errors(result)[0]


BAD_PAYMENT_ROWS = [
    ("C-1,2026-02-10,100.00,USD,B-9,", "invoiced in CNY, not USD"),
    ("C-1,2026-02-10,0,CNY,B-9,", "must be positive"),
    ("C-1,2026-02-10,-3.00,CNY,B-9,", "must be positive"),
    ("C-1,10/02/2026,3.00,CNY,B-9,", "YYYY-MM-DD"),
    ("C-404,2026-02-10,3.00,CNY,B-9,", "customer C-404 does not exist"),
    ("C-1,2026-02-10,300.51,CNY,B-9,INV-2", "300.51 is more than the open amount 300.50"),
    ("C-1,2026-02-10,10.00,CNY,B-9,INV-404", "invoice INV-404 does not exist"),
    ("C-1,2026-02-10,10.00,CNY,B-9,INV-3", "belongs to customer C-2"),
    ("C-1,2026-02-10,1200.00,CNY,BANK-1,", "already on line 2"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_PAYMENT_ROWS)
def test_a_bad_payment_row_is_reported_with_its_line_and_nothing_is_written(rep, row, reason):
    payments = f"{PAYMENT_HEADER},invoice_number\nC-1,2026-02-10,1200.00,CNY,BANK-1,\n{row}\n"
    before = _counts()

    result = _import(INVOICES, payments)

    assert len(result.errors) == 1, _errors(result)
    assert str(result.errors[0]).startswith("line 3: payments file: ")
    assert reason in str(result.errors[0])
    assert _counts() == before


def test_a_payment_naming_an_invoice_that_failed_points_at_that_line(rep):
    invoices = INVOICES.replace("INV-3,2026-03-01,2026-03-31,200", "INV-3,2026-03-01,2026-03-31,x")

    result = _import(invoices, PAYMENTS)

    assert _errors(result) == [
        "line 4: amount 'x' is not a plain decimal such as 1000.00.",
        "line 3: payments file: customer C-2 could not be created (invoices line 4).",
    ]


def test_a_payment_naming_an_invoice_that_failed_for_a_known_customer_points_at_it(rep):
    invoices = INVOICES.replace("INV-2,2026-02-01,2026-03-03", "INV-2,2026-02-01,2026-01-03")
    payments = f"{PAYMENT_HEADER},invoice_number\nC-1,2026-02-10,10.00,CNY,B-1,INV-2\n"

    result = _import(invoices, payments)

    assert _errors(result) == [
        "line 3: due_date 2026-01-03 is before issue_date 2026-02-01.",
        "line 2: payments file: invoice INV-2 could not be imported (invoices line 3).",
    ]


def test_command_imports_and_reports_on_stdout(rep, tmp_path, capsys):
    invoices = tmp_path / "invoices.csv"
    payments = tmp_path / "payments.csv"
    invoices.write_text(INVOICES, encoding="utf-8")
    payments.write_text(PAYMENTS, encoding="utf-8")

    call_command("import_receivables", "--invoices", invoices, "--payments", payments)
    first = capsys.readouterr()
    call_command("import_receivables", "--invoices", invoices, "--payments", payments)
    second = capsys.readouterr()

    assert first.err == ""
    assert "Imported: 3 invoices (2 new customers), 3 payments" in first.out
    assert second.out.startswith("Nothing new: 3 invoices and 3 payments were already imported")
    assert Invoice.objects.count() == 3


def test_command_reports_each_bad_line_on_stderr_and_exits_1(tmp_path, capsys):
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(
        f"{INVOICE_HEADER}\n"
        "C-1,Alpha,A-1,2026-01-01,2026-01-31,10.00,CNY\n"
        '\nC-1,Alpha,A-2,2026-01-01,2026-01-31,"1,000.00",CNY\n'
        "C-1,Alpha,A-3,2026-01-31,2026-01-01,10.00,CNY\n",
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as raised:
        call_command("import_receivables", "--invoices", invoices)

    assert raised.value.returncode == 1
    stderr = capsys.readouterr().err.splitlines()
    assert stderr[0].startswith("line 4: amount '1,000.00' has a comma")
    assert stderr[1] == "line 5: due_date 2026-01-01 is before issue_date 2026-01-31."
    assert "nothing was imported" in str(raised.value)
    assert not Invoice.objects.exists()


def test_command_dry_run_writes_nothing(rep, tmp_path, capsys):
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(INVOICES, encoding="utf-8")

    call_command("import_receivables", "--invoices", invoices, "--dry-run")

    assert "Dry run" in capsys.readouterr().out
    assert not Invoice.objects.exists()


def test_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_receivables", "--invoices", tmp_path / "missing.csv")


def test_command_shows_progress_on_long_imports(tmp_path, capsys):
    rows = "".join(
        f"C-1,Alpha,N-{n},2026-01-01,2026-01-31,1.00,CNY\n" for n in range(imports.PROGRESS_EVERY)
    )
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(f"{INVOICE_HEADER}\n{rows}", encoding="utf-8")

    call_command("import_receivables", "--invoices", invoices)

    out = capsys.readouterr().out
    assert f"invoices: {imports.PROGRESS_EVERY}/{imports.PROGRESS_EVERY}" in out
    assert Invoice.objects.count() == imports.PROGRESS_EVERY


def test_imported_data_ages_as_expected(rep):
    _import(INVOICES, PAYMENTS)

    report = ageing_report(as_of=date(2026, 4, 15), currency="CNY")

    # C-1 has 99.50 unapplied credit and nothing open; C-2 owes 150.00, 15 days late.
    assert [(row.code, str(row.amounts["1-30"])) for row in report.customers] == [("C-2", "150.00")]
