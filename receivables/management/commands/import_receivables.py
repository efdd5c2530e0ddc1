from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from receivables.imports import PROGRESS_EVERY, receivables_import


class Command(BaseCommand):
    help = (
        "Import invoices (and payments) from CSV, all or nothing. Bad rows are reported as "
        "'line N: reason' on stderr and the command exits with status 1; nothing is written. "
        "Importing the same files again creates nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--invoices",
            required=True,
            type=Path,
            help="CSV: customer_code,customer_name,invoice_number,issue_date,due_date,amount,"
            "currency[,sales_rep,contract_number]",
        )
        parser.add_argument(
            "--payments",
            type=Path,
            help="CSV: customer_code,payment_date,amount,currency,reference[,invoice_number]",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every row against the database, then write nothing",
        )

    def handle(self, *args, invoices: Path, payments: Path | None, dry_run: bool, **options):
        for label, path in (("--invoices", invoices), ("--payments", payments)):
            if path is not None and not path.is_file():
                raise CommandError(f"{label}: no such file: {path}")
        try:
            with invoices.open("rb") as invoices_file:
                if payments is None:
                    result = receivables_import(
                        invoices_file=invoices_file, dry_run=dry_run, progress=self._progress
                    )
                else:
                    with payments.open("rb") as payments_file:
                        result = receivables_import(
                            invoices_file=invoices_file,
                            payments_file=payments_file,
                            dry_run=dry_run,
                            progress=self._progress,
                        )
        except OSError as error:
            raise CommandError(
                f"cannot read {error.filename or 'the file'}: {error.strerror or error}"
            ) from None
        for error in result.errors:
            self.stderr.write(str(error))
        if not result.ok:
            raise CommandError(" ".join(result.summary()), returncode=1)
        for line in result.summary():
            self.stdout.write(line)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if total >= PROGRESS_EVERY:
            self.stdout.write(f"  {stage}: {done}/{total}")
