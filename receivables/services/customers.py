"""Writes for the customer master and contacts.

Every service takes the acting user, refuses what the user's role or scope
does not allow with a `BusinessRuleError`, and records the actor in the
history (django-simple-history) of what it changed.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from core.scoping import scope_for_user
from receivables.currencies import is_iso_4217
from receivables.models import Contact, Customer
from receivables.selectors.customers import customer_code_suggest

CUSTOMER_EDITABLE_FIELDS = ("name", "industry", "registration_number", "address", "language")
CONTACT_FIELDS = ("name", "role", "email", "phone", "im_handle")


def customer_lock(*, pk: int) -> Customer:
    """Lock the customer row for the rest of the transaction (the one lock helper)."""
    return Customer.objects.select_for_update().get(pk=pk)


def customers_lock(*, pks: Iterable[int]) -> dict[int, Customer]:
    """Lock many customer rows in pk order (the lock order of the money services)."""
    ids = sorted(set(pks))
    if not ids:
        return {}
    locked = Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {customer.pk: customer for customer in locked}


def ensure_customer_in_scope(*, actor: AbstractBaseUser, customer: Customer) -> None:
    """Refuse a user who may not see the customer (another rep's, or no role)."""
    if not scope_for_user(Customer.objects.filter(pk=customer.pk), actor).exists():
        raise BusinessRuleError(gettext("You cannot change this customer."))


def validation_error_to_business_error(error: ValidationError) -> BusinessRuleError:
    """The first message of a model validation error, with its field."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        message = errors[0].messages[0]
        return BusinessRuleError(message, field=None if field == "__all__" else field)
    return BusinessRuleError(error.messages[0])


def _full_clean(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise validation_error_to_business_error(error) from error


def _check_sales_rep(*, actor: AbstractBaseUser, sales_rep: AbstractBaseUser | None):
    """Reps own what they create; finance and managers assign a sales rep."""
    if has_role(actor, Role.FINANCE, Role.MANAGER):
        if sales_rep is None:
            raise BusinessRuleError(
                gettext("Choose the sales rep who owns the customer."), field="sales_rep"
            )
        if not has_role(sales_rep, Role.SALES_REP) or not sales_rep.is_active:
            raise BusinessRuleError(
                gettext("%(user)s is not an active sales rep.")
                % {"user": sales_rep.get_username()},
                field="sales_rep",
            )
        return sales_rep
    if has_role(actor, Role.SALES_REP):
        if sales_rep is not None and sales_rep.pk != actor.pk:
            raise BusinessRuleError(
                gettext("A sales rep can only create customers they own."), field="sales_rep"
            )
        return actor
    raise BusinessRuleError(gettext("Your role cannot create customers."))


@transaction.atomic
def customer_create(
    *,
    actor: AbstractBaseUser,
    code: str,
    name: str,
    industry: str = "",
    registration_number: str = "",
    address: str = "",
    currency: str = "",
    language: str = Customer.Language.CHINESE,
    sales_rep: AbstractBaseUser | None = None,
) -> Customer:
    """Create a customer with no credit yet: limit 0, terms 0, new, active."""
    owner = _check_sales_rep(actor=actor, sales_rep=sales_rep)
    code = code.strip()
    currency = (currency or settings.DEFAULT_CURRENCY).strip().upper()
    if not code:
        raise BusinessRuleError(gettext("Enter the customer code."), field="code")
    if Customer.objects.filter(code__iexact=code).exists():
        raise BusinessRuleError(
            gettext("The code %(code)s is taken; %(suggestion)s is the next free one.")
            % {"code": code, "suggestion": customer_code_suggest(like=code)},
            field="code",
        )
    if not is_iso_4217(currency):
        raise BusinessRuleError(
            gettext("%(currency)s is not an ISO 4217 currency code.") % {"currency": currency},
            field="currency",
        )
    customer = Customer(
        code=code,
        name=name.strip(),
        industry=industry.strip(),
        registration_number=registration_number.strip(),
        address=address.strip(),
        currency=currency,
        language=language,
        sales_rep=owner,
        credit_limit=0,
        payment_terms_days=0,
        is_new=True,
        credit_status=Customer.CreditStatus.ACTIVE,
    )
    _full_clean(customer)
    customer._history_user = actor
    customer.save()
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    sales_rep: AbstractBaseUser | None = None,
    **fields: str,
) -> Customer:
    """Change the master data; only finance and managers hand a customer to another rep.

    Code and currency stay as created (the limit is in that currency); credit
    limit, terms and status change only through assessments and holds.
    """
    unknown = set(fields) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise BusinessRuleError(
            gettext("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    ensure_customer_in_scope(actor=actor, customer=customer)
    customer = customer_lock(pk=customer.pk)
    for field, value in fields.items():
        setattr(customer, field, value.strip() if isinstance(value, str) else value)
    if sales_rep is not None and sales_rep.pk != customer.sales_rep_id:
        if not has_role(actor, Role.FINANCE, Role.MANAGER):
            raise BusinessRuleError(
                gettext("Only finance or a manager can hand a customer to another sales rep."),
                field="sales_rep",
            )
        customer.sales_rep = _check_sales_rep(actor=actor, sales_rep=sales_rep)
    _full_clean(customer)
    customer._history_user = actor
    customer.save()
    return customer


def contact_clean(contact: Contact) -> None:
    """The rules for a contact's details, wherever it is edited (the app, the admin): trimmed,
    valid, a finance contact with an email, at least one way to reach the person."""
    for field in ("name", "email", "phone", "im_handle"):
        setattr(contact, field, getattr(contact, field).strip())
    _full_clean(contact, exclude=["customer"])
    if contact.role == Contact.Role.FINANCE and not contact.email:
        raise BusinessRuleError(
            gettext("A finance contact needs an email address: payment reminders go to it."),
            field="email",
        )
    if not (contact.email or contact.phone or contact.im_handle):
        raise BusinessRuleError(
            gettext("Give at least one way to reach the contact: email, phone or IM handle."),
            field="email",
        )


@transaction.atomic
def contact_create(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    name: str,
    role: str,
    email: str = "",
    phone: str = "",
    im_handle: str = "",
) -> Contact:
    """Add a person at the customer; a finance contact must have an email."""
    ensure_customer_in_scope(actor=actor, customer=customer)
    contact = Contact(
        customer=customer, name=name, role=role, email=email, phone=phone, im_handle=im_handle
    )
    contact_clean(contact)
    contact._history_user = actor
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, actor: AbstractBaseUser, contact: Contact, **fields: str) -> Contact:
    """Change a contact's details or role; the same rules as when adding one."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise BusinessRuleError(
            gettext("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    ensure_customer_in_scope(actor=actor, customer=contact.customer)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    old_email = contact.email
    for field, value in fields.items():
        setattr(contact, field, value)
    contact_clean(contact)
    contact_save(contact=contact, old_email=old_email, actor=actor)
    return contact


@transaction.atomic
def contact_save(
    *, contact: Contact, old_email: str | None, actor: AbstractBaseUser | None
) -> Contact:
    """Save a contact whose details were set (by `contact_update`, or the admin's form);
    when its address changed from `old_email` (None: a new contact), the bounce flag goes
    and the apps above hear of it in the same transaction."""
    changed = old_email is not None and contact.email.strip().lower() != old_email.lower()
    if changed:
        contact.email_bounced_at = None  # a new address has not bounced
    contact._history_user = actor
    contact.save()
    if changed:
        for listener in list(_email_change_listeners):
            listener(contact=contact, old_email=old_email, actor=actor)
    return contact


class ContactEmailListener(Protocol):
    def __call__(
        self, *, contact: Contact, old_email: str, actor: AbstractBaseUser | None
    ) -> None: ...


_email_change_listeners: list[ContactEmailListener] = []


def contact_email_change_listener_register(*, listener: ContactEmailListener) -> None:
    """Call the listener, in the change's transaction, when a contact's email changes (the
    apps above, which ask to fix a bounced address, close what the change settles)."""
    if listener not in _email_change_listeners:
        _email_change_listeners.append(listener)


@transaction.atomic
def contact_delete(*, actor: AbstractBaseUser, contact: Contact) -> None:
    """Remove a contact; the history keeps who removed it and what it held."""
    ensure_customer_in_scope(actor=actor, customer=contact.customer)
    contact._history_user = actor
    contact.delete()


@transaction.atomic
def contacts_mark_bounced(*, customer_id: int, email: str, at: datetime) -> list[Contact]:
    """Flag the customer's contacts with this address as bounced (the mail provider said so);
    return those newly flagged."""
    contacts = list(
        Contact.objects.select_for_update()
        .filter(customer_id=customer_id, email__iexact=email.strip())
        .order_by("pk")
    )
    flagged = [contact for contact in contacts if contact.email_bounced_at is None]
    for contact in flagged:
        contact.email_bounced_at = at
        contact.save(update_fields=["email_bounced_at"])
    return flagged
