"""Reads of acceptance bills: lists in the user's scope, maturity windows, cash against bills.

A bill is *in hand* (collected, not yet cash) from the day it is received until
the day it is endorsed, discounted, collected or dishonoured (`settled_on`).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from bills.models import AcceptanceBill
from core.money import money_quantize
from core.scoping import get_in_scope_or_404, scope_for_user
from receivables.models import Customer, Payment

User = AbstractBaseUser | AnonymousUser

# (code, first day, last day) counted from the business date; None is open-ended.
MATURITY_WINDOWS: tuple[tuple[str, int | None, int | None], ...] = (
    ("past", None, -1),
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
DESK_WINDOWS = ("past", "0-30", "31-60", "61-90")
ZERO = Decimal("0.00")


def maturity_window_q(*, code: str, as_of: date) -> Q:
    """Bills whose maturity date falls in the window (`past`, `0-30`, …) seen from as_of."""
    for window, first, last in MATURITY_WINDOWS:
        if window == code:
            condition = Q()
            if first is not None:
                condition &= Q(maturity_date__gte=as_of + timedelta(days=first))
            if last is not None:
                condition &= Q(maturity_date__lte=as_of + timedelta(days=last))
            return condition
    raise ValueError(f"unknown maturity window {code!r}")


def in_hand_q(*, as_of: date) -> Q:
    """Bills received by as_of and not yet endorsed, discounted, collected or dishonoured then."""
    return Q(received_on__lte=as_of) & (Q(settled_on__isnull=True) | Q(settled_on__gt=as_of))


def acceptance_bill_list(
    *,
    user: User,
    status: str | None = None,
    window: str | None = None,
    as_of: date | None = None,
    customer: Customer | None = None,
) -> QuerySet[AcceptanceBill]:
    """The bills the user may see, by maturity; a window keeps the held bills maturing in it."""
    bills = scope_for_user(AcceptanceBill.objects.select_related("customer"), user)
    if customer is not None:
        bills = bills.filter(customer=customer)
    if status:
        bills = bills.filter(status=status)
    if window:
        bills = bills.filter(
            maturity_window_q(code=window, as_of=as_of), status=AcceptanceBill.Status.HELD
        )
    return bills.order_by("maturity_date", "number")


def acceptance_bill_get(*, user: User, pk: int) -> AcceptanceBill:
    """One bill in the user's scope (404 otherwise), with its customer, payment and receiver."""
    return get_in_scope_or_404(
        AcceptanceBill.objects.select_related(
            "customer", "customer__sales_rep", "payment", "received_by"
        ),
        user,
        pk=pk,
    )


def acceptance_bill_allocations(*, bill: AcceptanceBill) -> QuerySet:
    """The invoices the bill's payment settles, with the amounts."""
    return bill.payment.allocations.select_related("invoice").order_by("invoice__number")


@dataclass(frozen=True)
class MaturityList:
    code: str
    rows: list[AcceptanceBill]
    has_more: bool


def bills_maturing(
    *, user: User, as_of: date, windows: tuple[str, ...] = DESK_WINDOWS, limit: int = 10
) -> list[MaturityList]:
    """The held bills maturing in each window, first `limit` of each: one query per window."""
    lists = []
    for code in windows:
        rows = list(acceptance_bill_list(user=user, window=code, as_of=as_of)[: limit + 1])
        lists.append(MaturityList(code=code, rows=rows[:limit], has_more=len(rows) > limit))
    return lists


def bills_outstanding_by_maturity(*, user: User, as_of: date) -> list[dict]:
    """The bills in hand today, per currency: count and face amount per maturity window.

    One grouped query over the held bills (a partial index covers it).
    """
    aggregates = {}
    for code, _first, _last in MATURITY_WINDOWS:
        window = maturity_window_q(code=code, as_of=as_of)
        aggregates[f"amount_{code}"] = Coalesce(Sum("face_amount", filter=window), ZERO)
        aggregates[f"count_{code}"] = Count("pk", filter=window)
    aggregates["amount_total"] = Coalesce(Sum("face_amount"), ZERO)
    aggregates["count_total"] = Count("pk")
    rows = (
        scope_for_user(AcceptanceBill.objects.all(), user)
        .filter(status=AcceptanceBill.Status.HELD)
        .values("currency")
        .annotate(**aggregates)
        .order_by("currency")
    )
    codes = [code for code, _first, _last in MATURITY_WINDOWS] + ["total"]
    return [
        {
            "currency": row["currency"],
            "windows": [
                {
                    "code": code,
                    "count": row[f"count_{code}"],
                    "amount": money_quantize(row[f"amount_{code}"]),
                }
                for code in codes
            ],
        }
        for row in rows
    ]


def bills_in_hand_total(*, user: User, as_of: date, currency: str) -> Decimal:
    """The face amount of bills in hand on a date: collected for the invoices, not yet cash."""
    total = (
        scope_for_user(AcceptanceBill.objects.all(), user)
        .filter(in_hand_q(as_of=as_of), currency=currency)
        .aggregate(total=Sum("face_amount"))["total"]
    )
    return money_quantize(total or 0)


@dataclass(frozen=True)
class Collections:
    """What came in over a period: cash, bills received, and the discounts bills cost."""

    currency: str
    cash: Decimal
    cash_from_transfers: Decimal
    cash_from_bills: Decimal
    bills_received: Decimal
    discount_expense: Decimal


def collections_cash_and_bills(
    *, user: User, date_from: date, date_to: date, currency: str
) -> Collections:
    """Split a period's collections into cash and bills, in two queries.

    Cash is posted transfers dated in the period plus what bills turned into cash
    in it: the face of a collected bill, the face less the discount of a
    discounted one. Bills received count apart until they turn into cash.
    """
    transfers = (
        scope_for_user(Payment.objects.all(), user)
        .filter(
            payment_date__range=(date_from, date_to),
            currency=currency,
            status=Payment.Status.POSTED,
            method=Payment.Method.TRANSFER,
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    period = Q(settled_on__range=(date_from, date_to))
    collected = Q(status=AcceptanceBill.Status.COLLECTED) & period
    discounted = Q(status=AcceptanceBill.Status.DISCOUNTED) & period
    bills = (
        scope_for_user(AcceptanceBill.objects.all(), user)
        .filter(currency=currency)
        .aggregate(
            collected=Sum("face_amount", filter=collected),
            discounted=Sum(F("face_amount") - F("discount_amount"), filter=discounted),
            discount=Sum("discount_amount", filter=discounted),
            received=Sum("face_amount", filter=Q(received_on__range=(date_from, date_to))),
        )
    )
    from_transfers = money_quantize(transfers or 0)
    from_bills = money_quantize(bills["collected"] or 0) + money_quantize(bills["discounted"] or 0)
    return Collections(
        currency=currency,
        cash=from_transfers + from_bills,
        cash_from_transfers=from_transfers,
        cash_from_bills=from_bills,
        bills_received=money_quantize(bills["received"] or 0),
        discount_expense=money_quantize(bills["discount"] or 0),
    )
