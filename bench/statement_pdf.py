"""The statement of account's PDF against bare WeasyPrint on the same HTML.

    python -m bench.statement_pdf [--lines 2000] [--repeat 5] [--database-url URL]

Builds one customer with `--lines` lines in a month (invoices, payments, credit
notes, a reversal; set-based inserts) in a throw-away SQLite database unless a
URL is given, warms WeasyPrint's fonts up once, then times, best of `--repeat` (default 3):

- full: `statement_of_account` (the queries) + `statement_pdf` (template and PDF);
- bare: `weasyprint.HTML(string=html).write_pdf()` on the HTML the full path
  rendered, the least any PDF of this statement can cost.

Goals (issue 13): full <= 2 s and full <= 1.3 x bare. Exit status 1 when missed.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

GOAL_SECONDS = 2.0
GOAL_RATIO = 1.3


def _setup(database_url: str | None) -> None:
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-statement-"))
        database_url = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _book(lines: int):
    """A customer with `lines` lines in March 2026 and history before it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from receivables.models import CreditNote, Customer, Invoice, Payment

    user, _ = get_user_model().objects.get_or_create(username="bench-statement-rep")
    customer, _ = Customer.objects.get_or_create(
        code="BENCH-STMT",
        defaults={
            "name": "基准测试客户 Bench Statement Co.",
            "sales_rep": user,
            "language": "zh-hans",
        },
    )
    if Invoice.objects.filter(customer=customer).exists():
        return customer
    start = date(2026, 3, 1)
    invoices = [
        Invoice(
            number=f"BS-{number:05d}",
            customer=customer,
            issue_date=start + timedelta(days=number % 31) if number >= 50 else date(2026, 2, 1),
            due_date=start + timedelta(days=30 + number % 31),
            amount=Decimal("1000.00") + number,
            outstanding=Decimal("1000.00") + number,
            currency="CNY",
        )
        for number in range(lines // 2 + 50)
    ]
    Invoice.objects.bulk_create(invoices, batch_size=1000)
    saved = list(Invoice.objects.filter(customer=customer).order_by("pk")[: lines // 10])
    now = datetime(2026, 3, 20, 10, 0, tzinfo=timezone.get_current_timezone())
    payments = [
        Payment(
            customer=customer,
            payment_date=start + timedelta(days=number % 31),
            amount=Decimal("500.00") + number,
            currency="CNY",
            reference=f"BANK-{number:05d}",
            status=Payment.Status.REVERSED if number == 7 else Payment.Status.POSTED,
            reversed_at=now if number == 7 else None,
        )
        for number in range(lines - lines // 2 - len(saved))
    ]
    Payment.objects.bulk_create(payments, batch_size=1000)
    CreditNote.objects.bulk_create(
        [
            CreditNote(
                number=f"BSCN-{index:05d}",
                invoice=invoice,
                issue_date=start + timedelta(days=index % 31),
                amount=Decimal("10.00"),
                reason="bench",
            )
            for index, invoice in enumerate(saved)
        ],
        batch_size=1000,
    )
    return customer


def _best(function, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    options = parser.parse_args(argv)
    _setup(options.database_url)

    import weasyprint

    from dunning.pdf import fast_subsetter_available
    from statements.documents import statement_html, statement_pdf
    from statements.selectors import statement_of_account

    customer = _book(options.lines)
    period = {"customer": customer, "date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}
    statement = statement_of_account(**period)
    html = statement_html(statement=statement)
    weasyprint.HTML(string=html).write_pdf()  # fonts and Pango set up once per process

    def full() -> bytes:
        return statement_pdf(statement=statement_of_account(**period))

    def bare() -> bytes:
        return weasyprint.HTML(string=html).write_pdf()

    full_seconds, pdf = _best(full, options.repeat)
    bare_seconds, _ = _best(bare, options.repeat)
    import io

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    ratio = full_seconds / bare_seconds
    result = {
        "lines": len(statement.lines),
        "pages": pages,
        "full_seconds": round(full_seconds, 3),
        "bare_weasyprint_seconds": round(bare_seconds, 3),
        "ratio": round(ratio, 3),
        "goal_seconds": GOAL_SECONDS,
        "goal_ratio": GOAL_RATIO,
        "harfbuzz_subsetter": fast_subsetter_available(),
        "met": full_seconds <= GOAL_SECONDS and ratio <= GOAL_RATIO,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
