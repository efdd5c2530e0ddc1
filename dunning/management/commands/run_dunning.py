import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.exceptions import BusinessRuleError
from dunning.services.run import run_dunning
from dunning.services.send import communications_send


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date like 2026-06-16, not {value!r}") from error


class Command(BaseCommand):
    help = (
        "Run the dunning ladder for a business date (the service the daily beat task runs) "
        "and list the communications this run created. Messages are sent by the Celery "
        "workers' send sweep, or here with --send."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=str, default=None, help="business date, YYYY-MM-DD (default: today)"
        )
        parser.add_argument(
            "--format", dest="output_format", choices=["text", "json"], default="text"
        )
        parser.add_argument("--chunk-size", type=int, default=None, help="customers per chunk")
        parser.add_argument(
            "--send",
            action="store_true",
            help="also send the created messages now, through the configured email backend",
        )

    def handle(
        self, *args, as_of: str | None, output_format: str, chunk_size: int | None, **options
    ):
        business_date = _iso_date(as_of) if as_of else timezone.localdate()
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            result = run_dunning(as_of=business_date, chunk_size=chunk_size)
        except BusinessRuleError as error:
            raise CommandError(error.message) from error
        if options["send"]:
            pending = [
                created.communication_id
                for created in result.communications
                if created.status == "pending"
            ]
            if pending:
                communications_send(ids=pending)
        if output_format == "json":
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        else:
            self._write_text(result)
        if result.failed_chunks:
            raise CommandError(
                f"{len(result.failed_chunks)} chunk(s) failed; run the date again to retry them "
                f"(chunk ids {', '.join(map(str, result.failed_chunks))})"
            )

    def _write_text(self, result) -> None:
        communications = result.sorted_communications()
        self.stdout.write(
            f"Dunning run for {result.as_of.isoformat()}: "
            f"{len(communications)} communication(s) created"
        )
        for created in communications:
            self.stdout.write(
                f"  {created.customer_code:<12} {created.level:<14} {created.currency:<4} "
                f"{','.join(created.channels):<32} {', '.join(created.invoices)}"
            )
        skipped = result.as_json()["skipped"]
        self.stdout.write(
            "Skipped: " + ", ".join(f"{reason} {count}" for reason, count in skipped.items())
        )
