import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banking.models import BankAccount
from banking.services.receipts import bank_statement_import


class Command(BaseCommand):
    help = (
        "Load a bank statement and apply the receipts matched with certainty. All or nothing: "
        "bad rows are reported as 'line N: reason' on stderr, exit status 1. Idempotent per "
        "(bank account, transaction id)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", required=True, type=Path)
        parser.add_argument("--bank-account", required=True, dest="bank_account")
        parser.add_argument(
            "--profile", default="auto", help="auto, canonical, camt053, mt940 or a profile name"
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, file: Path, bank_account: str, profile: str, dry_run: bool, **options):
        account = BankAccount.objects.filter(code=bank_account).first()
        if account is None:
            raise CommandError(f"no bank account with code {bank_account}", returncode=1)
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
        result = bank_statement_import(
            account=account, data=data, file_name=file.name, profile=profile, dry_run=dry_run
        )
        for error in result.errors:
            self.stderr.write(str(error))
        if not result.ok:
            raise CommandError(
                f"{len(result.errors)} problem(s); nothing was imported", returncode=1
            )
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(
            f"{prefix}{result.receipts} receipts ({result.file_format}): {result.new} new, "
            f"{result.duplicates} already imported; {len(result.applied)} applied, "
            f"{len(result.suggested)} suggested, {len(result.unmatched)} unmatched"
        )
