import pytest

from core.roles import Role, has_role, user_roles
from core.scoping import scope_for_user
from receivables.models import Contact, Customer
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    FinanceUserFactory,
    SalesRepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_role_groups_exist_after_migration():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {
        "sales_rep",
        "finance",
        "manager",
    }


def test_superuser_holds_every_role():
    admin = UserFactory(is_superuser=True)

    assert Role.ADMIN in user_roles(admin)
    assert has_role(admin, Role.FINANCE)


def test_scope_follows_the_owner_path_of_each_model():
    rep = SalesRepFactory()
    own_contact = ContactFactory(customer__sales_rep=rep)
    ContactFactory()

    assert list(scope_for_user(Contact.objects.all(), rep)) == [own_contact]
    assert scope_for_user(Contact.objects.all(), FinanceUserFactory()).count() == 2


def test_no_role_means_no_rows():
    CustomerFactory()

    assert not scope_for_user(Customer.objects.all(), UserFactory()).exists()
