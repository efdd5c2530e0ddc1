"""Demo users for `seed_demo`; each app adds its own data in `<app>/demo.py`."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from core.roles import Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    first_name: str
    last_name: str


DEMO_USERS = (
    DemoUser("rep1", Role.SALES_REP, "Li", "Wei"),
    DemoUser("rep2", Role.SALES_REP, "Wang", "Fang"),
    DemoUser("finance1", Role.FINANCE, "Zhang", "Min"),
    DemoUser("manager1", Role.MANAGER, "Chen", "Jie"),
    DemoUser("admin", Role.ADMIN, "Admin", ""),
)


@transaction.atomic
def demo_users_seed(*, password: str) -> dict[str, AbstractUser]:
    """Create or update the demo users with the given password and their roles."""
    user_model = get_user_model()
    users = {}
    for demo in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=demo.username)
        user.first_name = demo.first_name
        user.last_name = demo.last_name
        user.email = f"{demo.username}@huikuan.example"
        user.is_superuser = user.is_staff = demo.role == Role.ADMIN
        if demo.role in (Role.FINANCE, Role.MANAGER):
            user.is_staff = True
        user.set_password(password)
        user.save()
        if demo.role != Role.ADMIN:
            user.groups.set([Group.objects.get_or_create(name=demo.role)[0]])
        users[demo.username] = user
    return users
