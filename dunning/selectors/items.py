"""Reads over collectible items: policy values, balances as of a date, instalments, overdue."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    DecimalField,
    QuerySet,
    Sum,
)

from contracts.models import AgreementInstalment, SupplementaryAgreement
from core.money import money_quantize
from dunning.late_fees import (
    LateFeeClause,
    invoice_late_fee_clause,
    late_fee_compute,
)
from dunning.models import (
    Dispute,
    DunningPolicy,
    PromiseToPay,
    instalment_label,
)
from dunning.services.items import instalment_items, invoice_items
from receivables.models import CreditNote, Customer, Invoice, Payment, PaymentAllocation

User = AbstractBaseUser | AnonymousUser
ZERO = Decimal("0.00")
MONEY_OUTPUT = DecimalField(max_digits=14, decimal_places=2)
DEFAULT_TOLERANCE = Decimal("1.00")
DEFAULT_PROMISE_GRACE_DAYS = 3
DEFAULT_LETTER_DEADLINE_DAYS = 7


# --- Policy values -----------------------------------------------------------


def policy_active() -> DunningPolicy | None:
    """Return the active dunning policy, if one is installed."""
    return DunningPolicy.objects.filter(is_active=True).first()


def policy_tolerance(*, policy: DunningPolicy | None = None) -> Decimal:
    """Items owing less than this are not chased (the policy's tolerance, default 1.00)."""
    policy = policy or policy_active()
    return policy.tolerance if policy else DEFAULT_TOLERANCE


def policy_promise_grace_days(*, policy: DunningPolicy | None = None) -> int:
    """Days after a promised date that its items stay paused (default 3)."""
    policy = policy or policy_active()
    return policy.promise_grace_days if policy else DEFAULT_PROMISE_GRACE_DAYS


def policy_letter_deadline_days(*, policy: DunningPolicy | None = None) -> int:
    """Days from the letter date to a demand letter's final deadline (default 7)."""
    policy = policy or policy_active()
    return policy.letter_deadline_days if policy else DEFAULT_LETTER_DEADLINE_DAYS


# --- Reductions and instalments ---------------------------------------------


def invoices_reductions(
    *, invoice_ids: Iterable[int], as_of: date
) -> dict[int, list[tuple[date, Decimal]]]:
    """Dated reductions (posted payments, credit notes) per invoice, up to as_of."""
    ids = list(invoice_ids)
    result: dict[int, list[tuple[date, Decimal]]] = {pk: [] for pk in ids}
    if not ids:
        return result
    allocations = (
        PaymentAllocation.objects.filter(
            invoice_id__in=ids,
            payment__status=Payment.Status.POSTED,
            payment__payment_date__lte=as_of,
        )
        .order_by()
        .values("invoice_id", "payment__payment_date")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "payment__payment_date", "total")
    )
    credit_notes = (
        CreditNote.objects.filter(invoice_id__in=ids, issue_date__lte=as_of)
        .order_by()
        .values("invoice_id", "issue_date")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "issue_date", "total")
    )
    for invoice_id, when, total in [*allocations, *credit_notes]:
        result[invoice_id].append((when, money_quantize(total)))
    for reductions in result.values():
        reductions.sort()
    return result


def invoice_outstanding_as_of(*, invoice: Invoice, as_of: date) -> Decimal:
    """What the invoice still asked for at the end of as_of (never negative)."""
    if invoice.status == Invoice.Status.CANCELLED:
        return ZERO
    reductions = invoices_reductions(invoice_ids=[invoice.pk], as_of=as_of)[invoice.pk]
    return money_quantize(max(invoice.amount - sum((v for _, v in reductions), ZERO), ZERO))


@dataclass(frozen=True)
class InstalmentPosition:
    """An instalment's balance as of a date and the dated reductions that made it."""

    instalment: AgreementInstalment
    outstanding: Decimal
    reductions: list[tuple[date, Decimal]] = field(default_factory=list)


def agreement_instalment_positions(
    *, agreement: SupplementaryAgreement, as_of: date
) -> dict[int, InstalmentPosition]:
    """Balance of each instalment: money received on the replaced invoices pays them in order.

    At approval the instalments sum to exactly what the replaced invoices
    still owed, so whatever lowers those invoices below that sum has been paid
    towards the plan; it settles the first instalment first.
    """
    instalments = list(agreement.instalments.order_by("sequence"))
    invoices = [i for i in agreement.invoices.all() if i.status != Invoice.Status.CANCELLED]
    plan_total = sum((item.amount for item in instalments), ZERO)
    invoiced_total = sum((invoice.amount for invoice in invoices), ZERO)
    by_date: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for reductions in invoices_reductions(
        invoice_ids=[invoice.pk for invoice in invoices], as_of=as_of
    ).values():
        for when, value in reductions:
            by_date[when] += value
    # Paid towards the plan after each reduction date, as a running total.
    paid_steps: list[tuple[date, Decimal]] = []
    reduced = ZERO
    for when in sorted(by_date):
        reduced += by_date[when]
        covered_outstanding = invoiced_total - reduced
        paid_steps.append((when, max(plan_total - covered_outstanding, ZERO)))
    positions: dict[int, InstalmentPosition] = {}
    before = ZERO
    for instalment in instalments:
        previous = instalment.amount
        reductions: list[tuple[date, Decimal]] = []
        for when, paid in paid_steps:
            settled = min(max(paid - before, ZERO), instalment.amount)
            current = instalment.amount - settled
            if current != previous:
                reductions.append((when, previous - current))
                previous = current
        positions[instalment.pk] = InstalmentPosition(
            instalment=instalment, outstanding=money_quantize(previous), reductions=reductions
        )
        before += instalment.amount
    return positions


def instalment_outstanding(*, instalment: AgreementInstalment, as_of: date) -> Decimal:
    """What an instalment of an agreement still asks for at the end of as_of."""
    positions = agreement_instalment_positions(agreement=instalment.agreement, as_of=as_of)
    return positions[instalment.pk].outstanding


def instalment_late_fee_clause(*, instalment: AgreementInstalment) -> LateFeeClause:
    """The agreement's own late-fee terms, else those of the first invoice it replaces."""
    agreement = instalment.agreement
    if agreement.late_fee_rate_percent is not None:
        return LateFeeClause.from_terms(agreement)
    first = agreement.invoices.order_by("due_date", "number").first()
    if first is not None:
        return invoice_late_fee_clause(invoice=first)
    if agreement.contract is not None and agreement.contract.late_fee_rate_percent is not None:
        return LateFeeClause.from_terms(agreement.contract)
    policy = policy_active()
    if policy is not None:
        return LateFeeClause.from_terms(policy)
    return LateFeeClause(rate_percent=Decimal("0.05"))


def instalment_late_fee(
    *, instalment: AgreementInstalment, as_of: date, position: InstalmentPosition | None = None
) -> Decimal:
    """The late fee owed on an instalment as of a date, under the agreement's terms."""
    if position is None:
        position = agreement_instalment_positions(agreement=instalment.agreement, as_of=as_of)[
            instalment.pk
        ]
    return late_fee_compute(
        amount=instalment.amount,
        due_date=instalment.due_date,
        as_of=as_of,
        reductions=position.reductions,
        clause=instalment_late_fee_clause(instalment=instalment),
    )


# --- Overdue items -----------------------------------------------------------


def invoice_ids_covered_by_agreements(
    *, customer: Customer, statuses: Iterable[str] = (SupplementaryAgreement.Status.APPROVED,)
) -> set[int]:
    """Ids of the customer's invoices replaced by an agreement in one of the statuses."""
    return set(
        SupplementaryAgreement.invoices.through.objects.filter(
            supplementaryagreement__customer=customer,
            supplementaryagreement__status__in=list(statuses),
        ).values_list("invoice_id", flat=True)
    )


@dataclass(frozen=True)
class OverdueItem:
    """An overdue invoice, or an overdue instalment of an approved agreement."""

    label: str
    due_date: date
    currency: str
    amount: Decimal
    outstanding: Decimal
    days_overdue: int
    invoice: Invoice | None = None
    instalment: AgreementInstalment | None = None
    disputed: bool = False
    promised: bool = False
    in_proposal: bool = False


def _active_policy_or_default() -> DunningPolicy:
    # The item queries read tolerance and promise grace from a policy; an
    # unsaved default stands in where no policy is installed.
    return policy_active() or DunningPolicy(name="default")


def customer_overdue_invoices(*, customer: Customer, as_of: date) -> QuerySet[Invoice]:
    """Invoices past due on as_of, owing at least the tolerance, not replaced by a plan.

    The same definition the daily run uses to open and close cases; each row
    carries `open_amount` and the pause flags (`is_disputed`, `is_promised`).
    """
    policy = _active_policy_or_default()
    return (
        invoice_items(as_of=as_of, policy=policy, customer_ids=[customer.pk])
        .filter(
            due_date__lt=as_of,
            open_amount__gt=0,
            open_amount__gte=policy.tolerance,
            is_replaced=False,
        )
        .order_by("due_date", "number")
    )


def customer_overdue_items(*, customer: Customer, as_of: date) -> list[OverdueItem]:
    """List what the customer owes past due: invoices, then overdue instalments of plans."""
    policy = _active_policy_or_default()
    invoices = list(customer_overdue_invoices(customer=customer, as_of=as_of))
    proposed = invoice_ids_covered_by_agreements(
        customer=customer, statuses=[SupplementaryAgreement.Status.PROPOSED]
    )
    items = [
        OverdueItem(
            label=invoice.number,
            due_date=invoice.due_date,
            currency=invoice.currency,
            amount=invoice.amount,
            outstanding=money_quantize(invoice.open_amount),
            days_overdue=(as_of - invoice.due_date).days,
            invoice=invoice,
            disputed=invoice.is_disputed,
            promised=invoice.is_promised,
            in_proposal=invoice.pk in proposed,
        )
        for invoice in invoices
    ]
    instalments = (
        instalment_items(as_of=as_of, policy=policy, customer_ids=[customer.pk])
        .filter(due_date__lt=as_of, open_amount__gt=0, open_amount__gte=policy.tolerance)
        .select_related("agreement")
        .order_by("due_date", "agreement_id", "sequence")
    )
    for instalment in instalments:
        items.append(
            OverdueItem(
                label=instalment_label(instalment),
                due_date=instalment.due_date,
                currency=instalment.currency_value,
                amount=instalment.amount,
                outstanding=money_quantize(instalment.open_amount),
                days_overdue=(as_of - instalment.due_date).days,
                instalment=instalment,
                disputed=instalment.is_disputed,
                promised=instalment.is_promised,
            )
        )
    return items


# --- Choices for the collection forms ----------------------------------------


def _open_invoices(*, customer: Customer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer=customer, status=Invoice.Status.OPEN).exclude(
        pk__in=invoice_ids_covered_by_agreements(customer=customer)
    )


def invoice_list_for_promise(*, customer: Customer) -> QuerySet[Invoice]:
    """Open invoices a promise to pay may cover (none already promised, none replaced)."""
    promised = PromiseToPay.invoices.through.objects.filter(
        promisetopay__customer=customer, promisetopay__status=PromiseToPay.Status.OPEN
    ).values("invoice_id")
    return _open_invoices(customer=customer).exclude(pk__in=promised).order_by("due_date", "number")


def invoice_list_for_dispute(*, customer: Customer) -> QuerySet[Invoice]:
    """Open invoices the customer may dispute (none already in an open dispute)."""
    disputed = Dispute.invoices.through.objects.filter(
        dispute__customer=customer, dispute__status=Dispute.Status.OPEN
    ).values("invoice_id")
    return (
        Invoice.objects.filter(customer=customer, status=Invoice.Status.OPEN)
        .exclude(pk__in=disputed)
        .order_by("due_date", "number")
    )


def invoice_list_for_agreement(*, customer: Customer, as_of: date) -> QuerySet[Invoice]:
    """Overdue open invoices not in an open dispute nor covered by a proposed or approved plan."""
    disputed = Dispute.invoices.through.objects.filter(
        dispute__customer=customer, dispute__status=Dispute.Status.OPEN
    ).values("invoice_id")
    covered = invoice_ids_covered_by_agreements(
        customer=customer,
        statuses=[SupplementaryAgreement.Status.PROPOSED, SupplementaryAgreement.Status.APPROVED],
    )
    return (
        Invoice.objects.filter(
            customer=customer, status=Invoice.Status.OPEN, due_date__lt=as_of, outstanding__gt=0
        )
        .exclude(pk__in=disputed)
        .exclude(pk__in=covered)
        .order_by("due_date", "number")
    )
