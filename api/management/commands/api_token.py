from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.services import api_token_create
from core.exceptions import BusinessRuleError


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print it once: it is stored hashed and cannot be "
        "shown again. Send it as the header 'Authorization: Token <key>'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the username the token acts as")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="expire after this many days"
        )

    def handle(self, *args, user: str, name: str, expires_in_days: int | None, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"--user: no user {user!r}")
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days <= 0:
                raise CommandError("--expires-in-days: give a positive number of days")
            expires_at = timezone.now() + timedelta(days=expires_in_days)
        label = name or f"{user} {timezone.localdate().isoformat()}"
        try:
            _token, key = api_token_create(user=account, name=label, expires_at=expires_at)
        except BusinessRuleError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key)
