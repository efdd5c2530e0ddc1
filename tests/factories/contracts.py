"""Contracts, milestones and delivery records; move them through the workflow with services."""

from datetime import date
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services import MilestoneData
from tests.factories.customers import CustomerFactory

# The smallest file that starts like a PDF and opens in a viewer.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32


class ContractFactory(factory.django.DjangoModelFactory):
    """A draft whose payment clauses are complete; add milestones to make it submittable."""

    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"HT-{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    title = "Supply of equipment"
    amount = Decimal("100000.00")
    currency = factory.LazyAttribute(lambda contract: contract.customer.currency)
    payment_type = Contract.PaymentType.INSTALMENTS
    credit_terms_days = 30
    payee_account_name = "Huikuan Demo Trading Co., Ltd."
    payee_bank_name = "Bank of China, Shanghai Pudong Branch"
    payee_bank_account = "4567 8901 2345 6789"
    late_fee_rate_percent = Decimal("0.05")
    dispute_resolution_clause = "Shanghai International Arbitration Centre."
    status = Contract.Status.DRAFT


class PaymentMilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMilestone

    contract = factory.SubFactory(ContractFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    description = factory.LazyAttribute(lambda milestone: f"Payment {milestone.sequence}")
    percent = Decimal("100.00")
    trigger = PaymentMilestone.Trigger.SIGNING
    offset_days = 0


class DeliveryRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryRecord

    contract = factory.SubFactory(ContractFactory, status=Contract.Status.ACTIVE)
    kind = DeliveryRecord.Kind.DELIVERY
    occurred_on = date(2026, 3, 1)
    signer_name = "Zhao Lei"
    proof = factory.django.FileField(data=PDF_BYTES, filename="delivery-note.pdf")
    proof_original_name = "delivery-note.pdf"
    proof_content_type = "application/pdf"


def milestones_30_60_10(*, delivery_offset: int = 30) -> list[MilestoneData]:
    """The issue's schedule: 30 % on signing, 60 % after delivery, 10 % after acceptance."""
    return [
        MilestoneData(
            description="Advance payment",
            percent=Decimal("30"),
            trigger=PaymentMilestone.Trigger.SIGNING,
            offset_days=10,
        ),
        MilestoneData(
            description="On delivery",
            percent=Decimal("60"),
            trigger=PaymentMilestone.Trigger.DELIVERY,
            offset_days=delivery_offset,
        ),
        MilestoneData(
            description="After acceptance",
            percent=Decimal("10"),
            trigger=PaymentMilestone.Trigger.ACCEPTANCE,
            offset_days=15,
        ),
    ]


def pdf_upload(name: str = "delivery-note.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    """An uploaded file as the browser sends it (the header may lie; the content decides)."""
    return SimpleUploadedFile(name, content, content_type="application/pdf")
