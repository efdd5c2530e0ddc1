"""seed_demo: customers of every grade with contacts, assessments in every state, a hold."""

import pytest
from django.core.management import call_command

from receivables.models import Contact, CreditAssessment, CreditHoldEvent, Customer

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple:
    return (
        Customer.objects.count(),
        Contact.objects.count(),
        sorted(CreditAssessment.objects.values_list("customer__code", "status", "grade")),
        CreditHoldEvent.objects.count(),
        sorted(Customer.objects.values_list("code", "credit_limit", "payment_terms_days")),
    )


def test_the_demo_covers_every_grade_and_state_and_is_idempotent():
    call_command("seed_demo", "--password", "demo-pass-123")
    first = _snapshot()
    call_command("seed_demo", "--password", "demo-pass-123")

    assert _snapshot() == first
    assessments = CreditAssessment.objects.all()
    assert set(assessments.values_list("grade", flat=True)) == {"A", "B", "C", "D"}
    assert set(assessments.values_list("status", flat=True)) == set(CreditAssessment.Status)
    approved_grades = set(assessments.filter(status="approved").values_list("grade", flat=True))
    assert approved_grades >= {"A", "B", "C"}
    assert Customer.objects.filter(credit_status=Customer.CreditStatus.ON_HOLD).exists()
    assert set(Contact.objects.values_list("role", flat=True)) >= {
        "finance",
        "executive",
        "procurement",
    }
    assert Customer.objects.exclude(contacts__role="finance").exists()
    for assessment in assessments.filter(status="approved"):
        assert assessment.decided_by.username == "finance1"
        assert assessment.requested_by != assessment.decided_by
    for customer in Customer.objects.filter(credit_assessments__status="approved").distinct():
        latest = customer.credit_assessments.filter(status="approved").order_by("-decided_at")[0]
        assert customer.credit_limit == latest.approved_limit
