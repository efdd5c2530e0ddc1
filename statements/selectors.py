"""The statement of account: opening balance, the period's lines, running balance, closing.

Balances are the ledger balance of the balance module
(`receivables.selectors.balances.ledger_balance_expression`): what was invoiced
and reversed less what was paid and credited, each on its own date. Lines are
what is dated in the period: invoices and payment reversals as debits,
payments and credit notes as credits (cancelled invoices not at all), ordered
by date, debits before credits, then reference. A statement costs a constant
number of queries whatever its length.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.scoping import scope_for_user
from receivables.models import Customer
from receivables.selectors.ageing import ageing_report
from receivables.selectors.balances import (
    KEYS,
    ZERO_AMOUNT,
    cents,
    credit_notes_as_of,
    invoices_issued_as_of,
    ledger_balance_expression,
    payment_reversals_as_of,
    payments_received_as_of,
)
from statements.models import Statement

DEBIT_KINDS = ("invoice", "payment_reversal")
CREDIT_KINDS = ("payment", "credit_note")


@dataclass(frozen=True)
class StatementLine:
    date: date
    kind: str
    reference: str
    debit: Decimal | None
    credit: Decimal | None
    balance: Decimal

    def as_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "kind": self.kind,
            "reference": self.reference,
            # Every amount is a string with two decimals: the side a line is not on is 0.00.
            "debit": _amount(self.debit or ZERO_AMOUNT),
            "credit": _amount(self.credit or ZERO_AMOUNT),
            "balance": _amount(self.balance),
        }


@dataclass(frozen=True)
class StatementOfAccount:
    customer: Customer
    currency: str
    date_from: date
    date_to: date
    opening: Decimal
    closing: Decimal
    lines: list[StatementLine] = field(default_factory=list)
    # The closing date's open invoices by ageing bucket (the balance module's rule);
    # `unapplied` is the rest of the closing balance (credit not yet allocated).
    ageing: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit or Decimal("0.00") for line in self.lines), Decimal("0.00"))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit or Decimal("0.00") for line in self.lines), Decimal("0.00"))

    @property
    def unapplied(self) -> Decimal:
        return self.closing - self.ageing.get("total", Decimal("0.00"))

    def as_dict(self) -> dict[str, object]:
        """The machine format of DESIGN.md: amounts as strings with two decimals."""
        return {
            "customer_code": self.customer.code,
            "currency": self.currency,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "opening": _amount(self.opening),
            "closing": _amount(self.closing),
            "lines": [line.as_dict() for line in self.lines],
        }


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def customer_ledger_balance(*, customer: Customer, currency: str, as_of: date) -> Decimal:
    """The customer's ledger balance in the currency at the end of the date (one query)."""
    value = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(ledger_currency=Value(currency))
        .annotate(balance=ledger_balance_expression(as_of=as_of))
        .values_list("balance", flat=True)
        .get()
    )
    return cents(value)


def statement_closing_balances(*, customer: Customer, as_of: date) -> dict[str, Decimal]:
    """The closing balance per currency of the customer's statement ending on the date: the
    stored statement's closing when one was made for that period, else the ledger balance
    its statement would close at. The customer's own currency always; others when not zero.

    The one figure the customer's contact confirms (unallocated credit included): the
    statement they received, not the open invoices alone.
    """
    currencies = {customer.currency}
    currencies.update(
        invoices_issued_as_of(as_of=as_of)
        .filter(customer=customer)
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )
    currencies.update(
        payments_received_as_of(as_of=as_of)
        .filter(customer=customer)
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )
    stored = dict(
        Statement.objects.filter(customer=customer, period_end=as_of).values_list(
            "currency", "closing"
        )
    )
    balances = {}
    for currency in sorted(currencies):
        balance = stored.get(currency)
        if balance is None:
            balance = customer_ledger_balance(customer=customer, currency=currency, as_of=as_of)
        if currency == customer.currency or balance:
            balances[currency] = cents(balance)
    return balances


def _raw_lines(
    *, customer: Customer, currency: str, date_from: date, date_to: date
) -> list[tuple[date, int, str, str, Decimal]]:
    """(date, 0 debit / 1 credit, reference, kind, amount) of what is dated in the period."""
    before = date_from - timedelta(days=1)
    rows: list[tuple[date, int, str, str, Decimal]] = []
    invoices = (
        invoices_issued_as_of(as_of=date_to)
        .filter(customer=customer, currency=currency, issue_date__gt=before)
        .values_list("issue_date", "number", "amount")
    )
    rows.extend((day, 0, number, "invoice", amount) for day, number, amount in invoices)
    reversals = (
        payment_reversals_as_of(as_of=date_to)
        .exclude(pk__in=payment_reversals_as_of(as_of=before).values("pk"))
        .filter(customer=customer, currency=currency)
        .annotate(day=TruncDate("reversed_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "pk", "reference", "amount")
    )
    rows.extend(
        (_as_date(day), 0, _payment_reference(pk, reference), "payment_reversal", amount)
        for day, pk, reference, amount in reversals
    )
    payments = (
        payments_received_as_of(as_of=date_to)
        .filter(customer=customer, currency=currency, payment_date__gt=before)
        .values_list("payment_date", "pk", "reference", "amount")
    )
    rows.extend(
        (day, 1, _payment_reference(pk, reference), "payment", amount)
        for day, pk, reference, amount in payments
    )
    credit_notes = (
        credit_notes_as_of(as_of=date_to)
        .filter(invoice__customer=customer, invoice__currency=currency, issue_date__gt=before)
        .values_list("issue_date", "number", "amount")
    )
    rows.extend((day, 1, number, "credit_note", amount) for day, number, amount in credit_notes)
    rows.sort(key=lambda row: (row[0], row[1], row[2], row[3]))
    return rows


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _payment_reference(pk: int, reference: str) -> str:
    """A payment's bank reference, or its number here when it has none."""
    return reference or f"PAY-{pk}"


def statement_of_account(
    *, customer: Customer, date_from: date, date_to: date, currency: str | None = None
) -> StatementOfAccount:
    """The customer's statement for the period in its currency: opening at the end of the day
    before `date_from`, the period's lines with a running balance, closing, closing ageing."""
    if date_to < date_from:
        raise ValueError("The period ends before it starts.")
    currency = currency or customer.currency
    opening = customer_ledger_balance(
        customer=customer, currency=currency, as_of=date_from - timedelta(days=1)
    )
    balance = opening
    lines = []
    for day, side, reference, kind, amount in _raw_lines(
        customer=customer, currency=currency, date_from=date_from, date_to=date_to
    ):
        amount = cents(amount)
        balance = balance + amount if side == 0 else balance - amount
        lines.append(
            StatementLine(
                date=day,
                kind=kind,
                reference=reference,
                debit=amount if side == 0 else None,
                credit=amount if side == 1 else None,
                balance=balance,
            )
        )
    ageing = ageing_report(as_of=date_to, currency=currency, customer=customer).totals
    return StatementOfAccount(
        customer=customer,
        currency=currency,
        date_from=date_from,
        date_to=date_to,
        opening=opening,
        closing=balance,
        lines=lines,
        ageing={key: ageing.get(key, Decimal("0.00")) for key in KEYS},
    )


def statement_list_attention(
    *, user: AbstractBaseUser | AnonymousUser, stuck_after: timedelta | None = None
) -> QuerySet[Statement]:
    """Statements finance must see: failed ones, and ones left in sending past their lease."""
    stuck_since = timezone.now() - (stuck_after or settings.STATEMENT_LEASE)
    return (
        scope_for_user(Statement.objects.all(), user)
        .filter(
            Q(status=Statement.Status.FAILED)
            | Q(status=Statement.Status.SENDING, sending_started_at__lt=stuck_since)
        )
        .select_related("customer")
        .order_by("-period_start", "customer__code")
    )
