"""CSRF for the customer's page, which sends no Referer by design.

With `Referrer-Policy: no-referrer` browsers post the page's forms with
`Origin: null` and no `Referer`, which Django's origin and referer checks
refuse. The page keeps the check that matters, Django's secret token (cookie
plus form field, compared by `CsrfViewMiddleware`), and takes the null origin
and the missing Referer that our own policy causes. A cross-site page would
also need the link's token, which only the customer's email holds.
"""

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware


class PortalCsrfViewMiddleware(CsrfViewMiddleware):
    def _origin_verified(self, request: HttpRequest) -> bool:
        return request.META.get("HTTP_ORIGIN") == "null" or super()._origin_verified(request)

    def _check_referer(self, request: HttpRequest) -> None:
        return None


portal_csrf_protect = decorator_from_middleware(PortalCsrfViewMiddleware)
