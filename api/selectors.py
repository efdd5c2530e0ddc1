"""Reads of the API app."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from api.models import ApiToken


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's tokens, newest first (the keys themselves are never kept)."""
    return ApiToken.objects.filter(user=user).order_by("-created")
