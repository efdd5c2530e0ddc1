"""Every link a page shows is one its reader may follow, and refusals are the site's own
styled pages in the reader's language."""

import re
from urllib.parse import urldefrag, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

HREF = re.compile(r'<a [^>]*href="([^"]+)"')
SKIP = ("/accounts/logout", "/static/", "/media/", "/i18n/", "/admin/")
START_PAGES = ["/", reverse("dashboards:finance_desk"), reverse("dashboards:dashboard")]


def _links(html: str) -> set[str]:
    links = set()
    for href in HREF.findall(html):
        url = urldefrag(href.replace("&amp;", "&"))[0]
        parsed = urlparse(url)
        if parsed.scheme or parsed.netloc or not url.startswith("/"):
            continue
        if url.startswith(SKIP):
            continue
        links.add(url)
    return links


@pytest.mark.parametrize("username", ["rep1", "finance1", "manager1"])
def test_the_pages_of_a_role_link_only_where_it_may_go(client, seeded_demo, username):
    # Given a demo user on their start pages and everything those pages link to
    client.force_login(get_user_model().objects.get(username=username))
    seen: dict[str, int] = {}
    refused = []
    for start in START_PAGES:
        response = client.get(start)
        if response.status_code != 200:
            continue  # a start page the role does not have is not linked for it
        for url in sorted(_links(response.content.decode())):
            if url in seen:
                continue
            seen[url] = client.get(url).status_code
            if seen[url] == 403:
                refused.append(f"{start} -> {url}")

    # Then none of the links answers "not allowed"
    assert seen
    assert not refused, refused


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        ("en", "Not allowed", "Your role does not allow this"),
        ("zh-hans", "不允许", None),
    ],
)
@override_settings(DEBUG=False)
def test_a_refusal_is_the_styled_403_page_in_the_readers_language(
    client, seeded_demo, language, title, text
):
    client.force_login(get_user_model().objects.get(username="rep1"))
    client.cookies["django_language"] = language

    response = client.get(reverse("dashboards:finance_desk"))

    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="error-page"' in page
    assert f'lang="{language}"' in page
    assert "403 Forbidden" not in page
    if text:
        assert text in page
    else:
        assert "Your role does not allow this" not in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@override_settings(DEBUG=False)
def test_a_missing_page_is_the_styled_404_page(client, seeded_demo, language):
    client.force_login(get_user_model().objects.get(username="rep1"))
    client.cookies["django_language"] = language

    response = client.get("/customers/999999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="error-page"' in page
    assert f'lang="{language}"' in page


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")
