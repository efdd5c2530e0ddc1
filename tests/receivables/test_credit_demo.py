"""seed_demo: customers of every grade with contacts, assessments in every state, a hold
(seeding twice is checked in tests/core/test_seed_demo.py)."""

import pytest

from receivables.models import Contact, CreditAssessment, CreditHoldEvent, Customer

pytestmark = pytest.mark.django_db


def test_the_demo_covers_every_grade_and_state(seeded_demo):
    assert CreditHoldEvent.objects.exists()
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
