"""Headers of every answer under /p/: no Referer leaves the page, nothing is cached."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PORTAL_PREFIX = "/p/"


class PortalHeadersMiddleware:
    """`Referrer-Policy: no-referrer`, `Cache-Control: no-store`, no indexing, under /p/.

    Set on every answer there (404, 429 and CSRF failures included), so the
    token in the path never leaves in a Referer or sits in a cache.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PORTAL_PREFIX):
            response["Referrer-Policy"] = "no-referrer"
            response["X-Robots-Tag"] = "noindex, nofollow"
            if "Cache-Control" in response:
                del response["Cache-Control"]
            add_never_cache_headers(response)
        return response
