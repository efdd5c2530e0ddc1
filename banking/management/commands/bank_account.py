from django.core.management.base import BaseCommand, CommandError

from banking.services.accounts import bank_account_record
from core.exceptions import BusinessRuleError


class Command(BaseCommand):
    help = "Record one of the company's bank accounts (idempotent per code)."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True)
        parser.add_argument("--number", required=True)
        parser.add_argument("--currency", required=True)
        parser.add_argument("--name", default="")

    def handle(self, *args, code: str, number: str, currency: str, name: str, **options):
        try:
            account, created = bank_account_record(
                code=code, number=number, currency=currency, name=name
            )
        except BusinessRuleError as error:
            raise CommandError(str(error)) from None
        verb = "created" if created else "exists"
        self.stdout.write(f"{verb}: {account.code} {account.number} {account.currency}")
