"""Payment milestones: exact shares, editing in draft, triggers and their invoices."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from contracts.models import Contract, PaymentMilestone
from contracts.services._common import (
    contract_lock,
    milestones_lock,
    require_may_draft,
    require_may_record,
    save_with_history,
)
from core.exceptions import BusinessRuleError
from core.money import CENT, money_quantize

HUNDRED = Decimal("100.00")
ZERO = Decimal("0.00")
MAX_OFFSET_DAYS = 3650


@dataclass(frozen=True, kw_only=True)
class MilestoneData:
    """What a user states about one milestone; the sequence is its position."""

    description: str
    percent: Decimal
    trigger: str
    offset_days: int = 0
    fixed_date: date | None = None


def milestone_shares(*, amount: Decimal, percents: Sequence[Decimal]) -> list[Decimal]:
    """Split an amount by percents into cents; the last share takes the rounding remainder.

    Each share but the last is rounded half-up on its own, as a person would on
    paper; the last is whatever is left, so the shares add up to the amount to
    the cent whenever the percents add up to 100.
    """
    if not percents:
        return []
    total = money_quantize(amount)
    shares = [money_quantize(total * percent / HUNDRED) for percent in percents[:-1]]
    if sum(percents, ZERO) == HUNDRED:
        shares.append(total - sum(shares, ZERO))
    else:
        # An incomplete draft: the remainder would hide the missing percent.
        shares.append(money_quantize(total * percents[-1] / HUNDRED))
    return shares


def milestone_amounts(*, contract: Contract) -> dict[int, Decimal]:
    """Map each milestone's pk to its exact share of the contract amount."""
    milestones = sorted(contract.milestones.all(), key=lambda milestone: milestone.sequence)
    shares = milestone_shares(
        amount=contract.amount, percents=[milestone.percent for milestone in milestones]
    )
    return {milestone.pk: share for milestone, share in zip(milestones, shares, strict=True)}


def milestone_data_validate(*, data: MilestoneData, position: int) -> None:
    """Refuse one milestone's data with a message naming its position."""
    if not data.description.strip():
        raise BusinessRuleError(
            _("Milestone %(n)s: enter a description.") % {"n": position}, field="milestones"
        )
    if data.percent is None or not data.percent.is_finite():
        raise BusinessRuleError(
            _("Milestone %(n)s: enter its percent of the contract amount.") % {"n": position},
            field="milestones",
        )
    if data.percent <= 0 or data.percent > HUNDRED:
        raise BusinessRuleError(
            _("Milestone %(n)s: the percent must be more than 0 and at most 100.")
            % {"n": position},
            field="milestones",
        )
    if data.percent != data.percent.quantize(CENT):
        raise BusinessRuleError(
            _("Milestone %(n)s: give the percent with at most two decimal places.")
            % {"n": position},
            field="milestones",
        )
    if data.trigger not in PaymentMilestone.Trigger.values:
        raise BusinessRuleError(
            _("Milestone %(n)s: unknown trigger “%(trigger)s”.")
            % {"n": position, "trigger": data.trigger},
            field="milestones",
        )
    if not 0 <= data.offset_days <= MAX_OFFSET_DAYS:
        raise BusinessRuleError(
            _("Milestone %(n)s: the offset must be between 0 and %(max)s days.")
            % {"n": position, "max": MAX_OFFSET_DAYS},
            field="milestones",
        )
    if data.trigger == PaymentMilestone.Trigger.FIXED_DATE and data.fixed_date is None:
        raise BusinessRuleError(
            _("Milestone %(n)s: a fixed-date milestone needs its date.") % {"n": position},
            field="milestones",
        )
    if data.trigger != PaymentMilestone.Trigger.FIXED_DATE and data.fixed_date is not None:
        raise BusinessRuleError(
            _("Milestone %(n)s: only a fixed-date milestone has a fixed date.") % {"n": position},
            field="milestones",
        )


def milestones_complete_problems(*, amount: Decimal, percents: Sequence[Decimal]) -> list[str]:
    """Say why a contract's milestones are not a complete payment schedule, if they are not."""
    if not percents:
        return [_("Add the payment milestones.")]
    total = sum(percents, ZERO)
    if total != HUNDRED:
        return [
            _("The milestones add up to %(total)s %%; they must add up to exactly 100 %%.")
            % {"total": total}
        ]
    problems = []
    shares = milestone_shares(amount=amount, percents=percents)
    for position, share in enumerate(shares, start=1):
        if share <= 0:
            problems.append(
                _("Milestone %(n)s comes to %(share)s of the contract amount; raise its percent.")
                % {"n": position, "share": share}
            )
    return problems


def milestones_validate(*, milestones: Sequence[MilestoneData], amount: Decimal) -> None:
    """Refuse a milestone schedule unless each row is valid and they add up to 100 %."""
    for position, data in enumerate(milestones, start=1):
        milestone_data_validate(data=data, position=position)
    problems = milestones_complete_problems(
        amount=amount, percents=[data.percent for data in milestones]
    )
    if problems:
        raise BusinessRuleError(problems[0], field="milestones")


def contract_effective_terms_days(*, contract: Contract) -> int:
    """The longest credit the contract grants: its terms or a milestone's offset days."""
    longest_offset = (
        PaymentMilestone.objects.filter(contract=contract).aggregate(longest=Max("offset_days"))[
            "longest"
        ]
        or 0
    )
    return max(contract.credit_terms_days, longest_offset)


def _require_draft(contract: Contract) -> None:
    if contract.status != Contract.Status.DRAFT:
        raise BusinessRuleError(
            _("Milestones can only be changed while the contract is a draft (it is %(status)s).")
            % {"status": contract.get_status_display()}
        )


def milestones_replace(
    *, contract: Contract, milestones: Sequence[MilestoneData], actor: AbstractBaseUser
) -> list[PaymentMilestone]:
    """Make the contract's milestones exactly these, in order; the caller holds the lock.

    Rows are updated in place by sequence, so each milestone's history stays
    readable; rows beyond the new schedule are deleted.
    """
    existing = {milestone.sequence: milestone for milestone in milestones_lock(contract=contract)}
    result = []
    for sequence, data in enumerate(milestones, start=1):
        milestone = existing.pop(sequence, None) or PaymentMilestone(
            contract=contract, sequence=sequence
        )
        changed = milestone.pk is None or any(
            getattr(milestone, field) != getattr(data, field)
            for field in ("description", "percent", "trigger", "offset_days", "fixed_date")
        )
        milestone.description = data.description.strip()
        milestone.percent = data.percent
        milestone.trigger = data.trigger
        milestone.offset_days = data.offset_days
        milestone.fixed_date = data.fixed_date
        if changed:
            save_with_history(milestone, actor=actor, reason="milestone saved")
        result.append(milestone)
    for milestone in existing.values():
        milestone._history_user = actor
        milestone._change_reason = "milestone removed"
        milestone.delete()
    return result


def _effective_terms_cleared(contract: Contract, *, before: int, actor: AbstractBaseUser) -> None:
    """A change of the granted terms voids an earlier approval of longer terms."""
    if contract.terms_approved_by_id is None:
        return
    if contract_effective_terms_days(contract=contract) != before:
        contract.terms_approved_by = None
        contract.terms_approval_reason = ""
        save_with_history(
            contract,
            actor=actor,
            reason="longer-terms approval voided by a change of terms",
            update_fields=["terms_approved_by", "terms_approval_reason"],
        )


@transaction.atomic
def milestone_add(
    *, contract: Contract, data: MilestoneData, actor: AbstractBaseUser
) -> PaymentMilestone:
    """Append a milestone to a draft; the schedule is checked for 100 % on submission."""
    contract = contract_lock(contract=contract)
    require_may_draft(user=actor, customer=contract.customer)
    _require_draft(contract)
    milestones = milestones_lock(contract=contract)
    sequence = (
        PaymentMilestone.objects.filter(contract=contract).aggregate(last=Max("sequence"))["last"]
        or 0
    ) + 1
    milestone_data_validate(data=data, position=sequence)
    total = sum((milestone.percent for milestone in milestones), ZERO) + data.percent
    if total > HUNDRED:
        raise BusinessRuleError(
            _("With this milestone the schedule would add up to %(total)s %%, over 100 %%.")
            % {"total": total},
            field="percent",
        )
    terms_before = contract_effective_terms_days(contract=contract)
    milestone = PaymentMilestone(
        contract=contract,
        sequence=sequence,
        description=data.description.strip(),
        percent=data.percent,
        trigger=data.trigger,
        offset_days=data.offset_days,
        fixed_date=data.fixed_date,
    )
    save_with_history(milestone, actor=actor, reason="milestone added")
    _effective_terms_cleared(contract, before=terms_before, actor=actor)
    return milestone


@transaction.atomic
def milestone_update(
    *, milestone: PaymentMilestone, data: MilestoneData, actor: AbstractBaseUser
) -> PaymentMilestone:
    """Change one milestone of a draft; the schedule may not go over 100 %."""
    contract = contract_lock(contract=milestone.contract)
    require_may_draft(user=actor, customer=contract.customer)
    _require_draft(contract)
    milestones = milestones_lock(contract=contract)
    milestone = next(row for row in milestones if row.pk == milestone.pk)
    milestone_data_validate(data=data, position=milestone.sequence)
    total = sum((row.percent for row in milestones if row.pk != milestone.pk), ZERO) + data.percent
    if total > HUNDRED:
        raise BusinessRuleError(
            _("With this change the schedule would add up to %(total)s %%, over 100 %%.")
            % {"total": total},
            field="percent",
        )
    terms_before = contract_effective_terms_days(contract=contract)
    milestone.description = data.description.strip()
    milestone.percent = data.percent
    milestone.trigger = data.trigger
    milestone.offset_days = data.offset_days
    milestone.fixed_date = data.fixed_date
    save_with_history(milestone, actor=actor, reason="milestone changed")
    _effective_terms_cleared(contract, before=terms_before, actor=actor)
    return milestone


@transaction.atomic
def milestone_delete(*, milestone: PaymentMilestone, actor: AbstractBaseUser) -> None:
    """Remove a milestone from a draft and close the gap in the sequence."""
    contract = contract_lock(contract=milestone.contract)
    require_may_draft(user=actor, customer=contract.customer)
    _require_draft(contract)
    milestones = milestones_lock(contract=contract)
    target = next(row for row in milestones if row.pk == milestone.pk)
    target._history_user = actor
    target._change_reason = "milestone removed"
    target.delete()
    # Renumber upwards one by one: each new sequence is free when it is taken.
    for row in milestones:
        if row.sequence > target.sequence:
            row.sequence -= 1
            save_with_history(row, actor=actor, reason="milestone renumbered")


def _milestone_trigger(
    milestone: PaymentMilestone, *, trigger_date: date, actor: AbstractBaseUser, reason: str
) -> None:
    milestone.trigger_date = trigger_date
    milestone.due_date = trigger_date + timedelta(days=milestone.offset_days)
    save_with_history(
        milestone, actor=actor, reason=reason, update_fields=["trigger_date", "due_date"]
    )


def milestones_trigger_on_activation(
    *, contract: Contract, actor: AbstractBaseUser
) -> list[PaymentMilestone]:
    """Date the signing milestones by the signing date and fixed-date ones by their date."""
    triggered = []
    for milestone in milestones_lock(contract=contract):
        if milestone.trigger_date is not None:
            continue
        if milestone.trigger == PaymentMilestone.Trigger.SIGNING:
            trigger_date = contract.signed_date
        elif milestone.trigger == PaymentMilestone.Trigger.FIXED_DATE:
            trigger_date = milestone.fixed_date
        else:
            continue
        _milestone_trigger(
            milestone, trigger_date=trigger_date, actor=actor, reason="triggered on activation"
        )
        triggered.append(milestone)
    return triggered


def milestones_trigger_for_event(
    *, contract: Contract, trigger: str, event_date: date, actor: AbstractBaseUser
) -> list[PaymentMilestone]:
    """Date every not-yet-triggered milestone of the contract waiting for this event."""
    triggered = []
    for milestone in milestones_lock(contract=contract):
        if milestone.trigger == trigger and milestone.trigger_date is None:
            _milestone_trigger(
                milestone,
                trigger_date=event_date,
                actor=actor,
                reason=f"triggered by {trigger} on {event_date.isoformat()}",
            )
            triggered.append(milestone)
    return triggered


@transaction.atomic
def milestone_trigger_record(
    *, milestone: PaymentMilestone, event_date: date, actor: AbstractBaseUser, as_of: date
) -> PaymentMilestone:
    """Record the end of the warranty for a milestone that waits for it.

    Delivery and acceptance milestones are triggered by a delivery record with
    its proof; signing and fixed-date ones on activation.
    """
    contract = contract_lock(contract=milestone.contract)
    require_may_record(user=actor, customer=contract.customer)
    if contract.status != Contract.Status.ACTIVE:
        raise BusinessRuleError(_("Events are recorded only on an active contract."))
    milestone = next(row for row in milestones_lock(contract=contract) if row.pk == milestone.pk)
    if milestone.trigger != PaymentMilestone.Trigger.WARRANTY_END:
        raise BusinessRuleError(
            _(
                "Only a milestone due at the end of the warranty is triggered by hand; "
                "record a delivery or acceptance for the others."
            )
        )
    if milestone.trigger_date is not None:
        raise BusinessRuleError(
            _("This milestone was already triggered on %(date)s.")
            % {"date": milestone.trigger_date.isoformat()}
        )
    if event_date > as_of:
        raise BusinessRuleError(
            _("The warranty end cannot be recorded before it happens."), field="event_date"
        )
    _milestone_trigger(
        milestone,
        trigger_date=event_date,
        actor=actor,
        reason=f"warranty end recorded for {event_date.isoformat()}",
    )
    return milestone
