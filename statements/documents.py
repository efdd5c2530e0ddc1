"""A statement of account as a document: HTML for WeasyPrint (through `dunning.pdf`), XLSX
(through `core.spreadsheets`). Cells are formatted here, once, so the template only loops.

The PDF's lines are a grid of monospaced text, one text line per statement line, cut into
page-sized blocks that each start with the header row. WeasyPrint's cost is per line box:
a `<table>` costs six (one per cell) and ~5-13 ms a row, so 2,000 lines took a minute; one
line box a row renders them in about 2 s (README, "Performance"). Cells with wide (CJK)
characters are topped up with ideographic spaces so the columns stay aligned (`_measure`).
"""

import io
import itertools
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
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


# The grid: columns of the monospaced font across A4 less the page margins (180 mm at 8 pt,
# 1.69 mm a column, 106 columns) less the block's padding. Rows at 4.2 mm: the page's 267 mm
# hold the header row, 60 rows and the closing row with room to spare; the first page leaves
# ~60 mm for the title and the addresses. A block that does not fit moves to the next page
# whole (the template's `break-inside: avoid`): never a row cut or a header lost.
LINE_COLUMNS = 104
MIN_GAP = 2
IDEOGRAPHIC_SPACE = "\u3000"
FIVE_SPACES, THREE_IDEOGRAPHIC_SPACES = " " * 5, IDEOGRAPHIC_SPACE * 3
FIRST_PAGE_ROWS = 50  # below the title and the two addresses
PAGE_ROWS = 60


def _is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in "WF"


def _measure(text: str) -> tuple[int, int]:
    """(columns, ideographic spaces to add): the grid's font draws a wide character 1 em
    and every other 0.6 em (one column), so three wide characters are exactly five
    columns; a cell with wide characters is topped up with ideographic spaces (1 em) to a
    multiple of three and then takes a whole number of columns."""
    if text.isascii():
        return len(text), 0
    wide = sum(1 for character in text if _is_wide(character))
    top_up = -wide % 3
    return len(text) - wide + (wide + top_up) // 3 * 5, top_up


def _columns(text: str) -> int:
    return _measure(text)[0]


def _left(text: str, width: int) -> str:
    columns, top_up = _measure(text)
    return escape(text) + IDEOGRAPHIC_SPACE * top_up + " " * (width - columns)


def _right(text: str, width: int) -> str:
    columns, top_up = _measure(text)
    return " " * (width - columns) + IDEOGRAPHIC_SPACE * top_up + escape(text)


def _split(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width` columns (a long reference goes on below)."""
    if _columns(text) <= width:
        return [text]
    pieces, piece = [], ""
    for character in text:
        if piece and _columns(piece + character) > width:
            pieces.append(piece)
            piece = ""
        piece += character
    return [*pieces, piece]


def _fewer_glyphs(line: str) -> str:
    """`line` with every five spaces as three ideographic spaces: the same width (five
    columns), 40% fewer glyphs for WeasyPrint to draw one by one (~15% faster)."""
    return line.replace(FIVE_SPACES, THREE_IDEOGRAPHIC_SPACES)


def _one_line(text: str) -> str:
    """`text` with tabs, line breaks and other control characters as spaces (a reference
    typed with a line break must not break the grid's row)."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else " " for character in text)


def _grid(statement: StatementOfAccount, kinds: dict[str, str]) -> dict[str, object]:
    """The header row, the page blocks of lines and the closing row, as grid text."""
    cells = [
        (
            line.date.isoformat(),
            kinds[line.kind],
            _one_line(line.reference),
            _money(line.debit),
            _money(line.credit),
            _money(line.balance),
        )
        for line in statement.lines
    ]
    headers = (_("Date"), _("Kind"), _("Reference"), _("Debit"), _("Credit"), _("Balance"))
    opening = (_("Opening balance"), _money(statement.opening))
    closing = (
        _("Closing balance"),
        _money(statement.total_debit),
        _money(statement.total_credit),
        _money(statement.closing),
    )
    date_width = max(10, _columns(headers[0]))
    kind_width = max(_columns(label) for label in [headers[1], *kinds.values()])
    amount_widths = [
        max(_columns(value) for value in values)
        for values in zip(
            headers[3:],
            *(cell[3:] for cell in cells),
            ("", "", opening[1]),
            closing[1:],
            strict=True,
        )
    ]
    content = date_width + kind_width + sum(amount_widths)
    longest_reference = max([_columns(headers[2]), *(_columns(cell[2]) for cell in cells)])
    reference_width = max(8, min(longest_reference, LINE_COLUMNS - content - MIN_GAP * 5))
    # Narrow gaps: WeasyPrint draws every glyph, spaces too, one by one (~40% of its time).
    gap = " " * MIN_GAP
    label_width = kind_width + len(gap) + reference_width
    indent = " " * (date_width + kind_width + len(gap) * 2)

    def amounts(debit: str, credit: str, balance: str) -> str:
        return gap.join(
            _right(value, width)
            for value, width in zip((debit, credit, balance), amount_widths, strict=True)
        )

    def row(date: str, kind: str, reference: str, debit: str, credit: str, balance: str):
        first, *rest = _split(reference, reference_width)
        lines = [
            _left(date, date_width)
            + gap
            + _left(kind, kind_width)
            + gap
            + _left(first, reference_width)
            + gap
            + amounts(debit, credit, balance)
        ]
        lines.extend(indent + escape(piece) for piece in rest)
        return lines

    def labelled(date: str, label: str, debit: str, credit: str, balance: str) -> str:
        label = _split(label, label_width)[0]
        return (
            _left(date, date_width)
            + gap
            + _left(label, label_width)
            + gap
            + amounts(debit, credit, balance)
        )

    blocks, block, room = [], [], FIRST_PAGE_ROWS
    for lines in itertools.chain(
        [[labelled(statement.date_from.isoformat(), opening[0], "", "", opening[1])]],
        (row(*cell) for cell in cells),
    ):
        if block and len(block) + len(lines) > room:
            blocks.append(block)
            block, room = [], PAGE_ROWS
        block.extend(lines)
    blocks.append(block)
    return {
        # Every piece was escaped above.
        "grid_header": mark_safe(_fewer_glyphs(row(*headers)[0])),
        "grid_blocks": [SafeString(_fewer_glyphs("\n".join(block))) for block in blocks],
        "grid_closing": mark_safe(_fewer_glyphs(labelled(statement.date_to.isoformat(), *closing))),
    }


def statement_html(*, statement: StatementOfAccount, language: str | None = None) -> str:
    """The statement as one HTML document (a grid whose header row repeats on every page)."""
    language = _language(statement, language)
    with translation.override(language):
        kinds = kind_labels()
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
                **_grid(statement, kinds),
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
