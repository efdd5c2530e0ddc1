"""The one home of the money: what an invoice still asks for, what is overdue, how it ages.

- As of any date, an invoice is open for its amount less the allocations of
  posted payments dated on or before the date and the credit notes issued on
  or before it (`invoice_open_amount`, one SQL expression; the same rule in
  Python is `open_amount_after`). A run or a report for a past date sees the
  book as it was that day.
- Today's figure is the stored `Invoice.outstanding` of open invoices
  (`invoices_open_today`): the payment services keep it under a row lock and
  refuse payments dated after the business date, so it always equals the
  as-of figure for today. Pages about today read it instead of history.
- An item is owed while it still owes at least the tolerance (`owing_q`); one
  owing less is settled ("no letter for ten cents"). It is overdue as of a
  date when its due date is before the date and it is owed (`overdue_q`,
  `is_overdue`). The
  tolerance is the dunning policy's (default 1.00): callers that know the
  policy pass it, as receivables imports neither contracts nor dunning.
- The customer's ledger balance at the end of a day (a statement of account's
  balance): what was invoiced (never cancelled invoices) and payments reversed,
  less what was paid and credited, each counted on its own date; a reversal is
  dated the day it was made, so a past balance never changes
  (`ledger_balance_expression` and its pieces `invoices_issued_as_of`,
  `payments_received_as_of`, `payment_reversals_as_of`, `credit_notes_as_of`).
- Ageing buckets by days past due: `current` (<= 0), `1-30`, `31-60`,
  `61-90`, `90+` (`BUCKETS`, `bucket_bounds`, `bucket_q`, `bucket_of`).
"""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.money import money_quantize
from receivables.models import CreditNote, Invoice, Payment, PaymentAllocation

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)
ZERO_AMOUNT = Decimal("0.00")
# Sums over SQLite come back through floats: an amount counts as open from half
# a cent, so a residue such as 1E-17 is not an open item.
HALF_CENT = Decimal("0.005")
DEFAULT_TOLERANCE = Decimal("1.00")

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
KEYS = (*BUCKETS, "total")
# Inclusive days-past-due range of each bucket; None is open-ended.
BUCKET_DAYS: dict[str, tuple[int | None, int | None]] = {
    "current": (None, 0),
    "1-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}


def cents(value: Decimal | int | None) -> Decimal:
    """Round an aggregate to cents; a float residue of SQLite (-1E-17) becomes 0.00."""
    amount = money_quantize(value or 0)
    return amount.copy_abs() if amount.is_zero() else amount


# --- The open amount as of a date ----------------------------------------------


def _sum(queryset: QuerySet, group: str) -> Subquery:
    """A correlated SUM subquery (grouped on the column the filter pins to one value)."""
    return Subquery(
        queryset.order_by().values(group).annotate(total=Sum("amount")).values("total")[:1],
        output_field=MONEY_FIELD,
    )


def allocations_as_of(*, as_of: date) -> QuerySet[PaymentAllocation]:
    """Allocations of posted payments dated on or before the date."""
    return PaymentAllocation.objects.filter(
        payment__status=Payment.Status.POSTED, payment__payment_date__lte=as_of
    )


def credit_notes_as_of(*, as_of: date) -> QuerySet[CreditNote]:
    """Credit notes issued on or before the date."""
    return CreditNote.objects.filter(issue_date__lte=as_of)


def issued_q(*, as_of: date, prefix: str = "") -> Q:
    """Condition on an invoice: issued on or before the date and never cancelled."""
    return Q(**{f"{prefix}issue_date__lte": as_of}) & ~Q(
        **{f"{prefix}status": Invoice.Status.CANCELLED}
    )


def invoices_issued_as_of(*, as_of: date) -> QuerySet[Invoice]:
    """Invoices issued on or before the date, never cancelled (a cancelled one is void)."""
    return Invoice.objects.filter(issued_q(as_of=as_of))


def payments_received_as_of(*, as_of: date) -> QuerySet[Payment]:
    """Payments dated on or before the date, including those reversed since (the ledger
    counts the reversal as its own entry, on the day it was made)."""
    return Payment.objects.filter(payment_date__lte=as_of)


def payment_reversals_as_of(*, as_of: date) -> QuerySet[Payment]:
    """Payments reversed on or before the date (the business date of `reversed_at`)."""
    return Payment.objects.filter(
        status=Payment.Status.REVERSED, reversed_at__isnull=False, reversed_at__date__lte=as_of
    )


def _customer_sum(queryset: QuerySet, *, customer: str, currency: str, ref: str) -> Expression:
    total = Subquery(
        queryset.filter(**{customer: OuterRef(ref), currency: OuterRef("ledger_currency")})
        .order_by()
        .values(customer)
        .annotate(total=Sum("amount"))
        .values("total")[:1],
        output_field=MONEY_FIELD,
    )
    return Coalesce(total, ZERO)


def ledger_balance_expression(*, as_of: date, ref: str = "pk") -> Expression:
    """Expression on a customer row annotated with `ledger_currency`: its ledger balance at
    the end of the date in that currency (invoiced + reversed - paid - credited)."""
    invoiced = _customer_sum(
        invoices_issued_as_of(as_of=as_of), customer="customer", currency="currency", ref=ref
    )
    reversed_ = _customer_sum(
        payment_reversals_as_of(as_of=as_of), customer="customer", currency="currency", ref=ref
    )
    paid = _customer_sum(
        payments_received_as_of(as_of=as_of), customer="customer", currency="currency", ref=ref
    )
    credited = _customer_sum(
        credit_notes_as_of(as_of=as_of),
        customer="invoice__customer",
        currency="invoice__currency",
        ref=ref,
    )
    return ExpressionWrapper(invoiced + reversed_ - paid - credited, output_field=MONEY_FIELD)


def invoice_reduced_amount(*, as_of: date, ref: str = "pk") -> Expression:
    """Expression on a row pointing at an invoice (`ref`): what lowered it by the date."""
    allocated = _sum(allocations_as_of(as_of=as_of).filter(invoice=OuterRef(ref)), "invoice")
    credited = _sum(credit_notes_as_of(as_of=as_of).filter(invoice=OuterRef(ref)), "invoice")
    return ExpressionWrapper(
        Coalesce(allocated, ZERO) + Coalesce(credited, ZERO), output_field=MONEY_FIELD
    )


def invoice_open_amount(*, as_of: date, ref: str = "pk", amount: str = "amount") -> Expression:
    """Expression on an invoice: its amount less posted payments dated, and credit notes
    issued, on or before as_of."""
    return ExpressionWrapper(
        F(amount) - invoice_reduced_amount(as_of=as_of, ref=ref), output_field=MONEY_FIELD
    )


def invoices_as_of(*, as_of: date, queryset: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices that existed on the date (issued by it, never cancelled) with `open_amount`."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    # A cancelled invoice is void from the start (issued by mistake); what
    # lowers a real invoice from a date on is a credit note.
    return queryset.filter(issued_q(as_of=as_of)).annotate(
        open_amount=invoice_open_amount(as_of=as_of)
    )


def invoices_maybe_open_as_of(
    *, as_of: date, queryset: QuerySet[Invoice] | None = None
) -> QuerySet[Invoice]:
    """Invoices that may have been open on the date, found without summing: open today, or
    lowered by something dated after it, or by a payment since reversed.

    From today on that is the open invoices alone (the open-invoice index): the services
    refuse payments and credit notes dated after the business date, and a reversal re-opens
    its invoices."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    existed = queryset.filter(issue_date__lte=as_of).exclude(status=Invoice.Status.CANCELLED)
    if as_of >= timezone.localdate():
        return existed.filter(status=Invoice.Status.OPEN)
    return existed.filter(
        Q(status=Invoice.Status.OPEN)
        | Exists(
            PaymentAllocation.objects.filter(
                invoice=OuterRef("pk"), payment__payment_date__gt=as_of
            )
        )
        | Exists(CreditNote.objects.filter(invoice=OuterRef("pk"), issue_date__gt=as_of))
        | Exists(
            PaymentAllocation.objects.filter(
                invoice=OuterRef("pk"), payment__status=Payment.Status.REVERSED
            )
        )
    )


def invoice_reductions(
    *, invoice_ids: Iterable[int], as_of: date
) -> dict[int, list[tuple[date, Decimal]]]:
    """Dated reductions (posted payments, credit notes) per invoice up to as_of, oldest first."""
    ids = list(invoice_ids)
    result: dict[int, list[tuple[date, Decimal]]] = {pk: [] for pk in ids}
    if not ids:
        return result
    allocations = (
        allocations_as_of(as_of=as_of)
        .filter(invoice_id__in=ids)
        .order_by()
        .values("invoice_id", "payment__payment_date")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "payment__payment_date", "total")
    )
    credit_notes = (
        credit_notes_as_of(as_of=as_of)
        .filter(invoice_id__in=ids)
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


def open_amount_after(*, amount: Decimal, reductions: Iterable[tuple[date, Decimal]]) -> Decimal:
    """What is left of an amount after its dated reductions (never negative)."""
    return money_quantize(max(amount - sum((value for _, value in reductions), ZERO_AMOUNT), 0))


def invoice_open_amount_on(*, invoice: Invoice, as_of: date) -> Decimal:
    """What the invoice still asked for at the end of as_of (the Python twin of the expression)."""
    return invoices_open_amounts_on(invoices=[invoice], as_of=as_of)[invoice.pk]


def invoices_open_amounts_on(*, invoices: Iterable[Invoice], as_of: date) -> dict[int, Decimal]:
    """`invoice_open_amount_on` for many invoices at once (two queries): pk to open amount."""
    invoices = list(invoices)
    existing = [
        invoice
        for invoice in invoices
        if invoice.status != Invoice.Status.CANCELLED and invoice.issue_date <= as_of
    ]
    reductions = invoice_reductions(invoice_ids=[invoice.pk for invoice in existing], as_of=as_of)
    result = {invoice.pk: ZERO_AMOUNT for invoice in invoices}
    for invoice in existing:
        result[invoice.pk] = open_amount_after(
            amount=invoice.amount, reductions=reductions[invoice.pk]
        )
    return result


# --- Today -------------------------------------------------------------------------


def invoices_open_today(queryset: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Open invoices; their stored `outstanding` is today's open amount."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    return queryset.filter(status=Invoice.Status.OPEN)


def invoices_with_open_amount(
    *, as_of: date, today: date | None, queryset: QuerySet[Invoice] | None = None
) -> QuerySet[Invoice]:
    """Invoices with `open_amount` as of the date: from today on the open items' stored
    `outstanding` (the open-invoice index, no history: nothing is dated after the business
    date, see `invoices_maybe_open_as_of`), for an earlier date the as-of expression."""
    if today is not None and as_of >= today:
        return (
            invoices_open_today(queryset)
            .filter(issue_date__lte=as_of)
            .annotate(open_amount=F("outstanding"))
        )
    return invoices_as_of(as_of=as_of, queryset=queryset)


# --- Overdue -----------------------------------------------------------------------


def open_q(*, amount: str = "outstanding") -> Q:
    """Condition: the item still owes something (half a cent and up)."""
    return Q(**{f"{amount}__gte": HALF_CENT})


def owing_q(
    *, tolerance: Decimal | Expression = DEFAULT_TOLERANCE, amount: str = "outstanding"
) -> Q:
    """Condition: the item still owes at least the tolerance (below it, it is settled), and
    half a cent whatever the tolerance: one comparison, so an open amount that is itself an
    expression (an instalment's) is computed once."""
    if isinstance(tolerance, Decimal | int):
        return Q(**{f"{amount}__gte": max(Decimal(tolerance), HALF_CENT)})
    # NULL compares differently in GREATEST (PostgreSQL) and MAX (SQLite): read as none.
    floor = Greatest(Coalesce(tolerance, ZERO), Value(HALF_CENT, output_field=MONEY_FIELD))
    return Q(**{f"{amount}__gte": floor})


def overdue_q(
    *,
    as_of: date,
    tolerance: Decimal | Expression = DEFAULT_TOLERANCE,
    amount: str = "outstanding",
    due: str = "due_date",
) -> Q:
    """Condition: due before the date and still owing at least the tolerance.

    `amount` names the open amount to test: the stored `outstanding` for
    today, or an annotated as-of amount (`open_amount`) for another date.
    `tolerance` may be an SQL expression (the policy's, read in the same query).
    """
    return Q(**{f"{due}__lt": as_of}) & owing_q(tolerance=tolerance, amount=amount)


def is_open(*, open_amount: Decimal) -> bool:
    """The Python twin of `open_q`."""
    return open_amount >= HALF_CENT


def is_owing(*, open_amount: Decimal, tolerance: Decimal = DEFAULT_TOLERANCE) -> bool:
    """The Python twin of `owing_q`."""
    return is_open(open_amount=open_amount) and open_amount >= tolerance


def is_overdue(
    *, due_date: date, open_amount: Decimal, as_of: date, tolerance: Decimal = DEFAULT_TOLERANCE
) -> bool:
    """The Python twin of `overdue_q`."""
    return due_date < as_of and is_owing(open_amount=open_amount, tolerance=tolerance)


# --- Ageing buckets ----------------------------------------------------------------


def bucket_label(bucket: str) -> str:
    """The bucket as a reader calls it, in the active language ("current" is "not yet due")."""
    from django.utils.translation import gettext

    if bucket == "current":
        return gettext("Current (not yet due)")
    if bucket == "total":
        return gettext("Total")
    return gettext("%(days)s days") % {"days": bucket}


def bucket_of(*, days: int) -> str:
    """The bucket of a number of days past due."""
    for bucket, (low, high) in BUCKET_DAYS.items():
        if (low is None or days >= low) and (high is None or days <= high):
            return bucket
    raise ValueError(days)  # pragma: no cover - the ranges cover every integer


def bucket_bounds(bucket: str, *, as_of: date) -> tuple[date | None, date | None]:
    """Due-date range (inclusive, None for open-ended) of an ageing bucket as of the date."""
    low_days, high_days = BUCKET_DAYS[bucket]
    earliest = None if high_days is None else as_of - timedelta(days=high_days)
    latest = None if low_days is None else as_of - timedelta(days=low_days)
    return earliest, latest


def bucket_q(bucket: str, *, as_of: date, due: str = "due_date") -> Q:
    """Condition on a due date: in the bucket as of the date (no date arithmetic in SQL)."""
    earliest, latest = bucket_bounds(bucket, as_of=as_of)
    condition = Q()
    if earliest is not None:
        condition &= Q(**{f"{due}__gte": earliest})
    if latest is not None:
        condition &= Q(**{f"{due}__lte": latest})
    return condition
