"""Writes of the API app: tokens and kept answers (and their purge)."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken, IdempotencyRecord
from core.exceptions import BusinessRuleError

NAME_MAX_LENGTH = 50


@transaction.atomic
def api_token_create(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the user and return it with its key, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise BusinessRuleError(_("Give the token a name."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise BusinessRuleError(
            _("Keep the name under %(count)s characters.") % {"count": NAME_MAX_LENGTH + 1},
            field="name",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise BusinessRuleError(_("The expiry must be in the future."), field="expires_at")
    if not user.is_active:
        raise BusinessRuleError(_("The user is inactive."), field="user")
    return ApiToken.objects.create_key(user=user, name=name, expiry_date=expires_at)


@transaction.atomic
def api_token_revoke(*, user: AbstractBaseUser, token_id: str) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once and for good."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise BusinessRuleError(_("No such token."))
    if not token.revoked:
        token.revoked = True
        token.save(update_fields=["revoked"])
    return token


PURGE_BATCH = 5000


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete the kept answers older than `API_IDEMPOTENCY_TTL` (they replay nothing any more),
    a batch at a time so no delete holds many rows locked; how many went."""
    cutoff = (now or timezone.now()) - settings.API_IDEMPOTENCY_TTL
    purged = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return purged
        purged += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
