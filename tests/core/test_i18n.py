import pytest
from django.urls import reverse

from tests.factories import SalesRepFactory

pytestmark = pytest.mark.django_db


def test_home_follows_the_browser_language(client):
    client.force_login(SalesRepFactory())

    english = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    chinese = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "My receivables" in english
    assert "我的应收款" in chinese
    assert '<html lang="zh-hans">' in chinese


def test_language_switcher_overrides_the_browser(client):
    client.force_login(SalesRepFactory())

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="en-US")

    assert "我的应收款" in response.content.decode()


def test_login_page_is_translated(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert "登录" in response.content.decode()


def test_amounts_are_grouped_by_thousands_in_both_languages():
    from decimal import Decimal

    from django.template.defaultfilters import floatformat
    from django.utils import translation

    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert floatformat(Decimal("622250.5"), "2g") == "622,250.50"
