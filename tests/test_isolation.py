"""Every test starts from the database `migrate` leaves, whatever ran before it: the rows
the data migrations wrote are there, and nothing an earlier test wrote is."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from dunning.models import DunningPolicy
from receivables.models import CreditGrade, CreditPolicy, Customer


def _assert_migrated_and_empty() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"sales_rep", "finance", "manager"}
    assert set(CreditGrade.objects.values_list("grade", flat=True)) >= {"A", "B", "C", "D"}
    assert CreditPolicy.objects.exists()
    assert DunningPolicy.objects.filter(is_active=True).count() == 1
    assert Permission.objects.filter(codename="view_customer").exists()
    assert ContentType.objects.get_for_model(Customer).model_class() is Customer
    assert not Customer.objects.exists()
    assert not CreditPolicy.history.exists()  # migrations write no history


@pytest.mark.django_db
def test_a_test_in_a_transaction_starts_from_the_migrated_database():
    _assert_migrated_and_empty()


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_starts_from_the_migrated_database():
    _assert_migrated_and_empty()
