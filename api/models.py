"""API tokens and the answers kept for idempotent retries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class ApiToken(AbstractAPIKey):
    """A user's API token: named, stored hashed (SHA-512), revocable, optionally expiring.

    The key is shown once, at creation; the row keeps its prefix (to find it)
    and its hash (to check it). A request made with it acts as the user.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]


class IdempotencyRecord(models.Model):
    """The first answer to a POST made with an Idempotency-Key, replayed to its retries.

    Unique per (user, method and path, key): two concurrent requests with the
    same key cannot both write; the loser waits for the winner's transaction
    and replays its answer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("key"), max_length=255)
    endpoint = models.CharField(_("endpoint"), max_length=200)
    request_hash = models.CharField(_("request hash"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "endpoint", "key"], name="idempotency_unique_user_endpoint_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
