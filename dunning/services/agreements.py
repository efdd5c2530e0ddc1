"""Supplementary agreements: an instalment plan or extension for a customer short of cash.

A rep (or finance, or a manager) proposes new dates and late-fee terms for
overdue invoices; a manager other than the proposer approves it; it is
recorded against the original contract. From approval on, the daily run
leaves the replaced invoices alone and dunns the instalments instead
(`dunning.services.items.instalment_items`). The instalments must sum to
exactly what the replaced invoices still owe, so that money paid on those
invoices settles the instalments in order.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import AgreementInstalment, Contract, SupplementaryAgreement
from contracts.services.instalments import instalments_refresh
from core.events import TYPED_KEY
from core.exceptions import BusinessRuleError
from core.money import money_display, money_quantize
from core.roles import Role, has_role
from dunning.models import CaseEvent, CollectionCase, Dispute, SettlementReason
from dunning.services.cases import (
    case_open_get,
    case_reason_suggest,
    clean_note,
    ensure_may_work_customer,
)
from dunning.services.events import case_event_create
from dunning.services.follow import items_follow
from receivables.models import Customer, Invoice
from receivables.services.customers import customer_lock
from receivables.services.invoices import invoices_lock, money_positive

MAX_INSTALMENTS = 24
ACTIVE_STATUSES = (SupplementaryAgreement.Status.PROPOSED, SupplementaryAgreement.Status.APPROVED)


@dataclass(frozen=True)
class InstalmentInput:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class LateFeeTermsInput:
    """The agreement's own late-fee terms; no rate means the contract's clause applies."""

    rate_percent: Decimal | None = None
    rate_period: str = Contract.RatePeriod.DAY
    grace_days: int = 0
    cap_percent: Decimal | None = None


def _terms_validate(terms: LateFeeTermsInput) -> LateFeeTermsInput:
    def percent(value: Decimal | None, *, field: str, upper: Decimal) -> Decimal | None:
        if value is None or value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise BusinessRuleError(_("Enter a percentage."), field=field) from None
        if not number.is_finite() or number < 0 or number > upper:
            raise BusinessRuleError(
                _("Enter a percentage between 0 and %(upper)s.") % {"upper": upper}, field=field
            )
        return number

    if terms.rate_period not in Contract.RatePeriod.values:
        raise BusinessRuleError(_("Choose per day or per year."), field="late_fee_rate_period")
    if terms.grace_days is None or not 0 <= int(terms.grace_days) <= 365:
        raise BusinessRuleError(_("Grace days run from 0 to 365."), field="late_fee_grace_days")
    rate = percent(
        terms.rate_percent,
        field="late_fee_rate_percent",
        upper=Decimal(100) if terms.rate_period == Contract.RatePeriod.YEAR else Decimal(1),
    )
    cap = percent(terms.cap_percent, field="late_fee_cap_percent", upper=Decimal(100))
    return LateFeeTermsInput(
        rate_percent=rate,
        rate_period=terms.rate_period,
        grace_days=int(terms.grace_days),
        cap_percent=cap,
    )


def _invoice_contract(invoice: Invoice) -> Contract | None:
    try:
        return invoice.milestone.contract
    except ObjectDoesNotExist:
        return None


def _covered_elsewhere(*, invoice_ids: Sequence[int], exclude_pk: int | None = None):
    links = SupplementaryAgreement.invoices.through.objects.filter(
        invoice_id__in=list(invoice_ids),
        supplementaryagreement__status__in=ACTIVE_STATUSES,
    ).select_related("invoice", "supplementaryagreement")
    if exclude_pk is not None:
        links = links.exclude(supplementaryagreement_id=exclude_pk)
    return links.first()


def _items_validate(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    as_of: date,
    exclude_agreement: int | None = None,
) -> tuple[list[Invoice], Contract | None, Decimal]:
    """Lock and check the invoices; return them, their one contract and what they still owe."""
    if not invoices:
        raise BusinessRuleError(
            _("Choose the overdue invoices the agreement replaces."), field="invoices"
        )
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise BusinessRuleError(
                _("Invoice %(number)s belongs to another customer.") % {"number": invoice.number},
                field="invoices",
            )
    locked = invoices_lock(invoice_ids=[invoice.pk for invoice in invoices])
    ordered = sorted(locked.values(), key=lambda invoice: (invoice.due_date, invoice.number))
    for invoice in ordered:
        if invoice.status != Invoice.Status.OPEN or invoice.outstanding <= 0:
            raise BusinessRuleError(
                _("Invoice %(number)s has nothing left to pay.") % {"number": invoice.number},
                field="invoices",
            )
        if invoice.due_date >= as_of:
            raise BusinessRuleError(
                _("Invoice %(number)s is not overdue (due %(date)s).")
                % {"number": invoice.number, "date": invoice.due_date.isoformat()},
                field="invoices",
            )
    if len({invoice.currency for invoice in ordered}) > 1:
        raise BusinessRuleError(
            _("An agreement covers invoices in one currency."), field="invoices"
        )
    covered = _covered_elsewhere(invoice_ids=list(locked), exclude_pk=exclude_agreement)
    if covered is not None:
        raise BusinessRuleError(
            _("Invoice %(number)s is already covered by agreement %(agreement)s.")
            % {
                "number": covered.invoice.number,
                "agreement": covered.supplementaryagreement.number,
            },
            field="invoices",
        )
    disputed = (
        Dispute.invoices.through.objects.filter(
            invoice_id__in=list(locked), dispute__status=Dispute.Status.OPEN
        )
        .select_related("invoice")
        .first()
    )
    if disputed is not None:
        raise BusinessRuleError(
            _("Invoice %(number)s is in an open dispute: resolve the dispute first.")
            % {"number": disputed.invoice.number},
            field="invoices",
        )
    contracts = {_invoice_contract(invoice) for invoice in ordered}
    if len(contracts) > 1:
        raise BusinessRuleError(
            _("The invoices belong to different contracts: propose one agreement per contract."),
            field="invoices",
        )
    owed = money_quantize(sum((invoice.outstanding for invoice in ordered), Decimal(0)))
    return ordered, contracts.pop(), owed


def _schedule_validate(
    *, kind: str, instalments: Sequence[InstalmentInput], owed: Decimal, as_of: date
) -> list[InstalmentInput]:
    if kind not in SupplementaryAgreement.Kind.values:
        raise BusinessRuleError(_("Choose an instalment plan or an extension."), field="kind")
    if not instalments:
        raise BusinessRuleError(_("Give at least one new due date."), field="instalments")
    if kind == SupplementaryAgreement.Kind.EXTENSION and len(instalments) != 1:
        raise BusinessRuleError(
            _("An extension has exactly one new due date; use an instalment plan for more."),
            field="instalments",
        )
    if kind == SupplementaryAgreement.Kind.INSTALMENT_PLAN and len(instalments) < 2:
        raise BusinessRuleError(
            _("An instalment plan has at least two instalments; use an extension for one."),
            field="instalments",
        )
    if len(instalments) > MAX_INSTALMENTS:
        raise BusinessRuleError(
            _("At most %(count)s instalments.") % {"count": MAX_INSTALMENTS},
            field="instalments",
        )
    cleaned: list[InstalmentInput] = []
    previous: date | None = None
    for position, instalment in enumerate(instalments, start=1):
        if instalment.due_date is None or instalment.due_date <= as_of:
            raise BusinessRuleError(
                _("Instalment %(n)s must fall due after today (%(today)s).")
                % {"n": position, "today": as_of.isoformat()},
                field="instalments",
            )
        if previous is not None and instalment.due_date <= previous:
            raise BusinessRuleError(
                _("Instalment %(n)s must fall due after instalment %(before)s.")
                % {"n": position, "before": position - 1},
                field="instalments",
            )
        previous = instalment.due_date
        cleaned.append(
            InstalmentInput(
                due_date=instalment.due_date,
                amount=money_positive(instalment.amount, field="instalments"),
            )
        )
    total = money_quantize(sum((item.amount for item in cleaned), Decimal(0)))
    if total != owed:
        raise BusinessRuleError(
            _(
                "The instalments add up to %(total)s but the invoices still owe %(owed)s: "
                "they must sum to exactly that amount."
            )
            % {"total": money_display(total), "owed": money_display(owed)},
            field="instalments",
        )
    return cleaned


def _number_next(*, customer: Customer) -> str:
    sequence = SupplementaryAgreement.objects.filter(customer=customer).count() + 1
    while True:
        number = f"SA-{customer.code}-{sequence:02d}"
        if not SupplementaryAgreement.objects.filter(number=number).exists():
            return number
        sequence += 1


@transaction.atomic
def agreement_propose(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    kind: str,
    instalments: Sequence[InstalmentInput],
    reason: str,
    actor: AbstractBaseUser,
    as_of: date,
    terms: LateFeeTermsInput | None = None,
) -> SupplementaryAgreement:
    """Propose new due dates (and late-fee terms) for overdue invoices, for a manager to approve."""
    ensure_may_work_customer(actor=actor, customer=customer)
    reason = clean_note(
        reason, field="reason", required=True, message=_("Say why the customer needs new dates.")
    )
    terms = _terms_validate(terms or LateFeeTermsInput())
    customer = customer_lock(pk=customer.pk)
    invoices, contract, owed = _items_validate(customer=customer, invoices=invoices, as_of=as_of)
    schedule = _schedule_validate(kind=kind, instalments=instalments, owed=owed, as_of=as_of)
    agreement = SupplementaryAgreement(
        customer=customer,
        contract=contract,
        number=_number_next(customer=customer),
        kind=kind,
        reason=reason,
        proposed_by=actor,
        late_fee_rate_percent=terms.rate_percent,
        late_fee_rate_period=terms.rate_period,
        late_fee_grace_days=terms.grace_days,
        late_fee_cap_percent=terms.cap_percent,
    )
    agreement._history_user = actor
    agreement.save()
    agreement.invoices.set(invoices)
    AgreementInstalment.objects.bulk_create(
        AgreementInstalment(
            agreement=agreement, sequence=position, due_date=item.due_date, amount=item.amount
        )
        for position, item in enumerate(schedule, start=1)
    )
    instalments_refresh(agreement_ids=[agreement.pk])
    case = case_open_get(customer=customer)
    case_event_create(
        customer=customer,
        case=case,
        kind=CaseEvent.Kind.AGREEMENT_PROPOSED,
        actor=actor,
        data={
            "agreement": agreement.pk,
            "agreement_kind": agreement.kind,
            "number": agreement.number,
            "invoices": [invoice.number for invoice in invoices],
            "count": len(schedule),
            "currency": invoices[0].currency if invoices else "",
            "owed": str(owed),
            "instalments": [
                {"due_date": item.due_date.isoformat(), "amount": str(item.amount)}
                for item in schedule
            ],
        },
    )
    case_reason_suggest(case=case, reason=CollectionCase.OverdueReason.CASH_FLOW, actor=actor)
    return agreement


def _ensure_decider(*, actor: AbstractBaseUser, agreement: SupplementaryAgreement) -> None:
    if not has_role(actor, Role.MANAGER):
        raise BusinessRuleError(_("Only a manager can decide on a supplementary agreement."))
    if agreement.proposed_by_id == actor.pk:
        raise BusinessRuleError(
            _("You proposed this agreement: another manager must decide on it.")
        )


def _agreement_lock(*, agreement: SupplementaryAgreement) -> SupplementaryAgreement:
    customer_lock(pk=agreement.customer_id)
    locked = (
        SupplementaryAgreement.objects.select_for_update(of=("self",))
        .select_related("customer", "contract")
        .get(pk=agreement.pk)
    )
    if locked.status != SupplementaryAgreement.Status.PROPOSED:
        raise BusinessRuleError(
            _("Agreement %(number)s is %(status)s, not waiting for a decision.")
            % {"number": locked.number, "status": locked.get_status_display().lower()}
        )
    return locked


@transaction.atomic
def agreement_approve(
    *,
    agreement: SupplementaryAgreement,
    actor: AbstractBaseUser,
    as_of: date,
    comment: str = "",
) -> SupplementaryAgreement:
    """A manager other than the proposer approves: the instalments replace the invoices' dates."""
    _ensure_decider(actor=actor, agreement=agreement)
    comment = clean_note(comment, field="comment", required=False)
    agreement = _agreement_lock(agreement=agreement)
    invoices, _contract, owed = _items_validate(
        customer=agreement.customer,
        invoices=list(agreement.invoices.all()),
        as_of=as_of,
        exclude_agreement=agreement.pk,
    )
    instalments = list(agreement.instalments.order_by("sequence"))
    planned = money_quantize(sum((item.amount for item in instalments), Decimal(0)))
    if planned != owed:
        raise BusinessRuleError(
            _(
                "Since the proposal the invoices' open amount changed to %(owed)s (the plan "
                "covers %(planned)s): reject it and propose again."
            )
            % {"owed": money_display(owed), "planned": money_display(planned)}
        )
    if instalments and instalments[0].due_date <= as_of:
        raise BusinessRuleError(
            _("The first new due date (%(date)s) has passed: reject it and propose again.")
            % {"date": instalments[0].due_date.isoformat()}
        )
    agreement.status = SupplementaryAgreement.Status.APPROVED
    agreement.decided_by = actor
    agreement.decided_at = timezone.now()
    agreement.decision_comment = comment
    agreement._history_user = actor
    agreement.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    case = case_open_get(customer=agreement.customer)
    case_event_create(
        customer=agreement.customer,
        case=case,
        kind=CaseEvent.Kind.AGREEMENT_APPROVED,
        actor=actor,
        data={
            "agreement": agreement.pk,
            "agreement_kind": agreement.kind,
            "number": agreement.number,
            "contract": agreement.contract.number if agreement.contract else "",
            "invoices": [invoice.number for invoice in invoices],
            "currency": invoices[0].currency if invoices else "",
            "schedule": [[item.due_date.isoformat(), str(item.amount)] for item in instalments],
            TYPED_KEY: comment,
        },
    )
    case_reason_suggest(case=case, reason=CollectionCase.OverdueReason.CASH_FLOW, actor=actor)
    # The replaced invoices' messages, tasks and (if nothing else is overdue) case end now.
    items_follow(
        invoice_ids=[invoice.pk for invoice in invoices],
        reason=SettlementReason.REPLACED,
        actor=actor,
        as_of=as_of,
    )
    return agreement


@transaction.atomic
def agreement_reject(
    *, agreement: SupplementaryAgreement, actor: AbstractBaseUser, comment: str
) -> SupplementaryAgreement:
    """A manager other than the proposer rejects the proposal, saying why; dunning goes on."""
    _ensure_decider(actor=actor, agreement=agreement)
    comment = clean_note(
        comment, field="comment", required=True, message=_("Say why the agreement is rejected.")
    )
    agreement = _agreement_lock(agreement=agreement)
    agreement.status = SupplementaryAgreement.Status.REJECTED
    agreement.decided_by = actor
    agreement.decided_at = timezone.now()
    agreement.decision_comment = comment
    agreement._history_user = actor
    agreement.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    case_event_create(
        customer=agreement.customer,
        kind=CaseEvent.Kind.AGREEMENT_REJECTED,
        actor=actor,
        data={
            "agreement": agreement.pk,
            "agreement_kind": agreement.kind,
            "number": agreement.number,
            TYPED_KEY: comment,
        },
    )
    return agreement
