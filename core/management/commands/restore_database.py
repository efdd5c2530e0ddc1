from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backups import BackupError, database_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_database into the database of DATABASE_URL. The "
        "database must be empty unless --replace is given. Stop the web app and the workers "
        "first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", type=Path, required=True, help="the backup file")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace a database that holds data (its tables are dropped first)",
        )

    def handle(self, *args, input: Path, replace: bool, **options):
        try:
            database_restore(path=input, replace=replace)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"restored {input}")
