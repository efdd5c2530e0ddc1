"""Delivery and acceptance records with their proof, which trigger milestones."""

from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services._common import contract_lock, require_may_record, save_with_history
from contracts.services.milestones import milestones_trigger_for_event
from core.exceptions import BusinessRuleError

DEFAULT_PROOF_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ProofKind:
    content_type: str
    extension: str


# Decided by the file's first bytes, never by the name or the browser's header.
PROOF_SIGNATURES: tuple[tuple[bytes, ProofKind], ...] = (
    (b"%PDF-", ProofKind("application/pdf", ".pdf")),
    (b"\x89PNG\r\n\x1a\n", ProofKind("image/png", ".png")),
    (b"\xff\xd8\xff", ProofKind("image/jpeg", ".jpg")),
)
TRIGGER_FOR_KIND = {
    DeliveryRecord.Kind.DELIVERY: PaymentMilestone.Trigger.DELIVERY,
    DeliveryRecord.Kind.ACCEPTANCE: PaymentMilestone.Trigger.ACCEPTANCE,
}


def proof_max_bytes() -> int:
    return getattr(settings, "CONTRACT_PROOF_MAX_BYTES", DEFAULT_PROOF_MAX_BYTES)


def proof_validate(*, file: File) -> ProofKind:
    """Accept a non-empty PDF, PNG or JPEG under the size limit, judged by its content."""
    limit = proof_max_bytes()
    if file is None:
        raise BusinessRuleError(_("Attach the signed proof (PDF or image)."), field="proof")
    size = file.size
    if not size:
        raise BusinessRuleError(_("The proof file is empty."), field="proof")
    if size > limit:
        raise BusinessRuleError(
            _("The proof file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{size / 1024 / 1024:.1f}", "limit": f"{limit / 1024 / 1024:g}"},
            field="proof",
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    for signature, kind in PROOF_SIGNATURES:
        if head.startswith(signature):
            return kind
    raise BusinessRuleError(
        _("The proof must be a PDF, PNG or JPEG file; this file is none of them."),
        field="proof",
    )


def _original_name(file: File) -> str:
    name = PurePath((file.name or "").replace("\\", "/")).name.strip()
    max_length = DeliveryRecord._meta.get_field("proof_original_name").max_length
    if len(name) > max_length:
        suffix = PurePath(name).suffix[:10]
        name = name[: max_length - len(suffix)] + suffix
    return name


def delivery_record_create(
    *,
    contract: Contract,
    kind: str,
    occurred_on: date,
    signer_name: str,
    proof: File,
    actor: AbstractBaseUser,
    as_of: date,
    notes: str = "",
) -> tuple[DeliveryRecord, list[PaymentMilestone]]:
    """Record a delivery or acceptance of an active contract with its signed proof.

    Every milestone still waiting for that event is triggered: its trigger
    date is the event date and it falls due its offset days later. Returns
    the record and the milestones it triggered.
    """
    require_may_record(user=actor, customer=contract.customer)
    if kind not in TRIGGER_FOR_KIND:
        raise BusinessRuleError(_("Choose delivery or acceptance."), field="kind")
    signer_name = (signer_name or "").strip()
    if not signer_name:
        raise BusinessRuleError(_("Name the person who signed the proof."), field="signer_name")
    if len(signer_name) > DeliveryRecord._meta.get_field("signer_name").max_length:
        raise BusinessRuleError(_("The signer's name is too long."), field="signer_name")
    if occurred_on is None:
        raise BusinessRuleError(_("Enter the date."), field="occurred_on")
    if occurred_on > as_of:
        raise BusinessRuleError(
            _("A delivery or acceptance cannot be recorded before it happens."),
            field="occurred_on",
        )
    proof_kind = proof_validate(file=proof)
    original_name = _original_name(proof)
    stored = None
    try:
        with transaction.atomic():
            contract = contract_lock(contract=contract)
            if contract.status != Contract.Status.ACTIVE:
                raise BusinessRuleError(
                    _("Deliveries are recorded on active contracts; this one is %(status)s.")
                    % {"status": contract.get_status_display()}
                )
            record = DeliveryRecord(
                contract=contract,
                kind=kind,
                occurred_on=occurred_on,
                signer_name=signer_name,
                proof_original_name=original_name,
                proof_content_type=proof_kind.content_type,
                notes=(notes or "").strip(),
                recorded_by=actor,
            )
            # The stored name is random (upload_to) with the suffix of the real type.
            record.proof.save(f"proof{proof_kind.extension}", proof, save=False)
            stored = record.proof.name
            save_with_history(record, actor=actor, reason=f"{kind} recorded")
            triggered = milestones_trigger_for_event(
                contract=contract,
                trigger=TRIGGER_FOR_KIND[kind],
                event_date=occurred_on,
                actor=actor,
            )
    except Exception:
        if stored:
            # The row was rolled back: do not keep its file.
            record.proof.storage.delete(stored)
        raise
    return record, triggered
