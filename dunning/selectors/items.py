"""Reads over collectible items: late fees of instalments, overdue items, form choices.

Open amounts come from the one balance module (`receivables.selectors.balances`
and, for instalments, `contracts.selectors.instalments`); policy values from
`dunning.policy`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import InstalmentPosition, agreement_instalment_positions
from core.money import money_quantize
from dunning.late_fees import (
    LateFeeClause,
    invoice_late_fee_clause,
    late_fee_compute,
    policy_late_fee_clause,
)
from dunning.models import (
    Dispute,
    PromiseToPay,
    instalment_label,
)
from dunning.policy import policy_active_or_default, policy_tolerance
from dunning.services.items import instalment_items, invoice_items
from receivables.models import Customer, Invoice
from receivables.selectors.balances import invoices_open_today, overdue_q

User = AbstractBaseUser | AnonymousUser


# --- Late fees of instalments -----------------------------------------------


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
    return policy_late_fee_clause()


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


def customer_overdue_invoices(*, customer: Customer, as_of: date) -> QuerySet[Invoice]:
    """Invoices past due on as_of, owing at least the tolerance, not replaced by a plan.

    The same definition the daily run uses to open and close cases; each row
    carries `open_amount` and the pause flags (`is_disputed`, `is_promised`).
    """
    policy = policy_active_or_default()
    return (
        invoice_items(as_of=as_of, policy=policy, customer_ids=[customer.pk])
        .filter(
            overdue_q(as_of=as_of, tolerance=policy.tolerance, amount="open_amount"),
            is_replaced=False,
        )
        .order_by("due_date", "number")
    )


def customer_overdue_items(*, customer: Customer, as_of: date) -> list[OverdueItem]:
    """List what the customer owes past due: invoices, then overdue instalments of plans."""
    policy = policy_active_or_default()
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
        .filter(overdue_q(as_of=as_of, tolerance=policy.tolerance, amount="open_amount"))
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
    return invoices_open_today(Invoice.objects.filter(customer=customer)).exclude(
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
        invoices_open_today(Invoice.objects.filter(customer=customer))
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
        invoices_open_today(Invoice.objects.filter(customer=customer))
        .filter(overdue_q(as_of=as_of, tolerance=policy_tolerance()))
        .exclude(pk__in=disputed)
        .exclude(pk__in=covered)
        .order_by("due_date", "number")
    )
