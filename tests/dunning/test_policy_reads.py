"""What is read from the active policy, each in one place: tolerance, letter deadline, pre-due."""

from datetime import date
from decimal import Decimal

import pytest

from dashboards.selectors.worklist import task_pre_due
from dunning.models import DunningStep, LevelCode
from dunning.policy import (
    letter_deadline,
    policy_active,
    policy_tolerance,
    policy_tolerance_expression,
    pre_due_q,
)
from dunning.services.run import run_dunning
from receivables.models import Invoice
from tests.factories.dunning import (
    active_policy,
    due_invoice,
    dunning_customer,
    ensure_default_policy,
)
from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db

DUE = date(2026, 10, 12)  # a Monday; 3 CN working days before is 2026-10-08


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


def _tolerance_in_sql() -> Decimal:
    invoice = due_invoice(customer=dunning_customer(), due=DUE)
    return (
        Invoice.objects.filter(pk=invoice.pk)
        .annotate(tolerance=policy_tolerance_expression())
        .values_list("tolerance", flat=True)
        .get()
    )


def test_on_its_due_date_an_item_is_due_so_neither_the_run_nor_the_worklist_pre_dues_it():
    # Given an invoice due on DUE and its rep
    rep = SalesRepFactory()
    invoice = due_invoice(customer=dunning_customer(sales_rep=rep), due=DUE)

    # Then the day before, it is in the pre-due window of both
    day_before = date(2026, 10, 11)
    assert list(task_pre_due(user=rep, as_of=day_before)) == [invoice]
    assert Invoice.objects.filter(pre_due_q(as_of=day_before), pk=invoice.pk).exists()
    # and on the due date itself, in neither: the run sends no pre-due reminder
    assert list(task_pre_due(user=rep, as_of=DUE)) == []
    assert not Invoice.objects.filter(pre_due_q(as_of=DUE), pk=invoice.pk).exists()
    run_dunning(as_of=DUE)
    assert not DunningStep.objects.filter(invoice=invoice).exists()
    # while a first run the day before sends it
    run_dunning(as_of=day_before)
    assert set(DunningStep.objects.filter(invoice=invoice).values_list("level", flat=True)) == {
        LevelCode.PRE_DUE
    }


def test_the_letter_deadline_and_the_tolerance_follow_the_active_policy():
    policy = active_policy()
    policy.letter_deadline_days = 10
    policy.tolerance = Decimal("5.00")
    policy.save()

    assert letter_deadline(letter_date=date(2026, 3, 2)) == date(2026, 3, 12)
    assert letter_deadline(letter_date=date(2026, 3, 2), days=7) == date(2026, 3, 9)
    assert policy_tolerance() == Decimal("5.00")
    assert _tolerance_in_sql() == Decimal("5.00")


def test_without_an_active_policy_the_defaults_apply():
    policy = policy_active()
    policy.is_active = False
    policy.save()

    assert policy_active() is None
    assert policy_tolerance() == Decimal("1.00")
    assert letter_deadline(letter_date=date(2026, 3, 2)) == date(2026, 3, 9)
    assert _tolerance_in_sql() == Decimal("1.00")
