"""What every collections view shares: role checks and the business date at the edge."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from core.roles import Role, has_role
from dunning.models import CollectionCase
from receivables.models import Customer


def require_roles(request: HttpRequest, *roles: Role) -> None:
    """Refuse with 403 a user who sees the object but lacks the role for the action."""
    if not has_role(request.user, *roles):
        raise PermissionDenied


def business_date() -> date:
    """Today's business date, taken once at the edge and passed down as `as_of`."""
    return timezone.localdate()


def redirect_to_customer_case(customer: Customer) -> HttpResponse:
    """Back to the customer's open case, or to the customer when none is open."""
    case = CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).first()
    if case is not None:
        return redirect("dunning:case_detail", pk=case.pk)
    return redirect(customer.get_absolute_url())
