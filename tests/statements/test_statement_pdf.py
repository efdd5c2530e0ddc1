"""The statement's PDF for a long period: the header row on every page, the totals right,
and the monospaced grid's columns aligned whatever the language."""

import html
import io
import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from unicodedata import east_asian_width

import pytest
from pypdf import PdfReader

from statements.documents import statement_html, statement_pdf
from statements.selectors import statement_of_account
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db
FEBRUARY = {"date_from": date(2026, 2, 1), "date_to": date(2026, 2, 28)}


@pytest.fixture
def long_statement():
    """200 lines in February: 150 invoices of 100.00 and 50 payments of 40.00, one of them
    with a Chinese bank reference typed with a tab and a line break, and one with a reference
    too long for its column."""
    customer = CustomerFactory(code="LONG", currency="CNY")
    InvoiceFactory.create_batch(
        150, customer=customer, issue_date=date(2026, 2, 3), amount=Decimal("100.00")
    )
    PaymentFactory.create_batch(
        48, customer=customer, payment_date=date(2026, 2, 20), amount=Decimal("40.00")
    )
    PaymentFactory(
        customer=customer,
        payment_date=date(2026, 2, 21),
        amount=Decimal("40.00"),
        reference="工商银行\t网银转账\n",
    )
    PaymentFactory(
        customer=customer,
        payment_date=date(2026, 2, 22),
        amount=Decimal("40.00"),
        reference="TRANSFER-" + "X" * 60 + "-END",
    )
    return statement_of_account(customer=customer, **FEBRUARY)


@pytest.mark.parametrize(
    ("language", "debit_header"), [("en", "Debit"), ("zh-hans", "借方")], ids=["en", "zh"]
)
def test_every_page_repeats_the_header_row_and_the_totals_add_up(
    long_statement, language, debit_header
):
    assert len(long_statement.lines) == 200
    pages = PdfReader(io.BytesIO(statement_pdf(statement=long_statement, language=language))).pages
    texts = [page.extract_text() for page in pages]

    assert len(pages) >= 4
    for text in texts:
        assert debit_header in text
    everything = "\n".join(texts)
    assert everything.count("BANK-") == 48  # every line printed once
    assert "工商银行 网银转账" in everything
    assert "-END" in everything  # the long reference goes on below, whole
    closing = next(line for line in texts[-1].splitlines() if line.startswith("2026-02-28"))
    assert re.findall(r"[\d,]+\.\d\d", closing) == ["15,000.00", "2,000.00", "13,000.00"]


def _grid_lines(document: str) -> list[str]:
    cells = re.findall(r'<div class="grid[^"]*">(.*?)</div>', document, flags=re.S)
    return [html.unescape(line) for cell in cells for line in cell.split("\n")]


def _width(line: str) -> Fraction:
    """How wide the grid's font draws `line`, in columns: 1 em is 5/3 of a column."""
    return sum(
        (Fraction(5, 3) if east_asian_width(character) in "WF" else Fraction(1))
        for character in line
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_columns_line_up_in_both_languages(long_statement, language):
    lines = _grid_lines(statement_html(statement=long_statement, language=language))
    rows = [line for line in lines if line.rstrip().endswith(".00")]
    header = lines[0]

    assert len(rows) == 202  # the opening, 200 lines and the closing
    assert {_width(line) for line in rows} == {_width(header)}
    assert max(_width(line) for line in lines) <= 104
