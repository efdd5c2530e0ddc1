import pytest
from django.urls import reverse

from tests.factories import SalesRepFactory

pytestmark = pytest.mark.django_db


def test_rep_logs_in_and_sees_home(client):
    rep = SalesRepFactory(username="rep9")

    response = client.post(
        reverse("login"), {"username": "rep9", "password": "correct-horse-battery"}, follow=True
    )

    assert response.status_code == 200
    assert response.context["user"] == rep
    assert "My receivables" in response.content.decode()


def test_repeated_wrong_passwords_are_throttled(client):
    SalesRepFactory(username="rep9")
    statuses = [
        client.post(reverse("login"), {"username": "rep9", "password": "wrong"}).status_code
        for _ in range(10)
    ]

    assert statuses[:4] == [200] * 4
    assert statuses[-1] == 429
    # Once locked out, even the right password is refused for the cool-off period.
    locked = client.post(
        reverse("login"), {"username": "rep9", "password": "correct-horse-battery"}
    )
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


def test_logout_needs_post_and_ends_the_session(client):
    client.force_login(SalesRepFactory())

    client.post(reverse("logout"))

    assert client.get(reverse("core:home")).status_code == 302
