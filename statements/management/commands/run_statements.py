import json
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from statements.services.runs import statement_run, statements_send


class Command(BaseCommand):
    help = (
        "Create the due statements of account for a business date (once per customer and "
        "period) and send them; the same services the beat task runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the business date, YYYY-MM-DD (default today)")
        parser.add_argument("--no-send", action="store_true", help="create only")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args, as_of: str | None, no_send: bool, chunk_size: int, **options):
        try:
            business_date = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError:
            raise CommandError(f"--as-of: {as_of!r} is not a date written YYYY-MM-DD") from None
        started = time.perf_counter()
        summary = statement_run(as_of=business_date, chunk_size=chunk_size)
        created_at = time.perf_counter()
        sent = statements_send() if not no_send else None
        finished = time.perf_counter()
        self.stdout.write(
            json.dumps(
                {
                    "as_of": business_date.isoformat(),
                    "period": [
                        summary.period_start.isoformat() if summary.period_start else None,
                        summary.period_end.isoformat() if summary.period_end else None,
                    ],
                    "created": summary.created,
                    "skipped_zero_balance": summary.skipped_zero_balance,
                    "sent": len(sent.sent) if sent else 0,
                    "failed": len(sent.failed) if sent else 0,
                    "retrying": len(sent.retrying) if sent else 0,
                    # Where the time went: creating the rows (set-based, per chunk) and
                    # sending them (one statement at a time: render, store, email).
                    "seconds": {
                        "create": round(created_at - started, 3),
                        "send": round(finished - created_at, 3),
                    },
                }
            )
        )
