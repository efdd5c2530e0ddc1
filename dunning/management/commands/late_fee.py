from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.money import money_str
from dunning.late_fees import invoice_late_fee
from receivables.models import Invoice


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date like 2026-03-02, not {value!r}") from error


class Command(BaseCommand):
    help = "Print the late fee owed on an invoice as of a date (contract clause or policy)."

    def add_arguments(self, parser):
        parser.add_argument("--invoice", required=True, help="invoice number")
        parser.add_argument("--as-of", required=True, type=str, help="business date, YYYY-MM-DD")

    def handle(self, *args, invoice: str, as_of: str, **options):
        business_date = _iso_date(as_of)
        try:
            found = Invoice.objects.select_related("milestone__contract").get(number=invoice)
        except Invoice.DoesNotExist as error:
            raise CommandError(f"no invoice numbered {invoice!r}") from error
        self.stdout.write(money_str(invoice_late_fee(invoice=found, as_of=business_date)))
