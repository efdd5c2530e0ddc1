"""Files as spreadsheet programs write them, and files that are not text at all, on every
import path: the service, the `import_receivables` command and the upload page."""

import codecs
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from receivables.imports import receivables_import
from receivables.models import Customer, Invoice, Payment
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db

INVOICE_COLUMNS = [
    "customer_code",
    "customer_name",
    "invoice_number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
]
PAYMENT_COLUMNS = ["customer_code", "payment_date", "amount", "currency", "reference"]
INVOICE_ROWS = [
    ["HZ-1", "杭州西湖贸易有限公司", "FP-001", "2026-01-05", "2026-02-04", "12800.00", "CNY"],
    ["HZ-1", "杭州西湖贸易有限公司", "FP-002", "2026-01-20", "2026-02-19", "3500.50", "CNY"],
    # GB18030 beyond GBK: a four-byte character (U+3400) and the euro sign.
    ["BJ-2", "北京㐀科技 €", "FP-003", "2026-02-01", "2026-03-03", "999.99", "CNY"],
]
PAYMENT_ROWS = [["HZ-1", "2026-02-10", "13000.00", "CNY", "工行回单 0001"]]


def excel_csv(rows: list[list[str]], *, encoding: str) -> bytes:
    """What Excel writes for "CSV (逗号分隔)" (cp936 on a Chinese Windows) or "CSV UTF-8"
    (encoding "utf-8-sig"): commas, CRLF after every row, quotes only where needed."""
    return "".join(",".join(row) + "\r\n" for row in rows).encode(encoding)


def excel_unicode_text(rows: list[list[str]]) -> bytes:
    """What Excel writes for "Unicode 文本 (*.txt)": UTF-16 LE with a byte-order mark,
    tab-separated, CRLF."""
    return codecs.BOM_UTF16_LE + "".join("\t".join(row) + "\r\n" for row in rows).encode(
        "utf-16-le"
    )


def _imported() -> tuple:
    return (
        sorted(Customer.objects.values_list("code", "name")),
        sorted(Invoice.objects.values_list("number", "amount")),
        sorted(Payment.objects.values_list("reference", "amount")),
    )


EXPECTED = (
    [("BJ-2", "北京㐀科技 €"), ("HZ-1", "杭州西湖贸易有限公司")],
    [
        ("FP-001", Decimal("12800.00")),
        ("FP-002", Decimal("3500.50")),
        ("FP-003", Decimal("999.99")),
    ],
    [("工行回单 0001", Decimal("13000.00"))],
)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda rows: excel_csv(rows, encoding="gb18030"), id="gb18030"),
        pytest.param(lambda rows: excel_csv(rows, encoding="utf-8-sig"), id="csv-utf8-bom"),
        pytest.param(lambda rows: excel_csv(rows, encoding="utf-8"), id="utf8"),
        pytest.param(excel_unicode_text, id="unicode-text-utf16-tabs"),
        pytest.param(
            lambda rows: (
                codecs.BOM_UTF16_BE
                + "".join(",".join(row) + "\n" for row in rows).encode("utf-16-be")
            ),
            id="utf16-be-commas",
        ),
    ],
)
def test_files_in_every_accepted_encoding_import_the_same(write):
    result = receivables_import(
        invoices_file=io.BytesIO(write([INVOICE_COLUMNS, *INVOICE_ROWS])),
        payments_file=io.BytesIO(write([PAYMENT_COLUMNS, *PAYMENT_ROWS])),
        dry_run=False,
    )

    assert result.ok, [str(error) for error in result.errors]
    assert _imported() == EXPECTED


def test_a_gbk_export_of_excel_with_quoted_commas_imports():
    # Excel on a Chinese Windows: cp936 (GBK), CRLF, a name with a comma quoted.
    data = (
        "customer_code,customer_name,invoice_number,issue_date,due_date,amount,currency\r\n"
        'SZ-9,"深圳南山电子,有限公司",FP-9,2026-03-01,2026-03-31,88.00,CNY\r\n'
    ).encode("cp936")

    result = receivables_import(invoices_file=io.BytesIO(data), dry_run=False)

    assert result.ok, [str(error) for error in result.errors]
    assert Customer.objects.get(code="SZ-9").name == "深圳南山电子,有限公司"


HINT = 'save it as "CSV UTF-8" and import it again.'
NUL_ERROR = (
    "the line holds a NUL byte: this is a binary file or UTF-16 text without a byte-order "
    f"mark, not CSV text; {HINT}"
)
GOOD_INVOICES = excel_csv([INVOICE_COLUMNS, *INVOICE_ROWS], encoding="utf-8")
GOOD_PAYMENTS = excel_csv([PAYMENT_COLUMNS, *PAYMENT_ROWS], encoding="utf-8")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(
            GOOD_INVOICES.replace(b"FP-002", b"FP-\x00002"), f"line 3: {NUL_ERROR}", id="nul"
        ),
        pytest.param(
            GOOD_INVOICES + b"\x00" * 64, f"line 5: {NUL_ERROR}", id="nul-padding-at-the-end"
        ),
        pytest.param(
            "\r\n".join(",".join(row) for row in [INVOICE_COLUMNS, *INVOICE_ROWS[2:]])
            .replace("北京㐀科技 €", "Bei")
            .encode("utf-16-le"),
            f"line 1: {NUL_ERROR}",
            id="utf16-without-bom",
        ),
        pytest.param(
            excel_csv(
                [INVOICE_COLUMNS, ["TW-1", "臺灣電子公司", "T-1", *INVOICE_ROWS[0][3:]]],
                encoding="big5",
            ),
            "line 2: the file looks like Big5 text, which is not read here (UTF-8, GB18030/GBK "
            f"or UTF-16 with a byte-order mark are); {HINT}",
            id="big5",
        ),
        pytest.param(
            excel_csv(
                [INVOICE_COLUMNS, ["DE-1", "Müller GmbH", "D-1", *INVOICE_ROWS[0][3:]]],
                encoding="latin-1",
            ),
            "line 2: the file looks like Windows-1252 (Western European) text, which is not read "
            f"here (UTF-8, GB18030/GBK or UTF-16 with a byte-order mark are); {HINT}",
            id="latin-1",
        ),
        pytest.param(
            codecs.BOM_UTF8 + GOOD_INVOICES + b"HZ-1,\xff\xfe\r\n",
            f"line 5: the file is not valid UTF-8 text from here on; {HINT}",
            id="utf8-bom-then-garbage",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + "customer_code".encode("utf-16-le") + b"\x00\xdc",
            f"line 1: the file is not valid UTF-16 text from here on; {HINT}",
            id="utf16-lone-surrogate",
        ),
        pytest.param(
            excel_unicode_text([INVOICE_COLUMNS])[:-1],
            "invoices file: the file is cut short: UTF-16 text has an even number of bytes; "
            + HINT,
            id="utf16-cut-short",
        ),
        pytest.param(
            codecs.BOM_UTF32_LE + "customer_code".encode("utf-32-le"),
            f"invoices file: the file is UTF-32 text, which is not read here; {HINT}",
            id="utf32",
        ),
        pytest.param(
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
            "invoices file: the file is a spreadsheet workbook or another binary file, not CSV "
            f"text; {HINT}",
            id="xlsx",
        ),
        pytest.param(
            bytes(range(256)) * 8,
            "line 2: the file is not text in an encoding read here (UTF-8, GB18030/GBK or "
            f"UTF-16 with a byte-order mark); {HINT}",
            id="binary",
        ),
        pytest.param(
            bytes(range(1, 256)) * 8,
            "line 2: the file is not text in an encoding read here (UTF-8, GB18030/GBK or "
            f"UTF-16 with a byte-order mark); {HINT}",
            id="binary-without-nul",
        ),
    ],
)
def test_a_file_that_is_not_readable_text_is_refused_and_nothing_is_written(data, error):
    result = receivables_import(
        invoices_file=io.BytesIO(data), payments_file=io.BytesIO(GOOD_PAYMENTS), dry_run=False
    )

    assert [str(found) for found in result.errors] == [error]
    assert _imported() == ([], [], [])


def test_a_nul_byte_in_the_payments_file_is_reported_for_that_file():
    payments = GOOD_PAYMENTS.replace(b"13000.00", b"13000.00\x00")

    result = receivables_import(
        invoices_file=io.BytesIO(GOOD_INVOICES), payments_file=io.BytesIO(payments), dry_run=False
    )

    assert [str(found) for found in result.errors] == [f"line 2: payments file: {NUL_ERROR}"]
    assert _imported() == ([], [], [])


def test_command_reports_a_nul_byte_as_a_line_error_and_exits_1(tmp_path, capsys):
    invoices = tmp_path / "invoices.csv"
    invoices.write_bytes(GOOD_INVOICES.replace(b"FP-002", b"FP-\x00002"))

    with pytest.raises(CommandError) as raised:
        call_command("import_receivables", "--invoices", invoices)

    assert raised.value.returncode == 1
    assert capsys.readouterr().err.splitlines() == [f"line 3: {NUL_ERROR}"]
    assert not Invoice.objects.exists()


def test_command_imports_excel_files_in_gbk_and_unicode_text(tmp_path, capsys):
    invoices = tmp_path / "invoices.csv"
    invoices.write_bytes(excel_csv([INVOICE_COLUMNS, *INVOICE_ROWS], encoding="gb18030"))
    payments = tmp_path / "payments.txt"
    payments.write_bytes(excel_unicode_text([PAYMENT_COLUMNS, *PAYMENT_ROWS]))

    call_command("import_receivables", "--invoices", invoices, "--payments", payments)

    assert capsys.readouterr().err == ""
    assert _imported() == EXPECTED


def test_import_page_answers_a_nul_byte_with_the_line_not_a_server_error(client):
    client.force_login(FinanceUserFactory())

    response = client.post(
        reverse("receivables:receivables_import"),
        {
            "invoices_file": SimpleUploadedFile(
                "invoices.csv", GOOD_INVOICES.replace(b"FP-002", b"FP-\x00002")
            )
        },
    )

    assert response.status_code == 400
    assert response.context["errors"] == [f"line 3: {NUL_ERROR}"]
    assert "line 3: the line holds a NUL byte" in response.content.decode()
    assert not Invoice.objects.exists()


def test_import_page_imports_a_gbk_file_from_excel(client):
    client.force_login(FinanceUserFactory())

    response = client.post(
        reverse("receivables:receivables_import"),
        {
            "invoices_file": SimpleUploadedFile(
                "发票.csv", excel_csv([INVOICE_COLUMNS, *INVOICE_ROWS], encoding="gb18030")
            ),
            "payments_file": SimpleUploadedFile(
                "回款.txt", excel_unicode_text([PAYMENT_COLUMNS, *PAYMENT_ROWS])
            ),
        },
    )

    assert response.status_code == 200
    assert "Imported: 3 invoices" in response.content.decode()
    assert _imported() == EXPECTED


def test_the_reasons_are_translated():
    with translation.override("zh-hans"):
        result = receivables_import(
            invoices_file=io.BytesIO(GOOD_INVOICES.replace(b"FP-002", b"FP-\x00002")),
            dry_run=False,
        )

    (error,) = [str(found) for found in result.errors]
    assert error.startswith("line 3: 该行含有 NUL 字节")
    assert error.endswith("请另存为“CSV UTF-8”后重新导入。")


def test_import_page_lets_the_browser_pick_excel_unicode_text_files(client):
    client.force_login(FinanceUserFactory())

    page = client.get(reverse("receivables:receivables_import")).content.decode()

    assert page.count('accept=".csv,.txt,text/csv,text/plain"') == 2
    assert "plain CSV in GBK/GB18030, or Unicode text" in page


def test_command_refuses_a_file_it_cannot_read_without_a_traceback():
    # A regular file whose first read fails (EIO), even for root.
    with pytest.raises(CommandError, match="cannot read the file: Input/output error"):
        call_command("import_receivables", "--invoices", "/proc/self/mem")
    assert not Invoice.objects.exists()
