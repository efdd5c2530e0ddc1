"""Factories that build the smallest valid objects; tests add what they need."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role


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
