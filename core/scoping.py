"""One place that decides which rows a user may see.

Every model a user can reach declares `scope_owner_path`, the lookup from the
model to the owning sales rep (`"sales_rep"` on a customer,
`"customer__sales_rep"` on an invoice). Finance, managers and admins see all;
a sales rep sees the rows they own; anyone else sees nothing. Views, exports,
downloads and API calls all go through `scope_for_user`, so an object outside
the user's scope answers the same 404 as a missing one.
"""

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from core.roles import Role, has_role

ModelT = TypeVar("ModelT", bound=Model)


def sees_all_customers(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, Role.FINANCE, Role.MANAGER)


def scope_for_user(
    queryset: QuerySet[ModelT], user: AbstractBaseUser | AnonymousUser
) -> QuerySet[ModelT]:
    """Restrict the queryset to the rows the user may see."""
    if sees_all_customers(user):
        return queryset
    if has_role(user, Role.SALES_REP):
        owner_path = queryset.model.scope_owner_path
        return queryset.filter(**{owner_path: user})
    return queryset.none()


def get_in_scope_or_404(
    queryset: QuerySet[ModelT], user: AbstractBaseUser | AnonymousUser, **lookup: object
) -> ModelT:
    """Fetch one object the user may see, or raise the 404 a missing one raises."""
    return get_object_or_404(scope_for_user(queryset, user), **lookup)


class ScopedQuerysetMixin:
    """For class-based views: `get_queryset` keeps only what the user may see."""

    def get_queryset(self) -> QuerySet:
        return scope_for_user(super().get_queryset(), self.request.user)
