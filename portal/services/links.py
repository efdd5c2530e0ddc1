"""Portal links: made by a service, shown once, stored hashed, expiring, revocable."""

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from core.exceptions import BusinessRuleError
from dunning.models import Communication
from dunning.services.cases import ensure_may_work_customer
from portal.models import PortalLink, token_hash
from receivables.models import Customer

DEFAULT_LINK_DAYS = 30


def link_days() -> int:
    return int(getattr(settings, "PORTAL_LINK_DAYS", DEFAULT_LINK_DAYS))


def portal_url(*, token: str) -> str:
    """The absolute address of the customer's page for a token (the token in the path only)."""
    base = settings.SITE_URL.rstrip("/")
    return f"{base}{reverse('portal:page', kwargs={'token': token})}"


@transaction.atomic
def portal_link_create(
    *,
    customer: Customer,
    as_of: date | None = None,
    created_by: AbstractBaseUser | None = None,
    communication: Communication | None = None,
    days: int | None = None,
) -> tuple[PortalLink, str]:
    """Make a link to the customer's page; return it with its token (never stored in clear)."""
    token = secrets.token_urlsafe(32)
    link = PortalLink.objects.create(
        customer=customer,
        token_hash=token_hash(token),
        as_of=as_of,
        expires_at=timezone.now() + timedelta(days=days or link_days()),
        created_by=created_by,
        communication=communication,
    )
    return link, token


def portal_link_create_by_user(
    *, customer: Customer, actor: AbstractBaseUser, as_of: date | None, today: date
) -> tuple[PortalLink, str]:
    """A rep or finance makes a link by hand for a customer they may work on."""
    ensure_may_work_customer(actor=actor, customer=customer)
    if as_of is not None and as_of > today:
        raise BusinessRuleError(
            translation.gettext("A balance can only be confirmed as of today or earlier."),
            field="as_of",
        )
    return portal_link_create(customer=customer, as_of=as_of, created_by=actor)


@transaction.atomic
def portal_link_revoke(*, link: PortalLink, actor: AbstractBaseUser) -> PortalLink:
    """Stop a link from opening the page or acting; idempotent."""
    ensure_may_work_customer(actor=actor, customer=link.customer)
    link = PortalLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.revoked_by = actor
        link.save(update_fields=["revoked_at", "revoked_by"])
    return link


def portal_link_email_paragraph(
    *,
    customer: Customer,
    language: str,
    as_of: date | None = None,
    communication: Communication | None = None,
) -> str:
    """Make a fresh link and word the paragraph an email ends with, in the reader's language.

    Statements call this with their date as `as_of` (the contact is asked to
    confirm that balance); the text goes into the email only, never into a
    stored message, so the token is never kept in clear.
    """
    _link, token = portal_link_create(customer=customer, as_of=as_of, communication=communication)
    with translation.override(language):
        return render_to_string(
            "portal/email_link.txt",
            {"url": portal_url(token=token), "days": link_days()},
        ).strip()


def portal_link_email_text(communication: Communication) -> str:
    """The paragraph a dunning email ends with: a fresh link, made when the message goes out."""
    return portal_link_email_paragraph(
        customer=communication.customer,
        language=communication.language or communication.customer.language,
        communication=communication,
    )


def statement_portal_url(statement) -> str:
    """A fresh link for a statement's email: the customer's page, asking to confirm the
    balance at the end of the statement's period."""
    _link, token = portal_link_create(customer=statement.customer, as_of=statement.period_end)
    return portal_url(token=token)
