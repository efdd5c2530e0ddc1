from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.scoping import scope_for_user
from receivables.models import Customer


def customer_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """List the customers the user may see, with their owning rep."""
    return scope_for_user(Customer.objects.select_related("sales_rep"), user)


def customer_list_for_home(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """The first customers on the user's home page."""
    return customer_list(user=user)[:20]
