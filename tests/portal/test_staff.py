"""Reps and finance make and revoke links on the customer page."""

import re

import pytest
from django.urls import reverse

from portal.models import PortalLink, token_hash
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


def test_the_rep_makes_a_link_shown_once_and_revokes_it(client, book):
    client.force_login(book.customer.sales_rep)
    page = client.get(book.customer.get_absolute_url()).content.decode()
    assert 'id="portal-links"' in page

    response = client.post(
        reverse("portal:link_create", kwargs={"customer_pk": book.customer.pk}),
        {"as_of": "2026-02-28"},
    )
    assert response.status_code == 200
    token = re.search(r'value="[^"]*/p/([A-Za-z0-9_-]+)/"', response.content.decode()).group(1)
    link = PortalLink.objects.get(token_hash=token_hash(token))
    assert link.created_by == book.customer.sales_rep
    assert str(link.as_of) == "2026-02-28"
    assert token not in client.get(book.customer.get_absolute_url()).content.decode()
    links_page = reverse("portal:link_list", kwargs={"customer_pk": book.customer.pk})
    assert f'data-testid="portal-link-{link.pk}"' in client.get(links_page).content.decode()

    response = client.post(reverse("portal:link_revoke", kwargs={"pk": link.pk}))
    assert response.status_code == 302
    assert response.url == links_page
    link.refresh_from_db()
    assert link.revoked_by == book.customer.sales_rep
    assert client.get(reverse("portal:page", kwargs={"token": token})).status_code == 404


def test_the_rep_opens_the_links_and_revokes_one_in_place_on_the_customer_page(client, book):
    client.force_login(book.customer.sales_rep)
    links_page = reverse("portal:link_list", kwargs={"customer_pk": book.customer.pk})
    revoke = reverse("portal:link_revoke", kwargs={"pk": book.link.pk})
    page = client.get(book.customer.get_absolute_url()).content.decode()
    # The customer page swaps the links' section in place (htmx), with no query of its own.
    assert f'hx-get="{links_page}" hx-target="#portal-links"' in page

    section = client.get(links_page, HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-post="{revoke}" hx-target="#portal-links"' in section
    assert 'name="csrfmiddlewaretoken"' in section

    answer = client.post(revoke, HTTP_HX_REQUEST="true", follow=True)

    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == links_page  # the section again, now revoked
    assert 'id="portal-links"' in answer.content.decode()
    assert f'hx-post="{revoke}"' not in answer.content.decode()
    book.link.refresh_from_db()
    assert book.link.revoked_at is not None
    assert client.get(reverse("portal:page", kwargs={"token": book.token})).status_code == 404


def test_another_rep_gets_404_and_finance_may_revoke(client, book):
    client.force_login(SalesRepFactory())
    url = reverse("portal:link_revoke", kwargs={"pk": book.link.pk})
    assert client.post(url).status_code == 404
    create = reverse("portal:link_create", kwargs={"customer_pk": book.customer.pk})
    assert client.post(create).status_code == 404
    listing = reverse("portal:link_list", kwargs={"customer_pk": book.customer.pk})
    assert client.get(listing).status_code == 404
    client.force_login(FinanceUserFactory())
    assert client.post(url).status_code == 302
    book.link.refresh_from_db()
    assert book.link.revoked_at is not None


def test_a_future_balance_date_is_refused(client, book):
    client.force_login(book.customer.sales_rep)
    response = client.post(
        reverse("portal:link_create", kwargs={"customer_pk": book.customer.pk}),
        {"as_of": "2027-01-01"},
    )
    assert response.status_code == 302
    assert PortalLink.objects.filter(customer=book.customer).count() == 1
