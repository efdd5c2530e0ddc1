"""What every API view shares: scoping, role checks and the business date at the edge."""

from datetime import date

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from api.fields import BIGINT_MAX
from core.roles import Role, has_role
from core.scoping import scope_for_user


def require_roles(request: Request, *roles: Role) -> None:
    """Refuse with 403 a user who sees the object but lacks the role for the action."""
    if not has_role(request.user, *roles):
        raise PermissionDenied


def business_date() -> date:
    return timezone.localdate()


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset over what the user may see: another rep's object is the 404 of a missing one."""

    def base_queryset(self) -> QuerySet:
        """Every row of the resource, before scoping; each viewset names its own."""
        raise NotImplementedError(f"{type(self).__name__} names no base_queryset")

    def get_queryset(self) -> QuerySet:
        return scope_for_user(self.base_queryset(), self.request.user)

    def get_object(self):
        # An id past the database's integer range is missing, not an error.
        if int(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, 0)) > BIGINT_MAX:
            raise Http404
        return super().get_object()

    def scoped(self, queryset: QuerySet) -> QuerySet:
        return scope_for_user(queryset, self.request.user)
