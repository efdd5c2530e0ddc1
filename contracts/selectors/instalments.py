"""Instalment balances of supplementary agreements, built on receivables' open amount.

An approved agreement replaces the due dates of the invoices it covers with
its instalments. At approval the instalments sum to exactly what those
invoices still owed, so whatever lowers the invoices afterwards is paid
towards the plan and settles the first instalment first. As of a date, with
R = what the covered invoices still owe, instalment n is open for
min(amount_n, max(0, R - the sum of the later instalments)).

`instalment_open_amount` is that rule as one SQL expression, and
`instalment_open_amounts` / `agreement_instalment_positions` the same rule in
Python; property tests hold them equal. Today's figure is stored on the
instalment, as the invoices store theirs: `contracts.services.instalments`
writes it with `instalment_open_amount_today` whenever the invoices' balances
move, and today's readers (as_of None) read the column.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    DateField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from contracts.models import AgreementInstalment, SupplementaryAgreement
from core.money import money_quantize
from receivables.models import Customer, Invoice
from receivables.selectors.balances import (
    BUCKETS,
    MONEY_FIELD,
    ZERO,
    ZERO_AMOUNT,
    bucket_q,
    cents,
    invoice_open_amount,
    invoice_reductions,
    invoices_maybe_open_as_of,
    invoices_open_today,
    invoices_with_open_amount,
    overdue_q,
)


def _approved_links() -> QuerySet:
    """The links of approved agreements to the invoices they replace."""
    return SupplementaryAgreement.invoices.through.objects.filter(
        supplementaryagreement__status=SupplementaryAgreement.Status.APPROVED
    )


def invoice_replaced(*, ref: str = "pk") -> Exists:
    """Expression on a row pointing at an invoice (`ref`): an approved agreement replaces it."""
    return Exists(_approved_links().filter(invoice_id=OuterRef(ref)))


def invoices_replaced() -> QuerySet[Invoice]:
    """The invoices an approved agreement replaces, found through the agreements (a few
    thousand rows) rather than by testing every invoice with `invoice_replaced`."""
    return Invoice.objects.filter(pk__in=_approved_links().values("invoice_id"))


def _covered_invoices(*, ref: str) -> QuerySet[Invoice]:
    return Invoice.objects.filter(supplementary_agreements=OuterRef(ref)).exclude(
        status=Invoice.Status.CANCELLED
    )


def agreement_remaining_amount(*, as_of: date | None, ref: str = "agreement_id") -> Expression:
    """Expression on a row pointing at an agreement: what its invoices owe as of the date,
    or today (as_of None: their stored `outstanding`, no history read)."""
    covered = _covered_invoices(ref=ref)
    if as_of is None:
        covered = covered.annotate(open_amount=F("outstanding"))
    else:
        covered = covered.annotate(open_amount=invoice_open_amount(as_of=as_of))
    remaining = Subquery(
        covered.order_by()
        .values("supplementary_agreements")
        .annotate(total=Sum("open_amount"))
        .values("total")[:1],
        output_field=MONEY_FIELD,
    )
    return Coalesce(remaining, ZERO)


def _instalment_open_amount(*, remaining: Expression) -> Expression:
    """The rule (see the module) on an instalment, given what its agreement's invoices owe."""
    later = Subquery(
        AgreementInstalment.objects.filter(
            agreement_id=OuterRef("agreement_id"), sequence__gt=OuterRef("sequence")
        )
        .order_by()
        .values("agreement")
        .annotate(total=Sum("amount"))
        .values("total")[:1],
        output_field=MONEY_FIELD,
    )
    return ExpressionWrapper(
        Least(Greatest(remaining - Coalesce(later, ZERO), ZERO), F("amount")),
        output_field=MONEY_FIELD,
    )


def instalment_open_amount_today() -> Expression:
    """Expression on an instalment: what it asks for today, from its invoices' stored
    outstanding (what `contracts.services.instalments` stores)."""
    return _instalment_open_amount(remaining=agreement_remaining_amount(as_of=None))


def instalment_currency() -> Expression:
    """Expression on an instalment: the currency of the first invoice its agreement replaces,
    else the customer's (what `contracts.services.instalments` stores)."""
    first = _covered_invoices(ref="agreement_id").order_by("due_date", "pk").values("currency")
    # A subquery, not a join: the expression sets a column in an UPDATE.
    customers = SupplementaryAgreement.objects.filter(pk=OuterRef("agreement_id"))
    return Coalesce(Subquery(first[:1]), Subquery(customers.values("customer__currency")[:1]))


def instalment_open_amount(*, as_of: date | None) -> Expression:
    """Expression on an instalment: what it still asks for as of the date (see the module),
    or today when as_of is None: the stored figure."""
    if as_of is None:
        return F("outstanding")
    return _instalment_open_amount(remaining=agreement_remaining_amount(as_of=as_of))


def instalments_as_of(
    *, as_of: date | None, queryset: QuerySet[AgreementInstalment] | None = None
) -> QuerySet[AgreementInstalment]:
    """Instalments of approved agreements with `open_amount` (as of the date, or today when
    None), `currency_value` (that of the invoices replaced, else the customer's) and
    `customer_id_value`."""
    queryset = AgreementInstalment.objects.all() if queryset is None else queryset
    return queryset.filter(agreement__status=SupplementaryAgreement.Status.APPROVED).annotate(
        customer_id_value=F("agreement__customer_id"),
        currency_value=F("currency"),
        open_amount=instalment_open_amount(as_of=as_of),
    )


def instalment_open_amounts(*, amounts: Sequence[Decimal], remaining: Decimal) -> list[Decimal]:
    """The Python twin of the expression: open amount of each instalment, in sequence order."""
    result = []
    later = sum(amounts, ZERO_AMOUNT)
    for amount in amounts:
        later -= amount
        result.append(money_quantize(min(amount, max(remaining - later, ZERO_AMOUNT))))
    return result


@dataclass(frozen=True)
class InstalmentPosition:
    """An instalment's balance as of a date and the dated reductions that made it."""

    instalment: AgreementInstalment
    outstanding: Decimal
    reductions: list[tuple[date, Decimal]] = field(default_factory=list)


def agreement_instalment_positions(
    *, agreement: SupplementaryAgreement, as_of: date
) -> dict[int, InstalmentPosition]:
    """Balance of each instalment as of the date, with the dated reductions that made it
    (what the late fee of an instalment accrues on)."""
    instalments = list(agreement.instalments.order_by("sequence"))
    invoices = [i for i in agreement.invoices.all() if i.status != Invoice.Status.CANCELLED]
    invoiced_total = sum((invoice.amount for invoice in invoices), ZERO_AMOUNT)
    by_date: dict[date, Decimal] = defaultdict(lambda: ZERO_AMOUNT)
    for reductions in invoice_reductions(
        invoice_ids=[invoice.pk for invoice in invoices], as_of=as_of
    ).values():
        for when, value in reductions:
            by_date[when] += value
    amounts = [instalment.amount for instalment in instalments]
    # The open amounts before any reduction, then after each reduction date.
    steps: list[tuple[date | None, list[Decimal]]] = [
        (None, instalment_open_amounts(amounts=amounts, remaining=invoiced_total))
    ]
    remaining = invoiced_total
    for when in sorted(by_date):
        remaining -= by_date[when]
        steps.append((when, instalment_open_amounts(amounts=amounts, remaining=remaining)))
    positions: dict[int, InstalmentPosition] = {}
    for index, instalment in enumerate(instalments):
        previous = instalment.amount
        reductions: list[tuple[date, Decimal]] = []
        for when, opens in steps:
            current = opens[index]
            if current != previous and when is not None:
                reductions.append((when, previous - current))
            previous = current
        positions[instalment.pk] = InstalmentPosition(
            instalment=instalment, outstanding=previous, reductions=reductions
        )
    return positions


def instalment_outstanding(*, instalment: AgreementInstalment, as_of: date) -> Decimal:
    """What an instalment of an agreement still asks for at the end of as_of."""
    positions = agreement_instalment_positions(agreement=instalment.agreement, as_of=as_of)
    return positions[instalment.pk].outstanding


# --- Overdue once plans count ------------------------------------------------------
#
# After an approved agreement, what is overdue on its invoices is its unpaid
# instalments past their own due dates; the invoices keep their original due
# dates, but do not count as overdue themselves.


def invoices_overdue(
    *, as_of: date, tolerance: Decimal | Expression, queryset: QuerySet[Invoice] | None = None
) -> QuerySet[Invoice]:
    """Open invoices past due owing at least the tolerance (stored `outstanding`: today's
    figure), except those an approved agreement replaces."""
    return (
        invoices_open_today(queryset)
        .filter(overdue_q(as_of=as_of, tolerance=tolerance))
        .exclude(invoice_replaced())
    )


def instalments_overdue(
    *,
    as_of: date,
    tolerance: Decimal | Expression,
    queryset: QuerySet[AgreementInstalment] | None = None,
    today: bool = True,
) -> QuerySet[AgreementInstalment]:
    """Instalments of approved agreements past their due date, owing at least the tolerance.

    `today` reads today's open amounts (stored on the invoices, as_of is the
    business date); otherwise they are computed as of the date from history.
    """
    return instalments_as_of(as_of=None if today else as_of, queryset=queryset).filter(
        overdue_q(as_of=as_of, tolerance=tolerance, amount="open_amount")
    )


def customer_ids_overdue(
    *, as_of: date, tolerance: Decimal | Expression, customer_ids: Iterable[int] | None
) -> set[int]:
    """Of these customers, those with something overdue as of the date (for a past date read
    from history, so a run for it sees that day): an invoice no approved agreement replaces, or
    an instalment. Pauses (disputes, promises) do not matter, the tolerance does. With
    `customer_ids` None, of all customers.

    One EXISTS per customer: it stops at the customer's first overdue item instead of
    reading every overdue invoice of the book to keep their distinct customers.
    """
    customers = Customer.objects.all()
    invoices = Invoice.objects.filter(customer=OuterRef("pk"))
    instalments = AgreementInstalment.objects.filter(agreement__customer=OuterRef("pk"))
    if customer_ids is not None:
        ids = list(customer_ids)
        customers = customers.filter(pk__any_of=ids)
        # The keys inside too: for a long list PostgreSQL runs the EXISTS as one hashed read
        # instead of a probe per customer, and that read must not be the whole book's.
        invoices = invoices.filter(customer_id__any_of=ids)
        instalments = instalments.filter(agreement__customer_id__any_of=ids)
    today = timezone.localdate()
    # Only what may be open on the date: from today on, the open-invoice index and the
    # stored outstanding, so the cost follows the open book and not the history.
    maybe_open = invoices_maybe_open_as_of(as_of=as_of, queryset=invoices)
    overdue_invoices = (
        invoices_with_open_amount(as_of=as_of, today=today, queryset=maybe_open)
        .filter(overdue_q(as_of=as_of, tolerance=tolerance, amount="open_amount"))
        .exclude(invoice_replaced())
    )
    overdue_instalments = instalments_overdue(
        as_of=as_of,
        tolerance=tolerance,
        queryset=instalments,
        today=as_of >= today,
    )
    return set(
        customers.filter(Exists(overdue_invoices) | Exists(overdue_instalments))
        .order_by()
        .values_list("pk", flat=True)
    )


def _customer_sum(queryset: QuerySet, *, group: str, value: str) -> Subquery:
    return Subquery(
        queryset.order_by().values(group).annotate(total=Sum(value)).values("total")[:1],
        output_field=MONEY_FIELD,
    )


def customer_overdue_amount(
    *, as_of: date, tolerance: Decimal | Expression, ref: str = "pk", currency: str | None = None
) -> Expression:
    """Expression on a row pointing at a customer (`ref`): overdue invoices plus overdue
    instalments, in one currency when given."""
    invoices = Invoice.objects.filter(customer=OuterRef(ref))
    instalments = AgreementInstalment.objects.filter(agreement__customer=OuterRef(ref))
    overdue_instalments = instalments_overdue(
        as_of=as_of, tolerance=tolerance, queryset=instalments
    )
    if currency is not None:
        invoices = invoices.filter(currency=currency)
        overdue_instalments = overdue_instalments.filter(currency_value=currency)
    return ExpressionWrapper(
        Coalesce(
            _customer_sum(
                invoices_overdue(as_of=as_of, tolerance=tolerance, queryset=invoices),
                group="customer",
                value="outstanding",
            ),
            ZERO,
        )
        + Coalesce(
            _customer_sum(overdue_instalments, group="agreement__customer", value="open_amount"),
            ZERO,
        ),
        output_field=MONEY_FIELD,
    )


def customer_oldest_overdue_due(
    *, as_of: date, tolerance: Decimal | Expression, ref: str = "pk"
) -> Expression:
    """Expression on a row pointing at a customer: the earliest due date of what is overdue."""
    invoice_due = Subquery(
        invoices_overdue(
            as_of=as_of,
            tolerance=tolerance,
            queryset=Invoice.objects.filter(customer=OuterRef(ref)),
        )
        .order_by("due_date")
        .values("due_date")[:1]
    )
    instalment_due = Subquery(
        instalments_overdue(
            as_of=as_of,
            tolerance=tolerance,
            queryset=AgreementInstalment.objects.filter(agreement__customer=OuterRef(ref)),
        )
        .order_by("due_date")
        .values("due_date")[:1]
    )
    # LEAST of a NULL is NULL on SQLite, the other value on PostgreSQL: pair each with the other.
    return Least(
        Coalesce(invoice_due, instalment_due),
        Coalesce(instalment_due, invoice_due),
        output_field=DateField(),
    )


def instalment_ageing(
    *,
    as_of: date,
    currency: str,
    queryset: QuerySet[AgreementInstalment] | None = None,
    today: bool = False,
    per_customer: bool = True,
) -> list[dict[str, object]]:
    """Open instalments of approved plans per customer and ageing bucket of their own due
    dates, as of the date (one grouped query): `customer_id`, `code`, `name`, then the
    amounts under the bucket names; without `per_customer`, one row of the buckets' totals.
    `today` says as_of is the business date: the open amounts then read the invoices'
    stored outstanding instead of their history."""
    aliases = {f"bucket_{index}": bucket for index, bucket in enumerate(BUCKETS)}
    instalments = (
        instalments_as_of(as_of=None if today else as_of, queryset=queryset)
        .filter(currency_value=currency)
        .order_by()
    )
    sums = {
        alias: Sum(
            Case(
                When(bucket_q(bucket, as_of=as_of), then=F("open_amount")),
                default=ZERO,
                output_field=MONEY_FIELD,
            ),
            output_field=MONEY_FIELD,
        )
        for alias, bucket in aliases.items()
    }
    if not per_customer:
        totals = instalments.aggregate(**sums)
        return [{bucket: cents(totals[alias]) for alias, bucket in aliases.items()}]
    rows = instalments.values(
        "agreement__customer_id", "agreement__customer__code", "agreement__customer__name"
    ).annotate(**sums)
    return [
        {
            "customer_id": row["agreement__customer_id"],
            "code": row["agreement__customer__code"],
            "name": row["agreement__customer__name"],
        }
        | {bucket: cents(row[alias]) for alias, bucket in aliases.items()}
        for row in rows
    ]
