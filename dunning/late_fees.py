"""Late fees, by DESIGN.md's rule.

For each day d with due + grace < d <= as_of, the fee accrues the daily rate
on the balance outstanding at the start of d: reductions (payments, credit
notes) dated on or before d - 1 are applied, so the payment day itself still
accrues. The sum is exact and rounded half-up to cents once, at the end, then
capped at cap % of the amount overdue on the due date.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ObjectDoesNotExist

from core.money import money_quantize
from dunning.policy import policy_active
from receivables.models import Invoice
from receivables.selectors.balances import invoice_reductions

DAYS_PER_YEAR = Decimal(365)
HUNDRED = Decimal(100)


class HasLateFeeTerms(Protocol):
    late_fee_rate_percent: Decimal | None
    late_fee_rate_period: str
    late_fee_grace_days: int
    late_fee_cap_percent: Decimal | None


@dataclass(frozen=True)
class LateFeeClause:
    """A late-fee clause: percent per day or per year, grace days, optional cap %."""

    rate_percent: Decimal
    period: str = "day"
    grace_days: int = 0
    cap_percent: Decimal | None = None

    @classmethod
    def from_terms(cls, terms: HasLateFeeTerms) -> "LateFeeClause":
        """Read the clause of a contract, an agreement or a policy."""
        return cls(
            rate_percent=terms.late_fee_rate_percent or Decimal(0),
            period=terms.late_fee_rate_period,
            grace_days=terms.late_fee_grace_days,
            cap_percent=terms.late_fee_cap_percent,
        )

    @property
    def daily_fraction(self) -> Decimal:
        """The share of the balance that accrues each day."""
        fraction = self.rate_percent / HUNDRED
        return fraction / DAYS_PER_YEAR if self.period == "year" else fraction


# DESIGN.md's policy default: 0.05 % a day, no grace, no cap.
POLICY_DEFAULT_CLAUSE = LateFeeClause(rate_percent=Decimal("0.05"))


def late_fee_compute(
    *,
    amount: Decimal,
    due_date: date,
    as_of: date,
    reductions: Iterable[tuple[date, Decimal]],
    clause: LateFeeClause,
) -> Decimal:
    """Compute the fee owed on `amount` due `due_date`, as of `as_of`.

    `reductions` are (date, amount) pairs that lower the balance from the
    day after their date on.
    """
    first_day = due_date + timedelta(days=clause.grace_days + 1)
    if as_of < first_day or clause.rate_percent == 0:
        return Decimal("0.00")
    by_date: dict[date, Decimal] = {}
    for when, value in reductions:
        by_date[when] = by_date.get(when, Decimal(0)) + value
    # Balance at the start of the first accruing day, then day by day.
    balance = amount - sum(
        (value for when, value in by_date.items() if when < first_day), Decimal(0)
    )
    overdue_on_due_date = amount - sum(
        (value for when, value in by_date.items() if when <= due_date), Decimal(0)
    )
    accrued_balance_days = Decimal(0)
    day = first_day
    while day <= as_of:
        accrued_balance_days += max(balance, Decimal(0))
        balance -= by_date.get(day, Decimal(0))
        day += timedelta(days=1)
    fee = money_quantize(accrued_balance_days * clause.daily_fraction)
    if clause.cap_percent is not None:
        cap = money_quantize(max(overdue_on_due_date, Decimal(0)) * clause.cap_percent / HUNDRED)
        fee = min(fee, cap)
    return fee


def invoice_late_fee_clause(*, invoice: Invoice) -> LateFeeClause:
    """The clause of the invoice's contract, or the active policy's default terms."""
    try:
        contract = invoice.milestone.contract
    except ObjectDoesNotExist:
        contract = None
    if contract is not None and contract.late_fee_rate_percent is not None:
        return LateFeeClause.from_terms(contract)
    return policy_late_fee_clause()


def policy_late_fee_clause() -> LateFeeClause:
    """The active policy's default late-fee terms (0.05 % a day when none is installed)."""
    policy = policy_active()
    if policy is None or policy.late_fee_rate_percent is None:
        return POLICY_DEFAULT_CLAUSE
    return LateFeeClause.from_terms(policy)


def invoice_late_fee(*, invoice: Invoice, as_of: date) -> Decimal:
    """The late fee owed on an invoice as of a date, by its contract clause or the policy."""
    return late_fee_compute(
        amount=invoice.amount,
        due_date=invoice.due_date,
        as_of=as_of,
        reductions=invoice_reductions(invoice_ids=[invoice.pk], as_of=as_of)[invoice.pk],
        clause=invoice_late_fee_clause(invoice=invoice),
    )
