"""The roles of DESIGN.md, held as auth groups (created by a migration)."""

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(StrEnum):
    SALES_REP = "sales_rep"
    FINANCE = "finance"
    MANAGER = "manager"
    ADMIN = "admin"


GROUP_ROLES = (Role.SALES_REP, Role.FINANCE, Role.MANAGER)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[Role]:
    """Return the user's roles, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_huikuan_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in GROUP_ROLES if role in names)
        if user.is_superuser:
            cached |= {Role.ADMIN}
        user._huikuan_roles = cached
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: Role) -> bool:
    """Whether the user holds any of the roles; admins hold every role."""
    held = user_roles(user)
    return Role.ADMIN in held or any(role in held for role in roles)
