import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from contracts.models import DeliveryRecord
from contracts.services import delivery_record_create, proof_validate
from core.exceptions import BusinessRuleError
from tests.contracts.conftest import TODAY
from tests.factories.contracts import JPEG_BYTES, PDF_BYTES, PNG_BYTES, pdf_upload
from tests.factories.users import ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

DELIVERED = date(2026, 3, 5)


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [
        (PDF_BYTES, "application/pdf", ".pdf"),
        (PNG_BYTES, "image/png", ".png"),
        (JPEG_BYTES, "image/jpeg", ".jpg"),
    ],
)
def test_proofs_are_recognised_by_their_content(content, content_type, extension):
    # The browser claims something else: the bytes decide.
    upload = SimpleUploadedFile("scan.bin", content, content_type="text/plain")

    kind = proof_validate(file=upload)

    assert kind.content_type == content_type
    assert kind.extension == extension


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", b"<html><script>alert(1)</script></html>", "PDF, PNG or JPEG"),
        ("macro.pdf", b"PK\x03\x04 a zip or office file", "PDF, PNG or JPEG"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_other_files_are_refused_whatever_they_claim(name, content, message):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")

    with pytest.raises(BusinessRuleError, match=message) as refused:
        proof_validate(file=upload)

    assert refused.value.field == "proof"


def test_proofs_over_the_size_limit_are_refused(settings):
    settings.CONTRACT_PROOF_MAX_BYTES = 1024
    upload = pdf_upload(content=PDF_BYTES + b"0" * 1024)

    with pytest.raises(BusinessRuleError, match="limit"):
        proof_validate(file=upload)


def test_delivery_is_recorded_with_its_proof_and_triggers_delivery_milestones(
    active, finance, settings
):
    record, triggered = delivery_record_create(
        contract=active,
        kind=DeliveryRecord.Kind.DELIVERY,
        occurred_on=DELIVERED,
        signer_name=" Zhao Lei ",
        proof=pdf_upload("送货单 2026-03-05.PDF"),
        actor=finance,
        as_of=TODAY,
        notes="Pallets 1-4",
    )

    record.refresh_from_db()
    assert record.signer_name == "Zhao Lei"
    assert record.proof_original_name == "送货单 2026-03-05.PDF"
    assert record.proof_content_type == "application/pdf"
    assert record.recorded_by == finance
    # A random, non-guessable name with the suffix of the real type.
    assert re.fullmatch(r"proofs/[0-9a-f]{32}\.pdf", record.proof.name)
    assert record.proof.read() == PDF_BYTES
    assert [milestone.sequence for milestone in triggered] == [2]
    delivery = active.milestones.get(sequence=2)
    assert delivery.trigger_date == DELIVERED
    assert delivery.due_date == DELIVERED + timedelta(days=30)
    acceptance = active.milestones.get(sequence=3)
    assert acceptance.trigger_date is None
    assert record.history.first().history_user == finance


def test_acceptance_triggers_acceptance_milestones(active, rep):
    _, triggered = delivery_record_create(
        contract=active,
        kind=DeliveryRecord.Kind.ACCEPTANCE,
        occurred_on=DELIVERED,
        signer_name="Qian Hua",
        proof=SimpleUploadedFile("acceptance.png", PNG_BYTES, content_type="image/png"),
        actor=rep,
        as_of=TODAY,
    )

    assert [milestone.sequence for milestone in triggered] == [3]
    assert active.milestones.get(sequence=3).due_date == DELIVERED + timedelta(days=15)
    assert active.milestones.get(sequence=2).due_date is None


def test_a_second_delivery_does_not_move_triggered_milestones(active, finance):
    for day in (DELIVERED, DELIVERED + timedelta(days=2)):
        delivery_record_create(
            contract=active,
            kind=DeliveryRecord.Kind.DELIVERY,
            occurred_on=day,
            signer_name="Zhao Lei",
            proof=pdf_upload(),
            actor=finance,
            as_of=TODAY,
        )

    assert active.milestones.get(sequence=2).trigger_date == DELIVERED
    assert active.delivery_records.count() == 2


@pytest.mark.parametrize("fixture", ["draft", "in_review", "approved"])
def test_deliveries_are_recorded_only_on_active_contracts(request, fixture, finance, settings):
    contract = request.getfixturevalue(fixture)

    with pytest.raises(BusinessRuleError, match="active contracts"):
        delivery_record_create(
            contract=contract,
            kind=DeliveryRecord.Kind.DELIVERY,
            occurred_on=DELIVERED,
            signer_name="Zhao Lei",
            proof=pdf_upload(),
            actor=finance,
            as_of=TODAY,
        )

    assert not DeliveryRecord.objects.exists()
    assert _stored_files(settings) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_on": TODAY + timedelta(days=1)}, "occurred_on"),
        ({"signer_name": "  "}, "signer_name"),
        ({"kind": "shipment"}, "kind"),
        (
            {"proof": SimpleUploadedFile("x.pdf", b"GIF89a", content_type="application/pdf")},
            "proof",
        ),
    ],
)
def test_bad_delivery_input_writes_nothing(active, finance, settings, overrides, field):
    values = {
        "kind": DeliveryRecord.Kind.DELIVERY,
        "occurred_on": DELIVERED,
        "signer_name": "Zhao Lei",
        "proof": pdf_upload(),
    }
    values.update(overrides)

    with pytest.raises(BusinessRuleError) as refused:
        delivery_record_create(contract=active, actor=finance, as_of=TODAY, **values)

    assert refused.value.field == field
    assert not DeliveryRecord.objects.exists()
    assert active.milestones.get(sequence=2).trigger_date is None
    assert _stored_files(settings) == []


@pytest.mark.parametrize("user_factory", [SalesRepFactory, ManagerFactory])
def test_only_finance_or_the_owning_rep_records_deliveries(active, user_factory):
    with pytest.raises(PermissionDenied):
        delivery_record_create(
            contract=active,
            kind=DeliveryRecord.Kind.DELIVERY,
            occurred_on=DELIVERED,
            signer_name="Zhao Lei",
            proof=pdf_upload(),
            actor=user_factory(),
            as_of=TODAY,
        )


def test_a_failed_transaction_leaves_no_orphan_file(active, finance, settings, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("contracts.services.deliveries.milestones_trigger_for_event", explode)

    with pytest.raises(RuntimeError):
        delivery_record_create(
            contract=active,
            kind=DeliveryRecord.Kind.DELIVERY,
            occurred_on=DELIVERED,
            signer_name="Zhao Lei",
            proof=pdf_upload(),
            actor=finance,
            as_of=TODAY,
        )

    assert not DeliveryRecord.objects.exists()
    assert _stored_files(settings) == []
