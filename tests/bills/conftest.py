from datetime import UTC, date, datetime

import pytest
import time_machine

from tests.factories.dunning import dunning_customer
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory


def at(day: date):
    """The clock at 10:00 in Shanghai on a business date."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def other_rep():
    return SalesRepFactory()


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def customer(rep):
    return dunning_customer(sales_rep=rep, name="Northwind Trading")
