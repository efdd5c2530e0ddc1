"""Anymail's tracking webhooks, mounted only while a webhook secret is configured.

Anymail authenticates each call with HTTP basic auth against
`ANYMAIL["WEBHOOK_SECRET"]` (and, for providers that sign, their own
signature). Without a secret anymail would accept anyone, so the URLs answer
404 until it is set. They are outside the login, as the provider cannot log in.
"""

from collections.abc import Callable

from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path


def _when_configured(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.csrf_exempt = True  # the provider posts without a CSRF token; basic auth instead
    return login_not_required(wrapped)


def _tracking_patterns() -> list[URLPattern]:
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        if not pattern.name or not pattern.name.endswith("tracking_webhook"):
            continue
        regex = pattern.pattern.regex.pattern
        patterns.append(re_path(regex, _when_configured(pattern.callback), name=pattern.name))
    return patterns


app_name = "anymail_webhooks"
urlpatterns = _tracking_patterns()
