"""Factories that build the smallest valid objects; tests add what they need."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role
from receivables.models import Contact, Customer


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@huikuan.example")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _join_role_group(self, create, extracted)


def _join_role_group(user, create: bool, role: Role | None) -> None:
    if create and role:
        user.groups.add(Group.objects.get(name=Role(role)))


def _role_factory(default: Role) -> factory.PostGeneration:
    return factory.PostGeneration(
        lambda user, create, extracted, **kwargs: _join_role_group(
            user, create, extracted or default
        )
    )


class SalesRepFactory(UserFactory):
    role = _role_factory(Role.SALES_REP)


class FinanceUserFactory(UserFactory):
    role = _role_factory(Role.FINANCE)


class ManagerFactory(UserFactory):
    role = _role_factory(Role.MANAGER)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C-{n:05d}")
    name = factory.Faker("company")
    currency = "CNY"
    sales_rep = factory.SubFactory(SalesRepFactory)
    credit_limit = Decimal("100000.00")
    payment_terms_days = 30


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    role = Contact.Role.FINANCE
    email = factory.Faker("email")
