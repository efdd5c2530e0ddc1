from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backups import BackupError, backup_default_path, database_backup


class Command(BaseCommand):
    help = (
        "Back up the database of DATABASE_URL while the application runs: pg_dump (custom "
        "format) for PostgreSQL, the online backup API for SQLite. Prints the file written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="the backup file to write (new)")
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=settings.VAR_DIR / "backups",
            help="where to write a time-stamped backup when --output is not given "
            "(default var/backups)",
        )

    def handle(self, *args, output: Path | None, output_dir: Path, **options):
        try:
            path = output or backup_default_path(directory=output_dir)
            written = database_backup(path=path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(str(written))
