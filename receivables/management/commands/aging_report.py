import json
import re
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.money import money_quantize
from core.spreadsheets import SpreadsheetCsvWriter
from receivables.currencies import is_iso_4217
from receivables.selectors.ageing import KEYS, ageing_report


def _iso_date(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise CommandError(f"--as-of: {value!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: {value!r} is not a date written YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Age open receivables as of a date: invoices issued on or before it, payments and "
        "credit notes dated on or before it, in buckets current, 1-30, 31-60, 61-90, 90+."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="the date, YYYY-MM-DD")
        parser.add_argument(
            "--currency",
            default=settings.DEFAULT_CURRENCY,
            help=f"ISO 4217 code (default {settings.DEFAULT_CURRENCY})",
        )
        parser.add_argument("--rep", help="username of a sales rep: only their customers")
        parser.add_argument("--format", choices=("json", "csv"), default="json")

    def handle(self, *args, as_of: str, currency: str, rep: str | None, format: str, **options):
        as_of_date = _iso_date(as_of)
        currency = currency.strip().upper()
        if not is_iso_4217(currency):
            raise CommandError(f"--currency: {currency!r} is not an ISO 4217 currency code")
        rep_user = None
        if rep:
            rep_user = get_user_model().objects.filter(username=rep).first()
            if rep_user is None:
                raise CommandError(f"--rep: no user {rep!r}")
        report = ageing_report(
            as_of=as_of_date, currency=currency, rep=rep_user, today=timezone.localdate()
        )
        if format == "json":
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
            return
        # Amounts are written as numbers (two decimals), every text as safe text.
        writer = SpreadsheetCsvWriter(self.stdout)
        rows = [
            ["code", "name", *KEYS],
            *(
                [row.code, row.name, *(money_quantize(row.amounts[key]) for key in KEYS)]
                for row in report.customers
            ),
            ["TOTAL", "", *(money_quantize(report.totals[key]) for key in KEYS)],
        ]
        for row in rows:
            writer.writerow(row)
