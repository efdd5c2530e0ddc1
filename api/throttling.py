from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (a session counts as its user's, anyone else per address)."""

    scope = "token"

    def __init__(self) -> None:
        # A shared cache when configured (API_THROTTLE_CACHE_URL): one count across workers.
        self.cache = caches["api_throttle" if "api_throttle" in settings.CACHES else "default"]
        super().__init__()

    def get_cache_key(self, request: Request, view) -> str:
        token = getattr(request, "api_token", None)
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
