"""Response headers every signed-in page gets."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInPagesMiddleware:
    """Keep receivables data out of browser and proxy caches: `Cache-Control: no-store`.

    Every HTML page (and htmx fragment) answered to a signed-in user is marked;
    a response that already states its own caching (exports, PDFs) is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and response.get("Content-Type", "").startswith("text/html")
            and not response.has_header("Cache-Control")
        ):
            add_never_cache_headers(response)
        return response
