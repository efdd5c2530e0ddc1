"""A contract's life: draft, review by finance, activation, closing.

Lock order, the same as the receivables services so that nothing deadlocks:
the customer row first (the credit check and invoice issue lock it), then the
contract, then its milestones in sequence order, then invoices.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contract, PaymentMilestone
from contracts.services._common import (
    contract_lock,
    require_finance,
    require_may_draft,
    require_not_drafter,
    save_with_history,
)
from contracts.services.milestones import (
    MilestoneData,
    contract_effective_terms_days,
    milestones_complete_problems,
    milestones_lock,
    milestones_replace,
    milestones_trigger_on_activation,
    milestones_validate,
)
from core.exceptions import BusinessRuleError
from core.money import CENT, money_quantize
from receivables.currencies import is_iso_4217
from receivables.models import Customer, Invoice
from receivables.services.credit import credit_check
from receivables.services.customers import customer_lock

MAX_AMOUNT = Decimal("999999999999.99")
MAX_TERMS_DAYS = 365
MAX_RATE_PERCENT = Decimal("100")
MAX_CAP_PERCENT = Decimal("100")


@dataclass(frozen=True, kw_only=True)
class ContractData:
    """The editable terms of a contract, as a user states them."""

    number: str
    amount: Decimal
    currency: str
    payment_type: str
    title: str = ""
    start_date: date | None = None
    end_date: date | None = None
    credit_terms_days: int = 0
    payee_account_name: str = ""
    payee_bank_name: str = ""
    payee_bank_account: str = ""
    late_fee_rate_percent: Decimal | None = None
    late_fee_rate_period: str = Contract.RatePeriod.DAY
    late_fee_grace_days: int = 0
    late_fee_cap_percent: Decimal | None = None
    dispute_resolution_clause: str = ""


def _percent_validate(
    value: Decimal | None, *, field: str, maximum: Decimal, label: str, places: int
) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0 or value > maximum:
        raise BusinessRuleError(
            _("%(label)s must be between 0 and %(max)s %%.") % {"label": label, "max": maximum},
            field=field,
        )
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise BusinessRuleError(
            _("%(label)s has at most %(places)s decimal places.")
            % {"label": label, "places": places},
            field=field,
        )


def _contract_data_validate(
    *, data: ContractData, customer: Customer, contract: Contract | None = None
) -> ContractData:
    """Refuse bad terms with a message on the field; return them cleaned."""
    number = (data.number or "").strip()
    if not number:
        raise BusinessRuleError(_("Give the contract a number."), field="number")
    if len(number) > Contract._meta.get_field("number").max_length:
        raise BusinessRuleError(_("The contract number is too long."), field="number")
    others = Contract.objects.filter(number=number)
    if contract is not None:
        others = others.exclude(pk=contract.pk)
    if others.exists():
        raise BusinessRuleError(
            _("Contract number %(number)s is already used.") % {"number": number}, field="number"
        )
    amount = data.amount
    if amount is None or not isinstance(amount, Decimal) or not amount.is_finite():
        raise BusinessRuleError(_("Enter the contract amount."), field="amount")
    if amount <= 0:
        raise BusinessRuleError(
            _("The contract amount must be greater than zero (got %(amount)s).")
            % {"amount": amount},
            field="amount",
        )
    if amount != amount.quantize(CENT):
        raise BusinessRuleError(
            _("An amount has at most two decimals (got %(amount)s).") % {"amount": amount},
            field="amount",
        )
    if amount > MAX_AMOUNT:
        raise BusinessRuleError(
            _("The amount %(amount)s is too large.") % {"amount": amount}, field="amount"
        )
    amount = money_quantize(amount)
    currency = (data.currency or "").strip().upper()
    if not is_iso_4217(currency):
        raise BusinessRuleError(
            _("Unknown currency “%(currency)s”: use an ISO 4217 code such as CNY or USD.")
            % {"currency": data.currency},
            field="currency",
        )
    if currency != customer.currency:
        raise BusinessRuleError(
            _(
                "Customer %(customer)s is billed in %(expected)s: its credit limit is in that "
                "currency, so the contract must be too (not %(currency)s)."
            )
            % {"customer": customer.code, "expected": customer.currency, "currency": currency},
            field="currency",
        )
    if data.payment_type not in Contract.PaymentType.values:
        raise BusinessRuleError(_("Choose the payment type."), field="payment_type")
    if not 0 <= data.credit_terms_days <= MAX_TERMS_DAYS:
        raise BusinessRuleError(
            _("Credit terms must be between 0 and 365 days."), field="credit_terms_days"
        )
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise BusinessRuleError(_("The contract ends before it starts."), field="end_date")
    _percent_validate(
        data.late_fee_rate_percent,
        field="late_fee_rate_percent",
        maximum=MAX_RATE_PERCENT,
        label=_("The late-fee rate"),
        places=6,
    )
    _percent_validate(
        data.late_fee_cap_percent,
        field="late_fee_cap_percent",
        maximum=MAX_CAP_PERCENT,
        label=_("The late-fee cap"),
        places=2,
    )
    if data.late_fee_rate_period not in Contract.RatePeriod.values:
        raise BusinessRuleError(
            _("Choose whether the late-fee rate is per day or per year."),
            field="late_fee_rate_period",
        )
    if data.late_fee_grace_days < 0 or data.late_fee_grace_days > MAX_TERMS_DAYS:
        raise BusinessRuleError(
            _("Late-fee grace days must be between 0 and 365."), field="late_fee_grace_days"
        )
    return ContractData(
        **{
            **data.__dict__,
            "number": number,
            "amount": amount,
            "currency": currency,
            "title": data.title.strip(),
            "payee_account_name": data.payee_account_name.strip(),
            "payee_bank_name": data.payee_bank_name.strip(),
            "payee_bank_account": data.payee_bank_account.strip(),
            "dispute_resolution_clause": data.dispute_resolution_clause.strip(),
        }
    )


def _apply(contract: Contract, data: ContractData) -> None:
    for name, value in data.__dict__.items():
        setattr(contract, name, value)


def _save_new_contract(contract: Contract, *, actor: AbstractBaseUser) -> None:
    try:
        with transaction.atomic():
            save_with_history(contract, actor=actor, reason="created")
    except IntegrityError:
        # Another request took the number between the check and the insert.
        raise BusinessRuleError(
            _("Contract number %(number)s is already used.") % {"number": contract.number},
            field="number",
        ) from None


@transaction.atomic
def contract_create(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    data: ContractData,
    milestones: Sequence[MilestoneData],
) -> Contract:
    """Draft a contract with its milestones, which must add up to exactly 100 %."""
    require_may_draft(user=actor, customer=customer)
    data = _contract_data_validate(data=data, customer=customer)
    milestones_validate(milestones=milestones, amount=data.amount)
    contract = Contract(customer=customer, created_by=actor, status=Contract.Status.DRAFT)
    _apply(contract, data)
    _save_new_contract(contract, actor=actor)
    milestones_replace(contract=contract, milestones=milestones, actor=actor)
    return contract


@transaction.atomic
def contract_update(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    data: ContractData,
    milestones: Sequence[MilestoneData],
) -> Contract:
    """Change a draft's terms and milestones together; nothing changes if either is bad."""
    contract = contract_lock(contract=contract)
    require_may_draft(user=actor, customer=contract.customer)
    if contract.status != Contract.Status.DRAFT:
        raise BusinessRuleError(
            _("Only a draft can be changed; this contract is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    data = _contract_data_validate(data=data, customer=contract.customer, contract=contract)
    milestones_validate(milestones=milestones, amount=data.amount)
    terms_before = contract_effective_terms_days(contract=contract)
    _apply(contract, data)
    milestones_replace(contract=contract, milestones=milestones, actor=actor)
    if (
        contract.terms_approved_by_id is not None
        and contract_effective_terms_days(contract=contract) != terms_before
    ):
        # The approval was for the terms as they were.
        contract.terms_approved_by = None
        contract.terms_approval_reason = ""
    try:
        with transaction.atomic():
            save_with_history(contract, actor=actor, reason="draft changed")
    except IntegrityError:
        raise BusinessRuleError(
            _("Contract number %(number)s is already used.") % {"number": contract.number},
            field="number",
        ) from None
    return contract


def contract_clause_problems(*, contract: Contract) -> list[str]:
    """List what keeps the contract's payment clauses from being complete."""
    problems = []
    if not contract.payee_account_name.strip():
        problems.append(_("Name the payee account holder."))
    if not contract.payee_bank_name.strip():
        problems.append(_("Name the payee bank."))
    if not contract.payee_bank_account.strip():
        problems.append(_("Give the payee bank account number."))
    if contract.late_fee_rate_percent is None:
        problems.append(
            _("State the late-fee clause, or record that the contract explicitly has none.")
        )
    if not contract.dispute_resolution_clause.strip():
        problems.append(_("State the dispute-resolution clause."))
    if (
        contract.payment_type == Contract.PaymentType.CREDIT_TERMS
        and contract.credit_terms_days == 0
    ):
        problems.append(_("A contract on credit terms needs the number of days."))
    milestones = sorted(contract.milestones.all(), key=lambda milestone: milestone.sequence)
    problems.extend(
        milestones_complete_problems(
            amount=contract.amount, percents=[milestone.percent for milestone in milestones]
        )
    )
    for milestone in milestones:
        if milestone.trigger == PaymentMilestone.Trigger.FIXED_DATE and not milestone.fixed_date:
            problems.append(
                _("Milestone %(n)s is due on a fixed date but has none.")
                % {"n": milestone.sequence}
            )
    return problems


def contract_terms_exceed_customer(*, contract: Contract) -> bool:
    """Whether the contract grants longer credit than the customer's approved terms."""
    return contract_effective_terms_days(contract=contract) > contract.customer.payment_terms_days


def contract_terms_need_approval(*, contract: Contract) -> bool:
    """Whether longer terms still wait for finance's approval with a reason."""
    return contract_terms_exceed_customer(contract=contract) and (
        contract.terms_approved_by_id is None
    )


def _refuse_problems(problems: list[str], *, action: str) -> None:
    if problems:
        raise BusinessRuleError(
            _("The contract cannot be %(action)s yet: %(problems)s")
            % {"action": action, "problems": " ".join(problems)}
        )


def _terms_refusal(contract: Contract) -> str:
    return _(
        "The contract grants %(days)s days of credit, longer than the %(approved)s days "
        "approved for %(customer)s: finance must approve the longer terms with a reason."
    ) % {
        "days": contract_effective_terms_days(contract=contract),
        "approved": contract.customer.payment_terms_days,
        "customer": contract.customer.code,
    }


@transaction.atomic
def contract_submit_for_review(*, contract: Contract, actor: AbstractBaseUser) -> Contract:
    """Send a complete draft to finance for review."""
    contract = contract_lock(contract=contract)
    require_may_draft(user=actor, customer=contract.customer)
    if contract.status != Contract.Status.DRAFT:
        raise BusinessRuleError(
            _("Only a draft can be submitted; this contract is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    _refuse_problems(contract_clause_problems(contract=contract), action=_("submitted"))
    contract.status = Contract.Status.IN_REVIEW
    save_with_history(contract, actor=actor, reason="submitted for review")
    return contract


def _record_terms_approval(contract: Contract, *, actor: AbstractBaseUser, reason: str) -> None:
    contract.terms_approved_by = actor
    contract.terms_approval_reason = reason
    save_with_history(
        contract,
        actor=actor,
        reason="longer terms approved",
        update_fields=["terms_approved_by", "terms_approval_reason"],
    )


@transaction.atomic
def contract_terms_approve(*, contract: Contract, actor: AbstractBaseUser, reason: str) -> Contract:
    """Let finance approve terms longer than the customer's, with a reason; never a drafter."""
    require_finance(user=actor)
    contract = contract_lock(contract=contract)
    if contract.status in (Contract.Status.ACTIVE, Contract.Status.CLOSED):
        raise BusinessRuleError(
            _("The contract is %(status)s: its terms are settled.")
            % {"status": contract.get_status_display()}
        )
    require_not_drafter(contract=contract, user=actor)
    if not contract_terms_exceed_customer(contract=contract):
        raise BusinessRuleError(
            _("The contract's terms are within the customer's approved terms: nothing to approve.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(
            _("Give the reason for approving the longer terms."), field="terms_approval_reason"
        )
    _record_terms_approval(contract, actor=actor, reason=reason)
    return contract


@transaction.atomic
def contract_review(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    approve: bool,
    comment: str = "",
    terms_approval_reason: str = "",
    credit_override_reason: str = "",
) -> Contract:
    """Let finance approve a contract in review, or send it back to draft with a comment.

    The reviewer is never one of the contract's drafters (segregation of
    duties, as for credit assessments). Approval commits the contract's amount
    to the customer's credit exposure, so it passes the credit check for the
    whole amount (or finance overrides it with a reason); terms longer than
    the customer's need a reason too.
    """
    require_finance(user=actor)
    customer_lock(pk=contract.customer_id)
    contract = contract_lock(contract=contract)
    if contract.status != Contract.Status.IN_REVIEW:
        raise BusinessRuleError(
            _("Only a contract in review can be reviewed; this one is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    require_not_drafter(contract=contract, user=actor)
    comment = (comment or "").strip()
    if approve:
        _refuse_problems(contract_clause_problems(contract=contract), action=_("approved"))
        if contract_terms_need_approval(contract=contract):
            reason = (terms_approval_reason or "").strip()
            if not reason:
                raise BusinessRuleError(_terms_refusal(contract), field="terms_approval_reason")
            _record_terms_approval(contract, actor=actor, reason=reason)
        credit_check(
            customer=contract.customer,
            amount=contract.amount,
            actor=actor,
            override_reason=credit_override_reason,
            reference=contract.number,  # a number reads the same in every language
        )
        contract.status = Contract.Status.APPROVED
        change = "approved by finance"
    else:
        if not comment:
            raise BusinessRuleError(
                _("Say what must change before the contract can be approved."), field="comment"
            )
        contract.status = Contract.Status.DRAFT
        change = "returned to draft"
    contract.reviewed_by = actor
    contract.reviewed_at = timezone.now()
    contract.review_comment = comment
    save_with_history(contract, actor=actor, reason=change)
    return contract


def _not_invoiced(contract: Contract) -> Decimal:
    """What the contract will still invoice: the exposure it has held since approval."""
    invoiced = (
        Invoice.objects.filter(milestone__contract=contract)
        .exclude(status=Invoice.Status.CANCELLED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return max(money_quantize(contract.amount - (invoiced or 0)), Decimal("0"))


@transaction.atomic
def contract_activate(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    signed_date: date,
    as_of: date,
    credit_override_reason: str = "",
) -> Contract:
    """Put an approved contract into force once signed, and date its signing milestones.

    Everything is checked again, since the customer may have changed since
    the review: complete clauses, 100 % of milestones, approved terms, and the
    credit check, which leaves the contract's own amount out (it was checked, or
    overridden, at approval): it refuses only a customer on hold, or one that
    other business has taken over its limit since.
    """
    require_finance(user=actor)
    customer_lock(pk=contract.customer_id)
    contract = contract_lock(contract=contract)
    if contract.status != Contract.Status.APPROVED:
        raise BusinessRuleError(
            _("Only an approved contract can be activated; this one is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    if contract.reviewed_by_id is None or contract.reviewed_at is None:
        raise BusinessRuleError(_("The contract has not been reviewed by finance."))
    _refuse_problems(contract_clause_problems(contract=contract), action=_("activated"))
    if contract_terms_need_approval(contract=contract):
        raise BusinessRuleError(_terms_refusal(contract))
    if signed_date is None:
        raise BusinessRuleError(_("Enter the date the contract was signed."), field="signed_date")
    if signed_date > as_of:
        raise BusinessRuleError(_("The signing date cannot be in the future."), field="signed_date")
    credit_check(
        customer=contract.customer,
        amount=Decimal("0"),
        actor=actor,
        override_reason=credit_override_reason,
        reference=contract.number,  # a number reads the same in every language
        already_counted=_not_invoiced(contract),
    )
    contract.status = Contract.Status.ACTIVE
    contract.signed_date = signed_date
    save_with_history(contract, actor=actor, reason="activated")
    milestones_trigger_on_activation(contract=contract, actor=actor)
    return contract


@transaction.atomic
def contract_close(*, contract: Contract, actor: AbstractBaseUser) -> Contract:
    """Close an active contract once every milestone is invoiced and no invoice is open."""
    require_finance(user=actor)
    # Payments and reversals lock the customer first: holding it keeps the
    # invoice statuses read below from changing until the contract is closed.
    customer_lock(pk=contract.customer_id)
    contract = contract_lock(contract=contract)
    if contract.status != Contract.Status.ACTIVE:
        raise BusinessRuleError(
            _("Only an active contract can be closed; this one is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    milestones = milestones_lock(contract=contract)
    invoices = Invoice.objects.in_bulk([m.invoice_id for m in milestones if m.invoice_id])
    not_invoiced = [
        str(m.sequence)
        for m in milestones
        if m.invoice_id is None or invoices[m.invoice_id].status == Invoice.Status.CANCELLED
    ]
    if not_invoiced:
        raise BusinessRuleError(
            _("The contract cannot be closed: milestone(s) %(list)s not invoiced yet.")
            % {"list": ", ".join(not_invoiced)}
        )
    still_open = sorted(
        invoice.number for invoice in invoices.values() if invoice.status == Invoice.Status.OPEN
    )
    if still_open:
        raise BusinessRuleError(
            _("The contract cannot be closed: invoice(s) %(list)s are not paid yet.")
            % {"list": ", ".join(still_open)}
        )
    contract.status = Contract.Status.CLOSED
    save_with_history(contract, actor=actor, reason="closed")
    return contract
