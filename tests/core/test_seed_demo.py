import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from core.roles import Role, user_roles
from receivables.models import Contact, Customer

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return (get_user_model().objects.count(), Customer.objects.count(), Contact.objects.count())


def test_seed_demo_is_idempotent_and_sets_roles_and_password(capsys):
    call_command("seed_demo", "--password", "s3cret-demo")
    first = _counts()
    call_command("seed_demo", "--password", "s3cret-demo")

    assert _counts() == first
    output = capsys.readouterr().out
    assert "rep1" in output
    assert "s3cret-demo" in output
    users = get_user_model().objects
    assert user_roles(users.get(username="rep1")) == {Role.SALES_REP}
    assert user_roles(users.get(username="finance1")) == {Role.FINANCE}
    assert user_roles(users.get(username="manager1")) == {Role.MANAGER}
    assert users.get(username="admin").is_superuser
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="rep1", password="s3cret-demo") is not None
    assert Customer.objects.filter(sales_rep__username="rep1").exists()
    assert Customer.objects.filter(sales_rep__username="rep2").exists()
