"""seed_demo's contracts (seeding twice is checked in tests/core/test_seed_demo.py)."""

import pytest
from pypdf import PdfReader

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from receivables.models import Invoice

pytestmark = pytest.mark.django_db


def test_seed_demo_plays_contracts_in_every_state(seeded_demo):
    assert Invoice.objects.filter(milestone__isnull=False).exists()
    assert set(Contract.objects.values_list("status", flat=True)) == set(Contract.Status.values)
    assert Contract.objects.filter(status="draft").exclude(review_comment="").exists()
    milestones = PaymentMilestone.objects.filter(contract__status="active")
    assert milestones.filter(due_date__isnull=True).exists()
    assert milestones.filter(due_date__isnull=False, invoice__isnull=True).exists()
    assert milestones.filter(invoice__isnull=False).exists()
    assert Contract.objects.exclude(terms_approved_by=None).exists()


def test_demo_proofs_are_readable_pdfs(seeded_demo):
    record = DeliveryRecord.objects.filter(kind="delivery").first()
    with record.proof.open("rb") as handle:
        text = PdfReader(handle).pages[0].extract_text()

    assert record.proof_content_type == "application/pdf"
    assert record.contract.number in text
    assert record.signer_name in text
