"""API tokens: hashed at rest, shown once, named, revocable, expiring."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import api_token_create

pytestmark = pytest.mark.django_db


def _get(key: str, path: str = "/api/v1/invoices/"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(path)


def test_the_command_prints_a_token_once_and_stores_only_its_hash(users):
    out = StringIO()
    call_command("api_token", "--user", "rep1", "--name", "ERP sync", stdout=out)
    key = out.getvalue().strip()

    token = ApiToken.objects.get(user=users["rep1"], name="ERP sync")
    assert key.startswith(token.prefix + ".")
    assert key not in token.hashed_key
    assert token.hashed_key.startswith("sha512$$")
    assert _get(key).status_code == 200


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user"):
        call_command("api_token", "--user", "ghost", stdout=StringIO())


@pytest.mark.parametrize(
    "header", ["Token nonsense", "Token abc.def", "Token", "Token a b", "Bearer x"]
)
def test_a_wrong_token_is_refused(users, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/invoices/").status_code in (401, 403)


def test_a_revoked_or_expired_token_stops_working(users):
    token, key = api_token_create(user=users["rep1"], name="short")
    assert _get(key).status_code == 200
    token.expiry_date = timezone.now() - timedelta(seconds=1)
    token.save()
    assert _get(key).status_code == 401

    token, key = api_token_create(user=users["rep1"], name="revoked")
    token.revoked = True
    token.save()
    assert _get(key).status_code == 401


def test_an_inactive_users_token_stops_working(users):
    _token, key = api_token_create(user=users["rep1"], name="x")
    users["rep1"].is_active = False
    users["rep1"].save()
    assert _get(key).status_code == 401


def test_the_token_page_shows_a_new_key_once_lists_and_revokes(client, users):
    client.force_login(users["rep1"])
    page = reverse("api:token_list")
    created = client.post(
        page, {"action": "create", "name": "Nightly export", "expires_on": "2026-12-31"}
    )
    assert created.status_code == 200
    key = created.context["new_key"]
    assert key
    assert key in created.content.decode()
    token = ApiToken.objects.get(user=users["rep1"], name="Nightly export")
    assert token.expiry_date is not None
    assert _get(key).status_code == 200

    listed = client.get(page).content.decode()
    assert "Nightly export" in listed
    assert token.prefix in listed
    assert key not in listed

    client.post(page, {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked
    assert _get(key).status_code == 401


def test_a_user_cannot_revoke_another_users_token(client, users):
    token, _key = api_token_create(user=users["rep2"], name="theirs")
    client.force_login(users["rep1"])
    client.post(reverse("api:token_list"), {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert not token.revoked
    assert "theirs" not in client.get(reverse("api:token_list")).content.decode()


def test_a_token_with_a_past_expiry_is_refused(client, users):
    client.force_login(users["rep1"])
    response = client.post(
        reverse("api:token_list"), {"action": "create", "name": "old", "expires_on": "2020-01-01"}
    )
    assert response.context["new_key"] is None
    assert not ApiToken.objects.filter(name="old").exists()


def test_requests_are_throttled_per_token(users):
    from rest_framework.settings import api_settings

    from api.throttling import TokenRateThrottle

    _token, first = api_token_create(user=users["rep1"], name="a")
    _token, second = api_token_create(user=users["rep1"], name="b")
    original = TokenRateThrottle.THROTTLE_RATES
    TokenRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/minute"}
    try:
        assert [_get(first).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert _get(second).status_code == 200
    finally:
        TokenRateThrottle.THROTTLE_RATES = original
