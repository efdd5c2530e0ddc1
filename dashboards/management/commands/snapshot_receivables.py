"""Back-fill the daily receivables snapshots for a range of business dates."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.services import receivables_snapshot_take


def _iso_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{option}: {value!r} is not a date YYYY-MM-DD") from error


class Command(BaseCommand):
    help = (
        "Take the daily receivables snapshot for every date from --from to --to (default: "
        "yesterday), one transaction per date; taking a date again replaces its rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first date, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last date, YYYY-MM-DD (default yesterday)")

    def handle(self, *args, start: str, end: str | None, **options):
        first = _iso_date(start, "--from")
        last = _iso_date(end, "--to") if end else timezone.localdate() - timedelta(days=1)
        if last < first:
            raise CommandError("--to is before --from")
        if last >= timezone.localdate():
            raise CommandError("--to must be before today: today is still moving")
        total_days = (last - first).days + 1
        for index in range(total_days):
            day = first + timedelta(days=index)
            rows = receivables_snapshot_take(business_date=day)
            self.stdout.write(f"{index + 1}/{total_days} {day.isoformat()}: {rows} rows")
        self.stdout.write(self.style.SUCCESS(f"{total_days} days snapshotted"))
