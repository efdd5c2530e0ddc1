from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import DEMO_USERS, demo_users_seed

DEFAULT_PASSWORD = "huikuan-demo"
# Each module of demo data has a `seed(users=..., stdout=...)`; they run in this order.
DEMO_APPS = (
    "receivables.demo",
    "receivables.demo_invoices",
    "contracts.demo",
    "dunning.demo",
    "bills.demo",
    "dunning.demo_stories",
    "banking.demo",
)


class Command(BaseCommand):
    help = "Create or refresh the demo users and data; running it twice changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="password for every demo user"
        )

    @transaction.atomic
    def handle(self, *args, password: str, **options):
        users = demo_users_seed(password=password)
        for app in DEMO_APPS:
            try:
                module = import_module(app)
            except ModuleNotFoundError as error:
                if error.name != app:
                    raise
                continue
            self.stdout.write(f"Seeding {app} ...")
            module.seed(users=users, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        for demo in DEMO_USERS:
            self.stdout.write(f"  {demo.username:<10} {password:<16} ({demo.role})")
