"""The manager's numbers, computed in the database: ageing, DSO, CEI, ladder, promises, top overdue.

Every function takes the user (whose scope bounds every number: a sales rep
only ever counts their own customers) and the dashboard filters (business
date, currency, optionally one rep). Amounts of different currencies are
never added up: each figure is in the one currency of the filters.

DSO, countback method
    Start from the receivables open at the end of the period (as the ageing
    report counts them) and walk back month by month through credit sales
    (invoices issued, cancelled ones excluded): while the receivables left
    exceed a month's sales, count all the days of that month and subtract its
    sales; in the month where they no longer do, count the fraction
    left / sales of its days, and stop. The current month counts only its
    days up to the business date. A month without sales counts all its days.

CEI, collection effectiveness index, per month
    (receivables at the start + credit sales - receivables at the end)
    / (receivables at the start + credit sales - current receivables at the end)
    * 100, where "current" means not yet due at the end of the month (the
    ageing's `current` bucket). 100 % means everything that could be
    collected was collected. Credit notes lower receivables like payments.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Count,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext, ngettext

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import (
    instalment_ageing,
    instalments_as_of,
    instalments_overdue,
    invoice_replaced,
    invoices_replaced,
)
from dashboards.selectors.common import (
    MONEY_FIELD,
    DashboardFilters,
    Period,
    User,
    cents,
    effective_rep_id,
    invoices_in_scope,
    month_start,
    periods_ending,
    previous_month_end,
    scoped,
)
from dashboards.selectors.snapshots import Position, snapshot_positions
from dunning.models import RUNG_RANKS, DunningStep, LevelCode, PromiseToPay
from dunning.policy import policy_tolerance_expression
from dunning.selectors import agreement_list_pending
from dunning.selectors.rungs import step_rank
from receivables.models import Customer, Invoice
from receivables.selectors.ageing import AgeingReport, AgeingRow, ageing_report, ageing_totals
from receivables.selectors.balances import (
    BUCKETS,
    KEYS,
    ZERO_AMOUNT,
    allocations_as_of,
    bucket_q,
    credit_notes_as_of,
    invoices_open_today,
    invoices_with_open_amount,
    open_q,
    overdue_q,
    owing_q,
)

ONE_PLACE = Decimal("0.1")
# How far before the first month shown the DSO countback may walk back.
DSO_LOOKBACK_MONTHS = 24
HUNDRED = Decimal(100)
RANK_LEVELS = {rank: level for level, rank in RUNG_RANKS.items()}


# --- Ageing ------------------------------------------------------------------


def _ageing_scope(*, user: User, filters: DashboardFilters) -> dict:
    rep_id = effective_rep_id(user=user, rep_id=filters.rep_id)
    return {
        "as_of": filters.as_of,
        "currency": filters.currency,
        "user": user,
        "rep": get_user_model()(pk=rep_id) if rep_id else None,
        "today": filters.today,
    }


def _instalment_ageing(*, user: User, filters: DashboardFilters, per_customer: bool) -> list:
    return instalment_ageing(
        as_of=filters.as_of,
        currency=filters.currency,
        queryset=scoped(
            AgreementInstalment.objects.all(),
            user=user,
            rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
        ),
        today=filters.is_today,
        per_customer=per_customer,
    )


def _with_instalments(
    totals: dict[str, Decimal], *, user: User, filters: DashboardFilters
) -> AgeingReport:
    """The invoices' bucket totals plus the plans' instalments, as one report of totals."""
    totals = dict(totals)
    for extra in _instalment_ageing(user=user, filters=filters, per_customer=False):
        for bucket in BUCKETS:
            totals[bucket] = cents(totals[bucket] + extra[bucket])
    totals["total"] = cents(sum((totals[bucket] for bucket in BUCKETS), ZERO_AMOUNT))
    return AgeingReport(as_of=filters.as_of, currency=filters.currency, totals=totals)


def ageing_for_dashboard(
    *, user: User, filters: DashboardFilters, per_customer: bool = False
) -> AgeingReport:
    """The ageing report (receivables' selector) in the user's scope and the filters, where
    an approved plan's instalments age by their own due dates instead of the invoices it
    replaces (two more grouped queries). Its rows per customer only when asked (the
    export): the charts need the totals, which cost what the open book costs."""
    scope = {
        **_ageing_scope(user=user, filters=filters),
        "invoices": Invoice.objects.exclude(invoice_replaced()),
    }
    if not per_customer:
        return _with_instalments(ageing_totals(**scope), user=user, filters=filters)
    instalments = _instalment_ageing(user=user, filters=filters, per_customer=True)
    rows = {row.customer_id: row for row in ageing_report(**scope).customers}
    for extra in instalments:
        row = rows.get(extra["customer_id"])
        amounts = {
            bucket: cents((row.amounts[bucket] if row else ZERO_AMOUNT) + extra[bucket])
            for bucket in BUCKETS
        }
        amounts["total"] = cents(sum((amounts[bucket] for bucket in BUCKETS), ZERO_AMOUNT))
        rows[extra["customer_id"]] = AgeingRow(
            customer_id=extra["customer_id"],
            code=extra["code"],
            name=extra["name"],
            amounts=amounts,
        )
    customers = sorted(
        (row for row in rows.values() if row.amounts["total"] > 0), key=lambda row: row.code
    )
    totals = {key: cents(sum((row.amounts[key] for row in customers), ZERO_AMOUNT)) for key in KEYS}
    return AgeingReport(
        as_of=filters.as_of, currency=filters.currency, totals=totals, customers=customers
    )


def ageing_and_receivables(
    *, user: User, filters: DashboardFilters
) -> tuple[AgeingReport, Position | None]:
    """The dashboard's ageing totals and, on the business date, the trend's receivables of
    that day (`receivables_today`'s figures), from one scan of the open invoices: all of them
    are the receivables; less the few an approved plan replaces (read through the plans),
    plus the plans' instalments, they are the ageing. Another date: (the ageing, None)."""
    if not filters.is_today:
        return ageing_for_dashboard(user=user, filters=filters), None
    scope = _ageing_scope(user=user, filters=filters)
    every = ageing_totals(**scope, invoices=Invoice.objects.all())
    replaced = ageing_totals(**scope, invoices=invoices_replaced())
    report = _with_instalments(
        {bucket: cents(every[bucket] - replaced[bucket]) for bucket in BUCKETS},
        user=user,
        filters=filters,
    )
    today = Position(receivables=every["total"], current=every["current"], month_sales=ZERO_AMOUNT)
    return report, today


def ageing_bucket_invoices(
    *, user: User, filters: DashboardFilters, bucket: str | None
) -> QuerySet[Invoice]:
    """Drill-down: the invoices open as of the date in one bucket (all buckets when None),
    with `open_amount` annotated, oldest due first; those an approved plan replaces are left
    out (their instalments age instead, as in the chart)."""
    invoices = invoices_with_open_amount(
        as_of=filters.as_of,
        today=filters.today,
        queryset=invoices_in_scope(user=user, filters=filters).exclude(invoice_replaced()),
    )
    if bucket is not None:
        invoices = invoices.filter(bucket_q(bucket, as_of=filters.as_of))
    return (
        invoices.select_related("customer", "customer__sales_rep")
        .filter(open_q(amount="open_amount"))
        .order_by("due_date", "number")
    )


def ageing_bucket_instalments(
    *, user: User, filters: DashboardFilters, bucket: str | None
) -> QuerySet[AgreementInstalment]:
    """Drill-down: the instalments of approved plans open as of the date in one bucket of
    their own due dates (all buckets when None), with `open_amount` and `label_base` (the
    first invoice replaced, as the run names them) annotated, oldest due first."""
    rep_id = effective_rep_id(user=user, rep_id=filters.rep_id)
    instalments = instalments_as_of(
        as_of=filters.as_of,
        queryset=scoped(AgreementInstalment.objects.all(), user=user, rep_id=rep_id),
    ).filter(currency_value=filters.currency)
    if bucket is not None:
        instalments = instalments.filter(bucket_q(bucket, as_of=filters.as_of))
    first_invoice = Invoice.objects.filter(
        supplementary_agreements=OuterRef("agreement_id")
    ).order_by("due_date", "number")
    return (
        instalments.annotate(label_base=Subquery(first_invoice.values("number")[:1]))
        .select_related("agreement", "agreement__customer", "agreement__customer__sales_rep")
        .filter(open_q(amount="open_amount"))
        .order_by("due_date", "agreement__number", "sequence")
    )


# --- Receivables over time -----------------------------------------------------


@dataclass(frozen=True)
class ReceivablesAt:
    """Receivables open at the end of a day, and the part of them not yet due."""

    total: Decimal
    current: Decimal


def receivables_at(
    *, user: User, filters: DashboardFilters, days: list[date]
) -> dict[date, ReceivablesAt]:
    """Receivables open at the end of each day (three queries whatever the number of days).

    Each invoice issued by the day counts for its amount, less the posted
    payments dated and credit notes issued by the day: the ageing's rule.
    """
    invoices = invoices_in_scope(user=user, filters=filters)
    invoice_ids = invoices.values("pk")

    def aggregates(issue: str, due: str, dated: str | None) -> dict[str, Sum]:
        result = {}
        for index, day in enumerate(days):
            condition = Q(**{f"{issue}__lte": day})
            if dated:
                condition &= Q(**{f"{dated}__lte": day})
            result[f"t{index}"] = Sum("amount", filter=condition, output_field=MONEY_FIELD)
            result[f"c{index}"] = Sum(
                "amount",
                filter=condition & bucket_q("current", as_of=day, due=due),
                output_field=MONEY_FIELD,
            )
        return result

    issued = invoices.aggregate(**aggregates("issue_date", "due_date", None))
    # Each day's sums keep what is dated by that day; the balance module gives the rest.
    paid = (
        allocations_as_of(as_of=max(days))
        .filter(invoice__in=invoice_ids)
        .aggregate(
            **aggregates("invoice__issue_date", "invoice__due_date", "payment__payment_date")
        )
    )
    credited = (
        credit_notes_as_of(as_of=max(days))
        .filter(invoice__in=invoice_ids)
        .aggregate(**aggregates("invoice__issue_date", "invoice__due_date", "issue_date"))
    )
    return {
        day: ReceivablesAt(
            total=cents(cents(issued[f"t{i}"]) - cents(paid[f"t{i}"]) - cents(credited[f"t{i}"])),
            current=cents(cents(issued[f"c{i}"]) - cents(paid[f"c{i}"]) - cents(credited[f"c{i}"])),
        )
        for i, day in enumerate(days)
    }


def receivables_today(*, user: User, filters: DashboardFilters) -> Position:
    """Receivables at the end of the business date from the open items' stored outstanding
    (one query over the open-invoice index)."""
    row = (
        invoices_open_today(invoices_in_scope(user=user, filters=filters))
        .filter(issue_date__lte=filters.as_of)
        .aggregate(
            total=Sum("outstanding", output_field=MONEY_FIELD),
            current=Sum(
                "outstanding",
                filter=bucket_q("current", as_of=filters.as_of),
                output_field=MONEY_FIELD,
            ),
        )
    )
    return Position(
        receivables=cents(row["total"]), current=cents(row["current"]), month_sales=ZERO_AMOUNT
    )


def monthly_sales(
    *, user: User, filters: DashboardFilters, since: date | None = None
) -> dict[date, Decimal]:
    """Credit sales (invoices issued, not cancelled) per calendar month up to the business date
    (from `since` on, when given)."""
    invoices = invoices_in_scope(user=user, filters=filters).filter(issue_date__lte=filters.as_of)
    if since is not None:
        invoices = invoices.filter(issue_date__gte=since)
    rows = (
        invoices.annotate(month=TruncMonth("issue_date"))
        .order_by()
        .values("month")
        .annotate(total=Sum("amount", output_field=MONEY_FIELD))
    )
    return {_as_date(row["month"]): cents(row["total"]) for row in rows}


def _as_date(value) -> date | None:
    """A date read back from the database: a datetime's day, or SQLite's text from a raw cursor."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def dso_countback(*, receivables: Decimal, end: date, sales: dict[date, Decimal]) -> Decimal:
    """Days sales outstanding at `end` by the countback method (see the module docstring)."""
    left = receivables
    days = Decimal(0)
    if left <= 0:
        return Decimal("0.0")
    first_month = min(sales) if sales else month_start(end)
    period = Period(start=month_start(end), end=end)
    while left > 0 and period.start >= first_month:
        month_sales = sales.get(period.start, Decimal(0))
        if month_sales <= 0:
            days += period.days
        elif left >= month_sales:
            days += period.days
            left -= month_sales
        else:
            days += left / month_sales * period.days
            left = Decimal(0)
        end_before = previous_month_end(period.start)
        period = Period(start=month_start(end_before), end=end_before)
    return days.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TrendPoint:
    """One month of the trends: DSO and CEI (None when undefined) with what made them."""

    period: Period
    receivables: Decimal
    current_receivables: Decimal
    opening_receivables: Decimal
    sales: Decimal
    dso: Decimal
    cei: Decimal | None
    # Computed from history: the business date, or a past date without a snapshot.
    live: bool = False

    @property
    def collected(self) -> Decimal:
        """What left the receivables during the month (payments and credit notes)."""
        return self.opening_receivables + self.sales - self.receivables


def cei_value(
    *, opening: Decimal, sales: Decimal, closing: Decimal, closing_current: Decimal
) -> Decimal | None:
    """CEI in percent with one decimal, or None when nothing was collectable."""
    collectable = opening + sales - closing_current
    if collectable <= 0:
        return None
    return ((opening + sales - closing) / collectable * HUNDRED).quantize(
        ONE_PLACE, rounding=ROUND_HALF_UP
    )


def kpi_trend(
    *,
    user: User,
    filters: DashboardFilters,
    months: int = 12,
    today: Position | None = None,
) -> list[TrendPoint]:
    """DSO (countback) and CEI for each of the last months, oldest first.

    Past month ends read the daily snapshots (two queries); only the business
    date itself, and a past date whose snapshot is missing, are computed from
    history (four more queries), and their points say `live`. The countback
    looks back at most DSO_LOOKBACK_MONTHS before the first month shown. `today`, the
    business date's position when the caller already has it (`ageing_and_receivables`),
    spares its query.
    """
    periods = periods_ending(as_of=filters.as_of, months=months)
    days = [previous_month_end(periods[0].start), *(period.end for period in periods)]
    lookback = [days[0]]
    while len(lookback) <= DSO_LOOKBACK_MONTHS:
        lookback.insert(0, previous_month_end(lookback[0]))
    wanted = sorted({*lookback, *days})
    history = snapshot_positions(
        user=user, filters=filters, days=[day for day in wanted if day != filters.today]
    )
    missing = [day for day in wanted if day not in history.covered]
    positions = {day: history.positions[day] for day in history.covered}
    sales = {
        month_start(day): position.month_sales
        for day, position in positions.items()
        if position.month_sales > 0
    }
    if missing:
        live_days = [day for day in days if day in missing and day != filters.today]
        if filters.today in missing:
            positions[filters.today] = (
                receivables_today(user=user, filters=filters) if today is None else today
            )
        if live_days:
            live = receivables_at(user=user, filters=filters, days=live_days)
            positions.update(
                {
                    day: Position(receivables=at.total, current=at.current, month_sales=ZERO_AMOUNT)
                    for day, at in live.items()
                }
            )
        missing_months = {month_start(day) for day in missing}
        live_sales = monthly_sales(user=user, filters=filters, since=min(missing_months))
        sales.update({m: total for m, total in live_sales.items() if m in missing_months})
    points = []
    opening = positions[days[0]]
    for period in periods:
        closing = positions[period.end]
        month_sales = sales.get(period.start, Decimal("0.00"))
        points.append(
            TrendPoint(
                period=period,
                receivables=closing.receivables,
                current_receivables=closing.current,
                opening_receivables=opening.receivables,
                sales=month_sales,
                dso=dso_countback(
                    receivables=closing.receivables,
                    end=period.end,
                    sales={m: s for m, s in sales.items() if m <= period.start},
                ),
                cei=cei_value(
                    opening=opening.receivables,
                    sales=month_sales,
                    closing=closing.receivables,
                    closing_current=closing.current,
                ),
                live=period.end in missing,
            )
        )
        opening = closing
    return points


# --- Ladder --------------------------------------------------------------------


@dataclass(frozen=True)
class LadderRow:
    """How many customers stand on a rung (`level` "" = overdue, not yet dunned)."""

    level: str
    label: str
    customers: int


def _rung_steps(*, as_of: date, currency: str | None) -> QuerySet[DunningStep]:
    """Rung steps fired by the date, with their `rank` (1 to 4)."""
    steps = DunningStep.objects.filter(fired_on__lte=as_of, level__in=list(RUNG_RANKS))
    if currency:
        steps = steps.filter(currency=currency)
    return steps.annotate(rank=step_rank())


def _owing(item: str) -> Q:
    """Condition on a step: its invoice or instalment still owes at least the policy's
    tolerance (today's figure: below it the item is settled, and its rung with it)."""
    return owing_q(tolerance=policy_tolerance_expression(), amount=f"{item}__outstanding")


def _owed_invoice_q() -> Q:
    """Condition on a step: its invoice is open and still owes."""
    return Q(_owing("invoice"), invoice__status=Invoice.Status.OPEN)


def _owed_instalment_q() -> Q:
    """Condition on a step: its instalment belongs to an approved plan and still owes."""
    return Q(
        _owing("instalment"),
        instalment__agreement__status=SupplementaryAgreement.Status.APPROVED,
    )


def _owed_invoice_rung_steps(*, as_of: date, currency: str | None) -> QuerySet[DunningStep]:
    """Rung steps of open invoices still owing that no approved plan replaces (an inner join
    to the open ones)."""
    return (
        _rung_steps(as_of=as_of, currency=currency)
        .filter(_owed_invoice_q())
        .exclude(invoice_replaced(ref="invoice_id"))
    )


def _owed_instalment_rung_steps(*, as_of: date, currency: str | None) -> QuerySet[DunningStep]:
    """Rung steps of the instalments of approved plans that still owe."""
    return _rung_steps(as_of=as_of, currency=currency).filter(_owed_instalment_q())


def _owed_rung_steps(*, as_of: date, currency: str | None = None) -> QuerySet[DunningStep]:
    """Rung steps fired by the date on items still owed, with their `rank` (1 to 4).

    Items still owed are open invoices not replaced by an approved plan, and
    instalments of approved plans, each owing at least the tolerance.
    """
    return (
        _rung_steps(as_of=as_of, currency=currency)
        .filter(
            Q(_owed_invoice_q(), instalment__isnull=True)
            | Q(_owed_instalment_q(), instalment__isnull=False)
        )
        .exclude(Q(invoice__isnull=False) & invoice_replaced(ref="invoice_id"))
    )


def customer_rung(*, as_of: date, currency: str | None = None) -> Subquery:
    """Per customer: the highest rung (1 to 4) reached by an item still owed, else None."""
    steps = (
        _owed_rung_steps(as_of=as_of, currency=currency)
        .filter(customer=OuterRef("pk"))
        .order_by("-rank")
        .values("rank")[:1]
    )
    return Subquery(steps, output_field=IntegerField())


def _rungs_per_customer(*, user: User, filters: DashboardFilters) -> list[QuerySet]:
    """Per customer in scope, the highest rung (1 to 4) an item still owed has reached, from
    the steps: one grouped query per kind of item, each an inner join PostgreSQL drives from
    its index. Today the invoices' part is left out: their overdue rows carry the rung they
    store (see `_overdue_items`)."""
    rep_id = effective_rep_id(user=user, rep_id=filters.rep_id)
    customers = scoped(Customer.objects.all(), user=user, rep_id=rep_id).values("pk")
    steps = [_owed_instalment_rung_steps(as_of=filters.as_of, currency=filters.currency)]
    if not filters.is_today:
        steps.append(_owed_invoice_rung_steps(as_of=filters.as_of, currency=filters.currency))
    return [
        rungs.filter(customer__in=customers)
        .order_by()
        .values("customer_id")
        .annotate(top=Max("rank"))
        .values_list("customer_id", "top")
        for rungs in steps
    ]


def ladder_distribution(*, user: User, filters: DashboardFilters) -> list[LadderRow]:
    """How many customers stand at each rung of the ladder (see `overdue_overview`)."""
    return overdue_overview(user=user, filters=filters, limit=0).ladder


# --- Promises ------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseStats:
    kept: int
    broken: int
    open: int
    kept_amount: Decimal
    broken_amount: Decimal

    @property
    def kept_rate(self) -> Decimal | None:
        """Kept promises as a percentage of the promises resolved, or None when none were."""
        resolved = self.kept + self.broken
        if not resolved:
            return None
        return (Decimal(self.kept) / resolved * HUNDRED).quantize(ONE_PLACE, ROUND_HALF_UP)


def promise_stats(*, user: User, filters: DashboardFilters, months: int = 12) -> PromiseStats:
    """Promises to pay falling due in the last months: kept, broken, still open (one query)."""
    start = periods_ending(as_of=filters.as_of, months=months)[0].start
    promises = scoped(
        PromiseToPay.objects.filter(
            currency=filters.currency, promised_date__gte=start, promised_date__lte=filters.as_of
        ),
        user=user,
        rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
    )
    kept, broken = Q(status=PromiseToPay.Status.KEPT), Q(status=PromiseToPay.Status.BROKEN)
    row = promises.aggregate(
        kept=Count("pk", filter=kept),
        broken=Count("pk", filter=broken),
        open=Count("pk", filter=Q(status=PromiseToPay.Status.OPEN)),
        kept_amount=Sum("amount", filter=kept, output_field=MONEY_FIELD),
        broken_amount=Sum("amount", filter=broken, output_field=MONEY_FIELD),
    )
    return PromiseStats(
        kept=row["kept"],
        broken=row["broken"],
        open=row["open"],
        kept_amount=cents(row["kept_amount"]),
        broken_amount=cents(row["broken_amount"]),
    )


# --- Top overdue ---------------------------------------------------------------


@dataclass(frozen=True)
class OverdueRow:
    """Overdue receivables of one rep or one customer as of the date."""

    key: int
    label: str
    detail: str
    overdue: Decimal
    invoices: int
    oldest_due: date | None

    def days_overdue(self, as_of: date) -> int | None:
        return (as_of - self.oldest_due).days if self.oldest_due else None


def _overdue_items(*, user: User, filters: DashboardFilters) -> list[QuerySet]:
    """What is past due in scope as of the date, one query per kind of item, each row an
    item: `customer_id`, its open amount, 1 (to count it), its due date and, today, the rung
    an invoice stores (the ladder's rungs of the open invoices come in the same scan: an
    invoice on a rung is overdue); otherwise 0, and `_rungs_per_customer` reads the steps.

    Invoices count by their own due dates unless an approved agreement
    replaces them; then the agreement's instalments count, by theirs.
    """
    tolerance = policy_tolerance_expression()
    one = Value(1, output_field=IntegerField())
    zero = Value(0, output_field=IntegerField())
    invoices = (
        invoices_with_open_amount(
            as_of=filters.as_of,
            today=filters.today,
            queryset=invoices_in_scope(user=user, filters=filters),
        )
        .filter(overdue_q(as_of=filters.as_of, tolerance=tolerance, amount="open_amount"))
        .exclude(invoice_replaced())
        .order_by()
        .values_list(
            "customer_id",
            "open_amount",
            one,
            "due_date",
            "dunning_rung" if filters.is_today else zero,
        )
    )
    instalments = (
        instalments_overdue(
            as_of=filters.as_of,
            tolerance=tolerance,
            queryset=scoped(
                AgreementInstalment.objects.all(),
                user=user,
                rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
            ),
            today=filters.is_today,
        )
        .filter(currency_value=filters.currency)
        .order_by()
        .values_list("agreement__customer_id", "open_amount", one, "due_date", zero)
    )
    return [invoices, instalments]


@dataclass(frozen=True)
class OverdueOverview:
    """What is past due in scope as of the date: its total, per rep, the customers owing
    most, and how many customers stand at each rung of the ladder."""

    total: Decimal
    by_rep: list[OverdueRow]
    by_customer: list[OverdueRow]
    ladder: list[LadderRow]


def _union_sql(querysets: list[QuerySet]) -> tuple[str, list]:
    parts = [queryset.query.sql_with_params() for queryset in querysets]
    return (
        " UNION ALL ".join(sql for sql, _ in parts),
        [param for _, params in parts for param in params],
    )


def overdue_overview(
    *, user: User, filters: DashboardFilters, limit: int | None = 10
) -> OverdueOverview:
    """The overdue figures of the dashboard, grouped in the database (one statement, then the
    names of the reps shown): what it costs follows the open book, and what comes back is a
    row per rep, the `limit` customers owing most (all when None) with their names, and a
    row per rung, not a row per customer.

    A customer stands at the highest rung any of its items still owed has
    reached; customers with something overdue and no rung yet are counted first.
    """
    try:
        overdue_sql, overdue_params = _union_sql(_overdue_items(user=user, filters=filters))
        rungs_sql, rungs_params = _union_sql(_rungs_per_customer(user=user, filters=filters))
    except EmptyResultSet:  # a scope that can see nothing
        return _overview(rep_rows=[], customer_rows=[], rank_counts={}, unranked=0, limit=limit)
    quote = connection.ops.quote_name
    customer_table = quote(Customer._meta.db_table)
    user_table = quote(get_user_model()._meta.db_table)
    top, cut = "", ""
    if limit is not None:
        top = f" LIMIT {int(limit)}"
        # Only the customers owing at least the limit-th largest amount are named (joined
        # to their customer and rep rows), not all of them: ties at the cut stay in.
        cut = (
            "WHERE ROUND(o.overdue, 2) >= COALESCE("
            "(SELECT ROUND(overdue, 2) FROM per_customer ORDER BY 1 DESC LIMIT 1 "
            f"OFFSET {max(int(limit) - 1, 0)}), "
            "(SELECT MIN(ROUND(overdue, 2)) FROM per_customer))"
        )
    # Ties at the cut ordered as Python orders them below: cents, then the code's characters.
    code_order = 'c.code COLLATE "C"' if connection.vendor == "postgresql" else "c.code"
    statement = f"""
        WITH items (customer_id, overdue, items, due_date, rung) AS ({overdue_sql}),
        per_customer AS (
            SELECT customer_id, SUM(overdue) AS overdue, SUM(items) AS items,
                   MIN(due_date) AS oldest, MAX(rung) AS rung
            FROM items GROUP BY customer_id
        ),
        rungs (customer_id, top) AS (
            {rungs_sql}
            UNION ALL SELECT customer_id, rung FROM per_customer WHERE rung > 0
        ),
        ranked AS (SELECT customer_id, MAX(top) AS top FROM rungs GROUP BY customer_id)
        SELECT 'rep', c.sales_rep_id, SUM(o.overdue), SUM(o.items), MIN(o.oldest), COUNT(*),
               NULL, NULL, NULL
        FROM per_customer o JOIN {customer_table} c ON c.id = o.customer_id
        GROUP BY c.sales_rep_id
        UNION ALL
        SELECT * FROM (
            SELECT 'customer', o.customer_id, o.overdue, o.items, o.oldest, 1,
                   c.code, c.name, u.username
            FROM per_customer o
            JOIN {customer_table} c ON c.id = o.customer_id
            JOIN {user_table} u ON u.id = c.sales_rep_id
            {cut}
            ORDER BY ROUND(o.overdue, 2) DESC, {code_order}{top}
        ) AS most
        UNION ALL
        SELECT 'rung', top, NULL, NULL, NULL, COUNT(*), NULL, NULL, NULL
        FROM ranked GROUP BY top
        UNION ALL
        SELECT 'unranked', NULL, NULL, NULL, NULL, COUNT(*), NULL, NULL, NULL
        FROM per_customer o
        WHERE NOT EXISTS (SELECT 1 FROM ranked r WHERE r.customer_id = o.customer_id)
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [*overdue_params, *rungs_params])
        rows = cursor.fetchall()
    grouped: dict[str, list[tuple]] = {"rep": [], "customer": [], "rung": [], "unranked": []}
    for kind, *values in rows:
        grouped[kind].append(values)
    [(*_, unranked, _code, _name, _rep)] = grouped["unranked"]
    return _overview(
        rep_rows=[row[:5] for row in grouped["rep"]],
        customer_rows=[(*row[:4], *row[5:]) for row in grouped["customer"]],
        rank_counts={rank: count for rank, _, _, _, count, *_ in grouped["rung"]},
        unranked=unranked,
        limit=limit,
    )


def _overview(
    *,
    rep_rows: list[tuple],
    customer_rows: list[tuple],
    rank_counts: dict[int, int],
    unranked: int,
    limit: int | None,
) -> OverdueOverview:
    """The overview from the statement's rows: the reps' names read once (a row per rep)."""
    reps = {
        rep["pk"]: rep
        for rep in get_user_model()
        .objects.filter(pk__in=[key for key, *_ in rep_rows])
        .values("pk", "username", "first_name", "last_name")
    }
    by_rep = sorted(
        (
            OverdueRow(
                key=key,
                label=reps[key]["username"],
                detail=" ".join(filter(None, (reps[key]["first_name"], reps[key]["last_name"])))
                + " · "
                + ngettext("%(count)d customer", "%(count)d customers", count) % {"count": count},
                overdue=_money(overdue),
                invoices=int(items),
                oldest_due=_as_date(oldest),
            )
            for key, overdue, items, oldest, count in rep_rows
        ),
        key=lambda row: (-row.overdue, row.label),
    )
    customers = sorted(
        (
            (
                code,
                OverdueRow(
                    key=key,
                    label=f"{code} {name}",
                    detail=rep_username,
                    overdue=_money(overdue),
                    invoices=int(items),
                    oldest_due=_as_date(oldest),
                ),
            )
            for key, overdue, items, oldest, code, name, rep_username in customer_rows
        ),
        key=lambda pair: (-pair[1].overdue, pair[0]),
    )
    ladder = [LadderRow(level="", label=gettext("Overdue, not yet dunned"), customers=unranked)]
    ladder += [
        LadderRow(
            level=level, label=str(LevelCode(level).label), customers=rank_counts.get(rank, 0)
        )
        for level, rank in RUNG_RANKS.items()
    ]
    return OverdueOverview(
        total=cents(sum((row.overdue for row in by_rep), ZERO_AMOUNT)),
        by_rep=by_rep if limit is None else by_rep[:limit],
        by_customer=[row for _code, row in customers],
        ladder=ladder,
    )


def _money(value: Decimal | float) -> Decimal:
    """A sum read back by a raw cursor: SQLite gives a float, which `cents` rounds as the
    ORM's converter does."""
    return cents(Decimal(str(value)) if isinstance(value, float) else value)


def overdue_by_rep(
    *, user: User, filters: DashboardFilters, limit: int | None = 10
) -> list[OverdueRow]:
    """Overdue receivables per sales rep as of the date, largest first."""
    return overdue_overview(user=user, filters=filters, limit=limit).by_rep


def overdue_by_customer(
    *, user: User, filters: DashboardFilters, limit: int | None = 10
) -> list[OverdueRow]:
    """Overdue receivables per customer as of the date, largest first."""
    return overdue_overview(user=user, filters=filters, limit=limit).by_customer


# --- Approvals -------------------------------------------------------------------


def agreements_pending(*, user: User, filters: DashboardFilters) -> QuerySet:
    """Supplementary agreements waiting for a manager, in scope, oldest first."""
    return scoped(
        agreement_list_pending(),
        user=user,
        rep_id=effective_rep_id(user=user, rep_id=filters.rep_id),
    )
