"""Users change their password, or reset it by email, on pages in the site's layout."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db

OLD = "correct-horse-battery"
NEW = "Receivables-2026-Collected"


def test_the_header_links_to_password_change(client):
    client.force_login(SalesRepFactory())

    html = client.get(reverse("core:home")).content.decode()

    assert f'href="{reverse("password_change")}"' in html


def test_a_user_changes_their_password(client):
    rep = SalesRepFactory(username="rep9")
    client.force_login(rep)

    page = client.get(reverse("password_change"))
    response = client.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )

    assert page.status_code == 200
    assert page.templates[0].name == "registration/password_change_form.html"
    assert "site-header" in page.content.decode()
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Password changed" in response.content.decode()
    rep.refresh_from_db()
    assert rep.check_password(NEW)
    # The session survives the change.
    assert client.get(reverse("core:home")).status_code == 200


def test_a_wrong_current_password_changes_nothing(client):
    rep = SalesRepFactory()
    client.force_login(rep)

    response = client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    rep.refresh_from_db()
    assert rep.check_password(OLD)


def test_a_weak_new_password_is_refused(client):
    rep = SalesRepFactory()
    client.force_login(rep)

    response = client.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": "12345678", "new_password2": "12345678"},
    )

    assert response.context["form"].errors["new_password2"]
    rep.refresh_from_db()
    assert rep.check_password(OLD)


def test_password_change_needs_a_login(client):
    response = client.get(reverse("password_change"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_login_page_offers_a_reset(client):
    html = client.get(reverse("login")).content.decode()

    assert f'href="{reverse("password_reset")}"' in html


def test_a_user_resets_a_forgotten_password_by_email(client):
    rep = SalesRepFactory(username="rep9", email="rep9@example.com")

    form = client.get(reverse("password_reset"))
    sent = client.post(reverse("password_reset"), {"email": "rep9@example.com"}, follow=True)

    assert form.status_code == 200
    assert sent.redirect_chain[-1][0] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rep9@example.com"]
    assert message.subject == "Reset your Huikuan password"
    assert "Hello rep9" in message.body
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/)", message.body)
    assert link

    # The link leads to a form (the token moves into the session) that sets the password.
    choose = client.get(link.group(1), follow=True)
    assert "Choose a new password" in choose.content.decode()
    done = client.post(
        choose.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    rep.refresh_from_db()
    assert rep.check_password(NEW)

    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert 'id="invalid-reset-link"' in again.content.decode()
    client.logout()
    login = client.post(reverse("login"), {"username": "rep9", "password": NEW}, follow=True)
    assert login.context["user"] == rep


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    SalesRepFactory(email="rep9@example.com")

    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert mail.outbox == []


def test_the_reset_mail_and_pages_speak_chinese(client):
    SalesRepFactory(username="rep9", email="rep9@example.com")
    chinese = {"Accept-Language": "zh-hans"}

    page = client.get(reverse("password_reset"), headers=chinese)
    client.post(reverse("password_reset"), {"email": "rep9@example.com"}, headers=chinese)

    assert "重置密码" in page.content.decode()
    assert mail.outbox[0].subject == "重置您的回款密码"


def test_reset_pages_are_open_without_login(client):
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        assert client.get(reverse(name)).status_code == 200, name
    assert get_user_model().objects.count() == 0
