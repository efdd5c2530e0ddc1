"""A statement of account as a document: HTML for WeasyPrint (through `dunning.pdf`), XLSX
(through `core.spreadsheets`). Cells are formatted here, once, so the template only loops."""

import io
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from core.spreadsheets import spreadsheet_xlsx_cell
from dunning.pdf import html_to_pdf
from receivables.selectors.balances import BUCKETS
from statements.selectors import StatementOfAccount

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def kind_labels() -> dict[str, str]:
    """The line kinds in the active language."""
    return {
        "invoice": _("Invoice"),
        "payment": _("Payment"),
        "credit_note": _("Credit note"),
        "payment_reversal": _("Payment reversed"),
    }


def _language(statement: StatementOfAccount, language: str | None) -> str:
    return language or statement.customer.language or settings.LANGUAGE_CODE


def statement_html(*, statement: StatementOfAccount, language: str | None = None) -> str:
    """The statement as one HTML document (one table whose header repeats on every page)."""
    language = _language(statement, language)
    with translation.override(language):
        kinds = kind_labels()
        rows = [
            (
                line.date.isoformat(),
                kinds[line.kind],
                line.reference,
                _money(line.debit),
                _money(line.credit),
                _money(line.balance),
            )
            for line in statement.lines
        ]
        return render_to_string(
            "statements/statement_pdf.html",
            {
                "language": language,
                "creditor_name": settings.CREDITOR_NAME,
                "creditor_address": settings.CREDITOR_ADDRESS,
                "customer": statement.customer,
                "currency": statement.currency,
                "date_from": statement.date_from.isoformat(),
                "date_to": statement.date_to.isoformat(),
                "opening": _money(statement.opening),
                "closing": _money(statement.closing),
                "total_debit": _money(statement.total_debit),
                "total_credit": _money(statement.total_credit),
                "rows": rows,
                "ageing": [(bucket, _money(statement.ageing[bucket])) for bucket in BUCKETS],
                "ageing_total": _money(statement.ageing["total"]),
                "unapplied": _money(statement.unapplied) if statement.unapplied else "",
            },
        )


def statement_pdf(*, statement: StatementOfAccount, language: str | None = None) -> bytes:
    """The statement as a PDF."""
    return html_to_pdf(statement_html(statement=statement, language=language))


def statement_xlsx(*, statement: StatementOfAccount, language: str | None = None) -> bytes:
    """The statement as a one-sheet XLSX: typed dates and amounts, text that never runs."""
    with translation.override(_language(statement, language)):
        kinds = kind_labels()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_("Statement"))

        def row(*values: object) -> None:
            sheet.append(
                [
                    spreadsheet_xlsx_cell(
                        sheet=sheet,
                        value=value,
                        number_format=MONEY_FORMAT if isinstance(value, Decimal) else None,
                    )
                    for value in values
                ]
            )

        row(_("Statement of account"), statement.customer.code, statement.customer.name)
        row(_("Period"), statement.date_from, statement.date_to)
        row(_("Currency"), statement.currency)
        row()
        row(_("Date"), _("Kind"), _("Reference"), _("Debit"), _("Credit"), _("Balance"))
        row(statement.date_from, _("Opening balance"), "", None, None, statement.opening)
        for line in statement.lines:
            row(line.date, kinds[line.kind], line.reference, line.debit, line.credit, line.balance)
        row(
            statement.date_to,
            _("Closing balance"),
            "",
            statement.total_debit,
            statement.total_credit,
            statement.closing,
        )
        row()
        row(_("Ageing of the closing balance"), *BUCKETS, _("Total"))
        row("", *(statement.ageing[bucket] for bucket in BUCKETS), statement.ageing["total"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
