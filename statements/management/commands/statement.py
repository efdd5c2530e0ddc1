import json
import re
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from receivables.currencies import is_iso_4217
from receivables.models import Customer
from statements.documents import statement_pdf, statement_xlsx
from statements.selectors import statement_of_account


def _iso_date(option: str, value: str) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CommandError(f"{option}: {value!r} is not a date written YYYY-MM-DD")


class Command(BaseCommand):
    help = (
        "The statement of account of a customer for a period: opening balance, the period's "
        "invoices, payments, credit notes and reversals with a running balance, closing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="the customer's code")
        parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
        parser.add_argument("--format", choices=("json", "pdf", "xlsx"), default="json")
        parser.add_argument("--currency", help="ISO 4217 code (default: the customer's)")
        parser.add_argument("--language", choices=("en", "zh-hans"), help="of the PDF or XLSX")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, **options):
        date_from = _iso_date("--from", options["date_from"])
        date_to = _iso_date("--to", options["date_to"])
        if date_to < date_from:
            raise CommandError("--to: the period ends before it starts")
        customer = Customer.objects.filter(code=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer {options['customer']!r}")
        currency = (options["currency"] or customer.currency).strip().upper()
        if not is_iso_4217(currency):
            raise CommandError(f"--currency: {currency!r} is not an ISO 4217 currency code")
        statement = statement_of_account(
            customer=customer, date_from=date_from, date_to=date_to, currency=currency
        )
        fmt = options["format"]
        if fmt == "json":
            text = json.dumps(statement.as_dict(), ensure_ascii=False, indent=2) + "\n"
            if options["output"]:
                Path(options["output"]).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        render = statement_pdf if fmt == "pdf" else statement_xlsx
        content = render(statement=statement, language=options["language"])
        if options["output"]:
            Path(options["output"]).write_bytes(content)
            return
        self.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
