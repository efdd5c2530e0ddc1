"""Writes for credit: the assessment workflow, the credit check, holds.

Workflow of a `CreditAssessment`: `draft → submitted → approved | rejected`.
A sales rep (or finance, or a manager) drafts and submits for a customer in
their scope; finance approves or rejects it with a comment. The approver is
never the requester; approval may lower the requested limit and terms, never
raise them, and may exceed the grade's recommendation only with a written
reason, as may a new customer's cap (`CreditPolicy`), by finance. Approval
sets the customer's limit and terms in the same transaction.

Locks are always taken customer first, then assessment, so that two
decisions on the same customer queue up instead of deadlocking.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.domain_events import DomainEvent, EventType, domain_events_announce
from core.exceptions import BusinessRuleError
from core.money import money_display, money_parse, money_quantize
from core.roles import Role, has_role
from receivables.models import CreditAssessment, CreditHoldEvent, CreditOverride, Customer
from receivables.models.credit import (
    CreditFactor,
    CreditSource,
    justification_field,
    score_field,
    source_field,
)
from receivables.selectors.credit import (
    credit_policy_get,
    credit_recommendation,
    customer_exposure,
)
from receivables.selectors.customers import APPROVAL_REASON_PREFIX
from receivables.services.customers import customer_lock, ensure_customer_in_scope

MAX_MONEY = Decimal("999999999999.99")
MAX_TERMS_DAYS = 365
JUSTIFICATION_MAX_LENGTH = 500


@dataclass(frozen=True)
class CreditAssessmentInput:
    """What a scorecard says: factor scores and justifications (keyed by
    `CreditFactor` value), the sources used (`CreditSource` values), the
    requested limit and terms."""

    scores: Mapping[str, int]
    justifications: Mapping[str, str]
    sources: Collection[str]
    requested_limit: Decimal
    requested_terms_days: int
    source_details: str = ""
    notes: str = ""


@dataclass(frozen=True)
class CreditCheckResult:
    """A passed credit check: the figures it used, and the override if finance forced it."""

    customer_id: int
    currency: str
    amount: Decimal
    exposure: Decimal
    credit_limit: Decimal
    override: CreditOverride | None = field(default=None)

    @property
    def exposure_after(self) -> Decimal:
        return self.exposure + self.amount

    @property
    def available_after(self) -> Decimal:
        return self.credit_limit - self.exposure_after

    @property
    def overridden(self) -> bool:
        return self.override is not None


def _fmt(amount: Decimal) -> str:
    return money_display(amount)


def money_input(value: object, *, field: str, label: str) -> Decimal:
    """A non-negative amount in cents from a Decimal, int or string; never a float."""
    if isinstance(value, bool | float):
        raise BusinessRuleError(
            gettext("%(label)s must be a number.") % {"label": label}, field=field
        )
    try:
        amount = value if isinstance(value, Decimal) else money_parse(str(value))
    except (InvalidOperation, ValueError):
        raise BusinessRuleError(
            gettext("%(label)s must be a number.") % {"label": label}, field=field
        ) from None
    if not amount.is_finite():
        raise BusinessRuleError(
            gettext("%(label)s must be a number.") % {"label": label}, field=field
        )
    if amount < 0:
        raise BusinessRuleError(
            gettext("%(label)s cannot be negative.") % {"label": label}, field=field
        )
    amount = money_quantize(amount)
    if amount > MAX_MONEY:
        raise BusinessRuleError(gettext("%(label)s is too large.") % {"label": label}, field=field)
    return amount


def terms_input(value: object, *, field: str, label: str) -> int:
    """Payment terms: a whole number of days from 0 to 365."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise BusinessRuleError(
                gettext("%(label)s must be a whole number of days.") % {"label": label},
                field=field,
            ) from None
    if not 0 <= value <= MAX_TERMS_DAYS:
        raise BusinessRuleError(
            gettext("%(label)s must be between 0 and 365 days.") % {"label": label}, field=field
        )
    return value


def _score_input(value: object, *, factor: CreditFactor) -> int:
    name = score_field(factor)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BusinessRuleError(
            gettext("%(factor)s: the score must be a whole number from 1 to 5.")
            % {"factor": factor.label},
            field=name,
        )
    try:
        score = int(value)
    except ValueError:
        score = 0
    if not 1 <= score <= 5:
        raise BusinessRuleError(
            gettext("%(factor)s: the score must be a whole number from 1 to 5.")
            % {"factor": factor.label},
            field=name,
        )
    return score


def _apply_input(*, assessment: CreditAssessment, data: CreditAssessmentInput) -> None:
    """Validate the scorecard and copy it onto the assessment, with its score and grade."""
    for factor in CreditFactor:
        if factor.value not in data.scores:
            raise BusinessRuleError(
                gettext("%(factor)s: give a score from 1 to 5.") % {"factor": factor.label},
                field=score_field(factor),
            )
        setattr(
            assessment, score_field(factor), _score_input(data.scores[factor.value], factor=factor)
        )
        text = (data.justifications.get(factor.value) or "").strip()
        if len(text) > JUSTIFICATION_MAX_LENGTH:
            raise BusinessRuleError(
                gettext("%(factor)s: keep the justification under 500 characters.")
                % {"factor": factor.label},
                field=justification_field(factor),
            )
        setattr(assessment, justification_field(factor), text)
    known_sources = {source.value for source in CreditSource}
    unknown = set(data.sources) - known_sources
    if unknown:
        raise BusinessRuleError(
            gettext("Unknown source: %(sources)s") % {"sources": ", ".join(sorted(unknown))},
            field="sources",
        )
    for source in CreditSource:
        setattr(assessment, source_field(source), source.value in data.sources)
    assessment.source_details = data.source_details.strip()
    assessment.notes = data.notes.strip()
    assessment.requested_limit = money_input(
        data.requested_limit, field="requested_limit", label=gettext("The requested limit")
    )
    assessment.requested_terms_days = terms_input(
        data.requested_terms_days,
        field="requested_terms_days",
        label=gettext("The requested terms"),
    )
    _apply_recommendation(assessment=assessment)


def _apply_recommendation(*, assessment: CreditAssessment) -> None:
    assessment.score = assessment.weighted_score()
    recommendation = credit_recommendation(customer=assessment.customer, score=assessment.score)
    assessment.grade = recommendation.grade
    assessment.recommended_limit = recommendation.max_limit
    assessment.recommended_terms_days = recommendation.max_terms_days
    assessment.capped_as_new = recommendation.capped_as_new


def _ensure_may_assess(*, actor: AbstractBaseUser, customer: Customer) -> None:
    if not has_role(actor, Role.SALES_REP, Role.FINANCE, Role.MANAGER):
        raise BusinessRuleError(gettext("Your role cannot assess customers."))
    ensure_customer_in_scope(actor=actor, customer=customer)


def _ensure_requester(*, actor: AbstractBaseUser, assessment: CreditAssessment) -> None:
    if assessment.requested_by_id != actor.pk:
        raise BusinessRuleError(
            gettext("Only %(user)s, who drafted this assessment, can change or submit it.")
            % {"user": assessment.requested_by.get_username()}
        )


def _ensure_status(*, assessment: CreditAssessment, status: str) -> None:
    if assessment.status != status:
        raise BusinessRuleError(
            gettext("This assessment is %(status)s: it can no longer be %(action)s.")
            % {
                "status": assessment.get_status_display().lower(),
                "action": {
                    CreditAssessment.Status.DRAFT: gettext("changed or submitted"),
                    CreditAssessment.Status.SUBMITTED: gettext("decided"),
                }.get(status, status),
            }
        )


def _ensure_decider(*, actor: AbstractBaseUser, assessment: CreditAssessment) -> None:
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(gettext("Only finance can approve or reject credit assessments."))
    if assessment.requested_by_id == actor.pk:
        raise BusinessRuleError(
            gettext(
                "You requested this assessment, so you cannot decide it: "
                "another finance user must approve or reject it."
            )
        )


def _assessment_lock(*, pk: int) -> CreditAssessment:
    return CreditAssessment.objects.select_for_update().select_related("requested_by").get(pk=pk)


def _submit(*, assessment: CreditAssessment) -> None:
    for factor in CreditFactor:
        if not getattr(assessment, justification_field(factor)):
            raise BusinessRuleError(
                gettext("%(factor)s: write a short justification before submitting.")
                % {"factor": factor.label},
                field=justification_field(factor),
            )
    if not assessment.sources():
        raise BusinessRuleError(
            gettext(
                "Tick at least one source (industry report, public records, credit agency "
                "or peer references) before submitting."
            ),
            field="sources",
        )
    _apply_recommendation(assessment=assessment)
    assessment.status = CreditAssessment.Status.SUBMITTED
    assessment.submitted_at = timezone.now()


@transaction.atomic
def credit_assessment_create(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    data: CreditAssessmentInput,
    submit: bool = False,
) -> CreditAssessment:
    """Draft a scorecard for a customer in the actor's scope; submit it at once if asked.

    A customer has at most one open (draft or submitted) assessment.
    """
    _ensure_may_assess(actor=actor, customer=customer)
    customer = customer_lock(pk=customer.pk)
    open_assessment = customer.credit_assessments.filter(
        status__in=(CreditAssessment.Status.DRAFT, CreditAssessment.Status.SUBMITTED)
    ).first()
    if open_assessment is not None:
        raise BusinessRuleError(
            gettext(
                "%(customer)s already has an open credit assessment (#%(number)s): "
                "finish that one first."
            )
            % {"customer": customer.code, "number": open_assessment.pk}
        )
    assessment = CreditAssessment(customer=customer, requested_by=actor, currency=customer.currency)
    _apply_input(assessment=assessment, data=data)
    if submit:
        _submit(assessment=assessment)
    assessment._history_user = actor
    assessment.save()
    return assessment


@transaction.atomic
def credit_assessment_update(
    *,
    actor: AbstractBaseUser,
    assessment: CreditAssessment,
    data: CreditAssessmentInput,
    submit: bool = False,
) -> CreditAssessment:
    """Change a draft (its author only); submit it at once if asked."""
    customer = customer_lock(pk=assessment.customer_id)
    assessment = _assessment_lock(pk=assessment.pk)
    _ensure_may_assess(actor=actor, customer=customer)
    _ensure_status(assessment=assessment, status=CreditAssessment.Status.DRAFT)
    _ensure_requester(actor=actor, assessment=assessment)
    assessment.customer = customer
    _apply_input(assessment=assessment, data=data)
    if submit:
        _submit(assessment=assessment)
    assessment._history_user = actor
    assessment.save()
    return assessment


@transaction.atomic
def credit_assessment_submit(
    *, actor: AbstractBaseUser, assessment: CreditAssessment
) -> CreditAssessment:
    """Send a complete draft (a justification per factor, a source) to finance."""
    customer = customer_lock(pk=assessment.customer_id)
    assessment = _assessment_lock(pk=assessment.pk)
    _ensure_may_assess(actor=actor, customer=customer)
    _ensure_status(assessment=assessment, status=CreditAssessment.Status.DRAFT)
    _ensure_requester(actor=actor, assessment=assessment)
    assessment.customer = customer
    _submit(assessment=assessment)
    assessment._history_user = actor
    assessment.save()
    return assessment


@transaction.atomic
def credit_assessment_approve(
    *,
    actor: AbstractBaseUser,
    assessment: CreditAssessment,
    approved_limit: Decimal | str | int,
    approved_terms_days: int | str,
    comment: str,
    override_reason: str = "",
) -> CreditAssessment:
    """Approve a submitted assessment and set the customer's limit and terms from it.

    Finance only, never the requester; at most what was requested; above the
    grade's recommendation, or above the cap for new customers, only with a
    written reason (kept on the assessment and in its history).
    """
    customer = customer_lock(pk=assessment.customer_id)
    assessment = _assessment_lock(pk=assessment.pk)
    _ensure_decider(actor=actor, assessment=assessment)
    _ensure_status(assessment=assessment, status=CreditAssessment.Status.SUBMITTED)
    limit = money_input(approved_limit, field="approved_limit", label=gettext("The approved limit"))
    terms = terms_input(
        approved_terms_days, field="approved_terms_days", label=gettext("The approved terms")
    )
    comment = comment.strip()
    override_reason = override_reason.strip()
    currency = assessment.currency
    if not comment:
        raise BusinessRuleError(gettext("Write a comment for the decision."), field="comment")
    if limit > assessment.requested_limit:
        raise BusinessRuleError(
            gettext("You cannot approve more than the requested limit of %(limit)s %(currency)s.")
            % {"limit": _fmt(assessment.requested_limit), "currency": currency},
            field="approved_limit",
        )
    if terms > assessment.requested_terms_days:
        raise BusinessRuleError(
            gettext("You cannot approve longer terms than the requested %(days)s days.")
            % {"days": assessment.requested_terms_days},
            field="approved_terms_days",
        )
    above_cap = False
    if customer.is_new:
        policy = credit_policy_get()
        above_cap = (
            limit > policy.new_customer_max_limit or terms > policy.new_customer_max_terms_days
        )
        if above_cap and not override_reason:
            raise BusinessRuleError(
                gettext(
                    "%(customer)s is a new customer: the credit policy caps new customers at "
                    "%(limit)s %(currency)s and %(days)s days. Write a reason to approve more."
                )
                % {
                    "customer": customer.code,
                    "limit": _fmt(policy.new_customer_max_limit),
                    "currency": currency,
                    "days": policy.new_customer_max_terms_days,
                },
                field="override_reason",
            )
    above_grade = limit > assessment.recommended_limit or terms > assessment.recommended_terms_days
    if above_grade and not override_reason:
        raise BusinessRuleError(
            gettext(
                "Grade %(grade)s recommends at most %(limit)s %(currency)s and %(days)s days: "
                "write a reason to approve more."
            )
            % {
                "grade": assessment.grade,
                "limit": _fmt(assessment.recommended_limit),
                "currency": currency,
                "days": assessment.recommended_terms_days,
            },
            field="override_reason",
        )
    assessment.status = CreditAssessment.Status.APPROVED
    assessment.approved_limit = limit
    assessment.approved_terms_days = terms
    # The reason is the audit line of an override of the grade or of the new-customer cap.
    assessment.override_reason = override_reason if above_grade or above_cap else ""
    assessment.decision_comment = comment
    assessment.decided_by = actor
    assessment.decided_at = timezone.now()
    assessment._history_user = actor
    assessment.save()

    customer.credit_limit = limit
    customer.payment_terms_days = terms
    customer._history_user = actor
    customer._change_reason = f"{APPROVAL_REASON_PREFIX}{assessment.pk}"
    customer.save(update_fields=["credit_limit", "payment_terms_days", "updated_at"])
    return assessment


@transaction.atomic
def credit_assessment_reject(
    *, actor: AbstractBaseUser, assessment: CreditAssessment, comment: str
) -> CreditAssessment:
    """Reject a submitted assessment with a comment; the customer's credit stays as it was."""
    assessment = _assessment_lock(pk=assessment.pk)
    _ensure_decider(actor=actor, assessment=assessment)
    _ensure_status(assessment=assessment, status=CreditAssessment.Status.SUBMITTED)
    comment = comment.strip()
    if not comment:
        raise BusinessRuleError(
            gettext("Write a comment: the requester needs to know why."), field="comment"
        )
    assessment.status = CreditAssessment.Status.REJECTED
    assessment.decision_comment = comment
    assessment.decided_by = actor
    assessment.decided_at = timezone.now()
    assessment._history_user = actor
    assessment.save()
    return assessment


@transaction.atomic
def credit_check(
    *,
    customer: Customer,
    amount: Decimal,
    actor: AbstractBaseUser | None = None,
    override_reason: str = "",
    reference: str = "",
    already_counted: Decimal = Decimal("0"),
) -> CreditCheckResult:
    """Refuse new exposure for a customer on hold or beyond its credit limit.

    `amount` is the exposure the operation *adds* beyond what is already
    counted. Exposure counts open receivables plus the not-yet-invoiced part
    of approved and active contracts, so:

    * issuing a stand-alone invoice adds its amount;
    * approving a contract (in review → approved) adds its amount;
    * activating an already approved contract, or invoicing a milestone of an
      approved or active contract, adds nothing (pass `Decimal("0")`): the
      check then refuses only when the customer is on hold or already above
      its limit.

    `already_counted` is exposure the operation's own subject already holds (an
    approved contract's part not yet invoiced, at its activation): it is left out,
    so a contract is never counted against the limit it was approved under, and an
    override given at approval is not asked for again at activation.

    Call it inside the transaction that writes the operation: it locks the
    customer row until that transaction ends, so two operations cannot both
    squeeze under the same limit. When refused it raises `BusinessRuleError`
    with a message for the user. Finance may force it through with a written
    `override_reason`; the override is logged (`CreditOverride`, with
    `reference`, e.g. the invoice or contract number) and returned in the result.
    """
    amount = money_input(amount, field="amount", label=gettext("The amount"))
    customer = customer_lock(pk=customer.pk)
    exposure = money_quantize(customer_exposure(customer=customer) - already_counted)
    limit = money_quantize(customer.credit_limit)
    result = CreditCheckResult(
        customer_id=customer.pk,
        currency=customer.currency,
        amount=amount,
        exposure=exposure,
        credit_limit=limit,
    )
    if customer.credit_status == Customer.CreditStatus.ON_HOLD:
        refusal = gettext(
            "%(customer)s is on credit hold: no new invoices or contracts until finance "
            "releases the hold."
        ) % {"customer": f"{customer.code} {customer.name}"}
    elif result.exposure_after > limit:
        refusal = gettext(
            "Credit limit exceeded for %(customer)s: exposure %(exposure)s + %(amount)s = "
            "%(after)s %(currency)s is above the limit of %(limit)s %(currency)s "
            "(available: %(available)s)."
        ) % {
            "customer": f"{customer.code} {customer.name}",
            "exposure": _fmt(exposure),
            "amount": _fmt(amount),
            "after": _fmt(result.exposure_after),
            "currency": customer.currency,
            "limit": _fmt(limit),
            "available": _fmt(limit - exposure),
        }
    else:
        return result

    reason = override_reason.strip()
    if not reason:
        raise BusinessRuleError(refusal)
    if actor is None or not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(
            refusal + " " + gettext("Only finance can override a credit check.")
        )
    override = CreditOverride.objects.create(
        customer=customer,
        actor=actor,
        amount=amount,
        currency=customer.currency,
        exposure=exposure,
        credit_limit=limit,
        credit_status=customer.credit_status,
        refusal=refusal,
        reason=reason,
        reference=reference.strip()[:200],
    )
    return CreditCheckResult(
        customer_id=customer.pk,
        currency=customer.currency,
        amount=amount,
        exposure=exposure,
        credit_limit=limit,
        override=override,
    )


@transaction.atomic
def customer_hold(
    *,
    customer: Customer,
    actor: AbstractBaseUser | None,
    reason: str,
    source: str = CreditHoldEvent.Source.MANUAL,
) -> CreditHoldEvent | None:
    """Put the customer on credit hold: no new invoices or contracts pass the credit check.

    Finance does it by hand (`source` manual, `actor` a finance user); the
    dunning ladder does it on legal referral (`source=CreditHoldEvent.Source.DUNNING`,
    `actor` may be None). Returns the hold event, or None when the customer
    was already on hold (nothing is written, so repeated runs are harmless).
    """
    reason = reason.strip()
    if source not in CreditHoldEvent.Source.values:
        raise BusinessRuleError(gettext("Unknown source of a credit hold."))
    if source == CreditHoldEvent.Source.MANUAL and (
        actor is None or not has_role(actor, Role.FINANCE)
    ):
        raise BusinessRuleError(gettext("Only finance can put a customer on credit hold."))
    if not reason:
        raise BusinessRuleError(gettext("Write the reason for the hold."), field="reason")
    customer = customer_lock(pk=customer.pk)
    if customer.credit_status == Customer.CreditStatus.ON_HOLD:
        return None
    customer.credit_status = Customer.CreditStatus.ON_HOLD
    customer._history_user = actor
    customer.save(update_fields=["credit_status", "updated_at"])
    event = CreditHoldEvent.objects.create(
        customer=customer,
        action=CreditHoldEvent.Action.HOLD,
        source=source,
        actor=actor,
        reason=reason,
    )
    domain_events_announce(events=[credit_hold_domain_event(hold=event)])
    return event


def credit_hold_domain_event(*, hold: CreditHoldEvent) -> DomainEvent:
    """Describe a placed credit hold as a `credit.hold.placed` event."""
    return DomainEvent(
        type=EventType.CREDIT_HOLD_PLACED,
        params={
            "hold_event_id": hold.pk,
            "customer_code": hold.customer.code,
            "source": hold.source,
        },
        customer_id=hold.customer_id,
    )


@transaction.atomic
def customer_release(
    *,
    customer: Customer,
    actor: AbstractBaseUser | None,
    reason: str,
    source: str = CreditHoldEvent.Source.MANUAL,
) -> CreditHoldEvent | None:
    """Release the customer's credit hold (finance, with a reason; or the dunning ladder).

    The ladder lifts its own legal-referral hold once nothing is overdue, when
    its policy says so (`source=CreditHoldEvent.Source.DUNNING`, `actor` may be
    None, `reason` one of `CreditHoldEvent.DUNNING_REASONS`). Returns the
    release event, or None when the customer was not on hold.
    """
    reason = reason.strip()
    if source not in CreditHoldEvent.Source.values:
        raise BusinessRuleError(gettext("Unknown source of a credit hold."))
    if source == CreditHoldEvent.Source.MANUAL and (
        actor is None or not has_role(actor, Role.FINANCE)
    ):
        raise BusinessRuleError(gettext("Only finance can release a credit hold."))
    if not reason:
        raise BusinessRuleError(gettext("Write the reason for the release."), field="reason")
    customer = customer_lock(pk=customer.pk)
    if customer.credit_status != Customer.CreditStatus.ON_HOLD:
        return None
    customer.credit_status = Customer.CreditStatus.ACTIVE
    customer._history_user = actor
    customer.save(update_fields=["credit_status", "updated_at"])
    return CreditHoldEvent.objects.create(
        customer=customer,
        action=CreditHoldEvent.Action.RELEASE,
        source=source,
        actor=actor,
        reason=reason,
    )
