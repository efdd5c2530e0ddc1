"""Reads for customers and contacts: scoped lists and the customer's audit timeline."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Exists, F, ForeignKey, Model, OuterRef, QuerySet, When
from django.db.models.functions import Length
from django.utils.translation import gettext

from core.roles import Role
from core.scoping import scope_for_user, sees_all_customers
from receivables.models import Contact, CreditAssessment, Customer

# Fields of an assessment the customer's timeline tells; the full record of every
# field stays in the assessment's own history (admin).
ASSESSMENT_TIMELINE_FIELDS = (
    "status",
    "grade",
    "requested_limit",
    "requested_terms_days",
    "approved_limit",
    "approved_terms_days",
)
# Holds and releases are told by their own events, with the reason.
CUSTOMER_TIMELINE_EXCLUDED = ("created_at", "updated_at", "credit_status")
# The change reason an approval writes on the customer's history row.
APPROVAL_REASON_PREFIX = "credit_assessment:"


@dataclass(frozen=True)
class HistoryChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: str
    subject: str
    action: str
    changes: tuple[HistoryChange, ...] = ()
    note: str = ""


def customer_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """List the customers the user may see, by name (an indexed order to page through), with
    their owning rep and whether they have a finance contact (reminders go to it)."""
    finance_contacts = Contact.objects.filter(customer=OuterRef("pk"), role=Contact.Role.FINANCE)
    return scope_for_user(
        Customer.objects.select_related("sales_rep").annotate(
            has_finance_contact=Exists(finance_contacts)
        ),
        user,
    ).order_by("name", "pk")


def customer_ids_in_scope(*, user: AbstractBaseUser | AnonymousUser) -> list[int] | None:
    """The keys of the customers the user may see; None when they see every customer.

    A filter on this short list lets PostgreSQL combine it with an invoice index. Through
    the join to customers it cannot tell how few invoices are the rep's, guesses a fair
    share of the book, and scans every open invoice for a page of nine.
    """
    if sees_all_customers(user):
        return None
    # Read once per request, as Django keeps a user's permissions on the user object.
    cached = getattr(user, "_customer_ids_in_scope", None)
    if cached is None:
        cached = list(scope_for_user(Customer.objects.all(), user).values_list("pk", flat=True))
        user._customer_ids_in_scope = cached
    return cached


def scoped_by_customer_keys(
    queryset: QuerySet, *, user: AbstractBaseUser | AnonymousUser, field: str = "customer_id"
) -> QuerySet:
    """Keep the rows of the customers the user may see, by their keys (`field`): the
    short literal list lets PostgreSQL probe an index per customer instead of scanning
    every open invoice and joining them to the rep's customers. Unchanged for who sees
    every customer."""
    customer_ids = customer_ids_in_scope(user=user)
    if customer_ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": customer_ids})


def contact_list(*, customer: Customer) -> QuerySet[Contact]:
    """The customer's contacts: finance first, then executive, procurement, other."""
    rank = Case(
        When(role=Contact.Role.FINANCE, then=0),
        When(role=Contact.Role.EXECUTIVE, then=1),
        When(role=Contact.Role.PROCUREMENT, then=2),
        default=3,
    )
    return customer.contacts.annotate(role_rank=rank).order_by("role_rank", "name")


class MailContact(NamedTuple):
    """Whom a message is written to: a contact's name and email address."""

    name: str
    email: str


def contacts_for_mail(*, customer_ids) -> dict[tuple[int, str], MailContact]:
    """Per (customer, role), the contact mail goes to: one with an email, an address that
    bounced only when the role has no other (sending then refuses it), oldest first.

    Read as rows: the first daily run asks this of all 20,000 customers of a large book."""
    contacts: dict[tuple[int, str], MailContact] = {}
    for customer_id, role, name, email in (
        Contact.objects.filter(customer_id__any_of=customer_ids)
        .exclude(email="")
        .order_by("customer_id", "role", F("email_bounced_at").asc(nulls_first=True), "pk")
        .values_list("customer_id", "role", "name", "email")
    ):
        contacts.setdefault((customer_id, role), MailContact(name, email))
    return contacts


def email_bounced(*, customer_id: int, email: str) -> bool:
    """Whether mail to the address bounced and no contact of the customer has fixed it since
    (an address is fixed by changing it, which clears the flag)."""
    email = (email or "").strip()
    if not email:
        return False
    return Contact.objects.filter(
        customer_id=customer_id, email__iexact=email, email_bounced_at__isnull=False
    ).exists()


def sales_rep_list() -> QuerySet:
    """Active users holding the sales rep role, for assigning customers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SALES_REP)
        .order_by("username")
        .distinct()
    )


def _display(model: type[Model], name: str, value: object, users: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    field = model._meta.get_field(name)
    if isinstance(field, ForeignKey):
        return users.get(value, f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _user_label(record) -> str:
    return record.history_user.get_username() if record.history_user else gettext("system")


def _record_entries(
    records: Iterable,
    *,
    model: type[Model],
    subject: Callable[[object], str],
    fields: Iterable[str] | None = None,
    excluded: Iterable[str] = (),
    initial_fields: Iterable[str] = (),
    note: Callable[[object], str] = lambda record: "",
    users: dict[int, str],
) -> list[HistoryEntry]:
    """Turn consecutive history records of each object into entries with old → new values."""
    entries = []
    previous: dict[int, object] = {}
    actions = {"+": gettext("created"), "~": gettext("changed"), "-": gettext("deleted")}
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        changes: list[HistoryChange] = []
        if record.history_type == "~" and before is not None:
            delta = record.diff_against(before, included_fields=fields, excluded_fields=excluded)
            changes = [
                HistoryChange(
                    field=str(model._meta.get_field(change.field).verbose_name),
                    old=_display(model, change.field, change.old, users),
                    new=_display(model, change.field, change.new, users),
                )
                for change in delta.changes
            ]
            if not changes:
                continue
        elif record.history_type == "+":
            changes = [
                HistoryChange(
                    field=str(model._meta.get_field(name).verbose_name),
                    old="—",
                    new=_display(model, name, getattr(record, name), users),
                )
                for name in initial_fields
            ]
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=_user_label(record),
                subject=subject(record),
                action=actions[record.history_type],
                changes=tuple(changes),
                note=note(record),
            )
        )
    return entries


def _approval_note(record) -> str:
    reason = record.history_change_reason or ""
    if reason.startswith(APPROVAL_REASON_PREFIX):
        return gettext("Credit assessment #%(number)s approved") % {
            "number": reason.removeprefix(APPROVAL_REASON_PREFIX)
        }
    return ""


def customer_history(
    *,
    customer: Customer,
    limit: int = 100,
    hold_events: Iterable | None = None,
    overrides: Iterable | None = None,
) -> list[HistoryEntry]:
    """The customer's audit timeline, newest first: master data, limit and terms,
    contacts, assessments, holds and credit overrides, each with who and when.

    A page that has read the holds and overrides already passes them in.
    """
    order = ("id", "history_date", "history_id")
    # The users the records name come joined (no lookup of their own).
    customer_records = list(
        Customer.history.filter(id=customer.pk)
        .select_related("history_user", "sales_rep")
        .order_by(*order)
    )
    contact_records = list(
        Contact.history.filter(customer_id=customer.pk)
        .select_related("history_user")
        .order_by(*order)
    )
    assessment_records = list(
        CreditAssessment.history.filter(customer_id=customer.pk)
        .select_related("history_user", "requested_by", "decided_by")
        .order_by(*order)
    )
    named = [r.sales_rep for r in customer_records] + [
        user for r in assessment_records for user in (r.requested_by, r.decided_by)
    ]
    users = {user.pk: user.get_username() for user in named if user is not None}
    role_labels = dict(Contact.Role.choices)

    entries = [
        *_record_entries(
            customer_records,
            model=Customer,
            subject=lambda r: gettext("Customer"),
            excluded=CUSTOMER_TIMELINE_EXCLUDED,
            note=_approval_note,
            users=users,
        ),
        *_record_entries(
            contact_records,
            model=Contact,
            subject=lambda r: (
                gettext("Contact %(name)s (%(role)s)")
                % {"name": r.name, "role": role_labels.get(r.role, r.role)}
            ),
            users=users,
        ),
        *_record_entries(
            assessment_records,
            model=CreditAssessment,
            subject=lambda r: gettext("Credit assessment #%(number)s") % {"number": r.id},
            fields=ASSESSMENT_TIMELINE_FIELDS,
            initial_fields=("status", "grade", "requested_limit", "requested_terms_days"),
            users=users,
        ),
    ]
    if hold_events is None:
        hold_events = customer.credit_hold_events.select_related("actor")
    if overrides is None:
        overrides = customer.credit_overrides.select_related("actor")
    for event in hold_events:
        entries.append(
            HistoryEntry(
                at=event.created_at,
                user=event.actor.get_username() if event.actor else gettext("system"),
                subject=gettext("Credit hold"),
                action=event.get_action_display(),
                note=f"{event.get_source_display()}: {event.reason_text}",
            )
        )
    for override in overrides:
        entries.append(
            HistoryEntry(
                at=override.created_at,
                user=override.actor.get_username(),
                subject=gettext("Credit check"),
                action=gettext("overridden"),
                changes=(
                    HistoryChange(
                        field=gettext("Exposure"),
                        old=f"{override.exposure:,.2f}",
                        new=f"{override.exposure + override.amount:,.2f}",
                    ),
                ),
                note=" · ".join(filter(None, (override.reference, override.reason))),
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


DEFAULT_CODE_PATTERN = "C-0001"
_CODE_NUMBER = re.compile(r"^(.*?)(\d+)$")


def customer_code_suggest(*, like: str = "") -> str:
    """The next free customer code in the pattern of `like` (or of the newest customer's
    code): its prefix and the next number after the highest one in use, zero-padded.

    Codes are compared without case, as the customer service compares them. A constant
    number of queries whatever the book's size.
    """
    like = (like or "").strip()
    if not _CODE_NUMBER.match(like):
        newest = Customer.objects.order_by("-pk").values_list("code", flat=True).first()
        like = newest if newest and _CODE_NUMBER.match(newest) else DEFAULT_CODE_PATTERN
    prefix, digits = _CODE_NUMBER.match(like).groups()
    width = len(digits)
    # The highest number of the prefix: longest codes first, then the greatest.
    candidates = (
        Customer.objects.filter(code__istartswith=prefix)
        .annotate(code_length=Length("code"))
        .order_by("-code_length", "-code")
        .values_list("code", flat=True)[:50]
    )
    highest = 0
    for code in candidates:
        match = _CODE_NUMBER.match(code)
        if match and match.group(1).lower() == prefix.lower() and int(match.group(2)) > highest:
            highest = int(match.group(2))
            prefix = match.group(1)  # written as the book writes it
    number = highest + 1
    taken = {
        code.lower()
        for code in Customer.objects.filter(
            code__in=[f"{prefix}{n:0{width}d}" for n in range(number, number + 20)]
        ).values_list("code", flat=True)
    }
    while f"{prefix}{number:0{width}d}".lower() in taken:
        number += 1
    return f"{prefix}{number:0{width}d}"
