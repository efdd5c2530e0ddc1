"""Security headers: CSP, Permissions-Policy, no-store on signed-in pages, error pages."""

import re

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories.customers import CustomerFactory
from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def test_pages_carry_a_strict_content_security_policy(client):
    client.force_login(SalesRepFactory())

    response = client.get(reverse("core:home"))

    directives = _directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_pages_have_no_inline_script_or_style(client):
    rep = SalesRepFactory()
    CustomerFactory(sales_rep=rep)
    client.force_login(rep)

    html = client.get(reverse("core:home")).content.decode()

    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script> without src"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"\sstyle=", html), "inline style attribute"
    # htmx is told not to inject its indicator styles or evaluate code.
    assert '"includeIndicatorStyles": false' in html


def test_the_login_page_has_the_policy_too(client):
    response = client.get(reverse("login"))

    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_permissions_policy_turns_off_powerful_features(client):
    response = client.get(reverse("login"))

    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_signed_in_pages_and_fragments_are_not_stored(client):
    rep = SalesRepFactory()
    CustomerFactory(sales_rep=rep)
    client.force_login(rep)

    page = client.get(reverse("core:home"))
    fragment = client.get(
        reverse("dashboards:rep_home"),
        headers={"HX-Request": "true", "HX-Target": "worklist-customers"},
    )

    for response in (page, fragment):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_exports_keep_their_own_cache_control(client):
    rep = SalesRepFactory()
    CustomerFactory(sales_rep=rep)
    client.force_login(rep)

    response = client.get(reverse("dashboards:export"), {"table": "customers", "format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "private, no-store"


def test_production_404_is_the_sites_own_page(client, settings):
    settings.DEBUG = False
    client.force_login(SalesRepFactory())

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert 'id="error-page"' in html
    assert "Page not found" in html
    assert "URLconf" not in html
    assert "Content-Security-Policy" in response.headers


def test_production_404_speaks_chinese(client, settings):
    settings.DEBUG = False

    response = client.get("/no/such/page/", headers={"Accept-Language": "zh-hans"})

    assert "找不到页面" in response.content.decode()


def test_only_debug_shows_djangos_technical_404(client, settings):
    settings.DEBUG = True

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "URLconf" in response.content.decode()


def test_production_500_is_the_sites_own_page():
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    html = response.content.decode()
    assert 'id="error-page"' in html
    assert "Something went wrong" in html
