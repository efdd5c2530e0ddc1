"""seed_demo: the session's seeded demo (tests/demo.py) is what one run on an empty
database leaves; a second run on top of it changes none of what it seeded."""

import io

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from core.roles import Role, user_roles
from dunning.models import CaseEvent, CollectionCase, DunningRun, DunningRunChunk
from receivables.models import (
    Contact,
    CreditAssessment,
    CreditHoldEvent,
    Customer,
    Invoice,
    Payment,
)

pytestmark = pytest.mark.django_db


def _snapshot() -> dict:
    """What the demo of each app seeds, which a second run must leave as it is."""
    return {
        "users": get_user_model().objects.count(),
        "customers": sorted(
            Customer.objects.values_list("code", "credit_limit", "payment_terms_days")
        ),
        "contacts": Contact.objects.count(),
        "assessments": sorted(
            CreditAssessment.objects.values_list("customer__code", "status", "grade")
        ),
        "holds": CreditHoldEvent.objects.count(),
        "contracts": Contract.objects.count(),
        "milestones": PaymentMilestone.objects.count(),
        "deliveries": DeliveryRecord.objects.count(),
        "invoices": Invoice.objects.count(),
        "milestone invoices": Invoice.objects.filter(milestone__isnull=False).count(),
        "payments": Payment.objects.count(),
        "cases": sorted(CollectionCase.objects.values_list("customer__code", "status")),
        "case events": CaseEvent.objects.count(),
        "runs": sorted(DunningRun.objects.values_list("business_date", "repeat_count")),
        "run chunks": DunningRunChunk.objects.count(),
        # and no row of any other table either (history, snapshots, messages, tasks)
        "rows": {model._meta.label: model._base_manager.count() for model in apps.get_models()},
    }


def test_seeding_again_changes_nothing(seeded_demo):
    first = _snapshot()

    # On the day the session seeded it: the demo's dates follow the day it runs, and the
    # suite may cross midnight (Asia/Shanghai's is 16:00 UTC) between the two.
    with time_machine.travel(seeded_demo.seeded_at, tick=True):
        call_command("seed_demo", "--password", seeded_demo.password, stdout=io.StringIO())

    assert _snapshot() == first


def test_seed_demo_sets_roles_and_password_and_prints_them(seeded_demo):
    assert "rep1" in seeded_demo.output
    assert seeded_demo.password in seeded_demo.output
    users = get_user_model().objects
    assert user_roles(users.get(username="rep1")) == {Role.SALES_REP}
    assert user_roles(users.get(username="finance1")) == {Role.FINANCE}
    assert user_roles(users.get(username="manager1")) == {Role.MANAGER}
    assert users.get(username="admin").is_superuser
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="rep1", password=seeded_demo.password) is not None
    assert Customer.objects.filter(sales_rep__username="rep1").exists()
    assert Customer.objects.filter(sales_rep__username="rep2").exists()
