"""Factories per area; import from the module (tests.factories.customers) in new code."""

from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import (
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

__all__ = [
    "ContactFactory",
    "CustomerFactory",
    "FinanceUserFactory",
    "ManagerFactory",
    "SalesRepFactory",
    "UserFactory",
]
