"""The demo book shows the product's range: a customer at every rung of the ladder, a
promise kept and one broken, an open dispute and an approved instalment plan."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contracts.models import SupplementaryAgreement
from dashboards.selectors.common import DashboardFilters
from dashboards.selectors.kpis import ladder_distribution
from dunning.models import Dispute, PromiseToPay
from dunning.models.policy import LevelCode

pytestmark = pytest.mark.django_db


def test_the_demo_puts_a_customer_on_every_rung(seeded_demo):
    today = timezone.localdate()
    manager = get_user_model().objects.get(username="manager1")

    rows = {
        row.level: row.customers
        for row in ladder_distribution(
            user=manager, filters=DashboardFilters(as_of=today, currency="CNY", today=today)
        )
    }

    for level in (
        LevelCode.REMINDER,
        LevelCode.DEMAND_LETTER,
        LevelCode.EXECUTIVE,
        LevelCode.LEGAL,
    ):
        assert rows[level] >= 1, rows


def test_the_demo_tells_a_promise_kept_and_one_broken_a_dispute_and_a_plan(seeded_demo):
    assert PromiseToPay.objects.filter(status=PromiseToPay.Status.KEPT).exists()
    assert PromiseToPay.objects.filter(status=PromiseToPay.Status.BROKEN).exists()
    assert Dispute.objects.filter(status=Dispute.Status.OPEN).exists()
    assert SupplementaryAgreement.objects.filter(
        status=SupplementaryAgreement.Status.APPROVED
    ).exists()
