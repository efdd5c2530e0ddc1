"""Cash-application figures for the manager dashboard, each in one query."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from banking.models import BankReceipt, ReceiptApplication
from core.money import money_quantize

Status = BankReceipt.Status
# Age of an open receipt in days since its date: inclusive ranges, None open-ended.
AGE_BUCKETS: dict[str, tuple[int, int | None]] = {
    "0-7": (0, 7),
    "8-30": (8, 30),
    "31+": (31, None),
}


def receipts_cash_applied(*, as_of: date) -> list[dict]:
    """Receipts applied (automatically or by finance) on the day and in its month, per
    currency: [{"currency", "today", "month"}] (one grouped query)."""
    month_start = as_of.replace(day=1)
    rows = (
        ReceiptApplication.objects.annotate(day=TruncDate("applied_at"))
        .filter(day__gte=month_start, day__lte=as_of)
        .values("receipt__currency")
        .annotate(
            today=Sum("amount", filter=Q(day=as_of)),
            month=Sum("amount"),
        )
        .order_by("receipt__currency")
    )
    return [
        {
            "currency": row["receipt__currency"],
            "today": money_quantize(row["today"] or 0),
            "month": money_quantize(row["month"] or 0),
        }
        for row in rows
    ]


def _month_q(*, as_of: date) -> Q:
    return Q(created_at__date__gte=as_of.replace(day=1), created_at__date__lte=as_of)


def _age_aggregates(*, as_of: date) -> dict:
    waiting = Q(status__in=[Status.UNMATCHED, Status.SUGGESTED, Status.CLAIMED])
    aggregates = {}
    for index, (low, high) in enumerate(AGE_BUCKETS.values()):
        condition = waiting & Q(date__lte=as_of - timedelta(days=low))
        if high is not None:
            condition &= Q(date__gte=as_of - timedelta(days=high))
        aggregates[f"count_{index}"] = Count("pk", filter=condition)
        aggregates[f"amount_{index}"] = Sum("amount", filter=condition)
    return aggregates


def _rate(row: dict) -> dict:
    receipts, automatic = row["receipts"], row["automatic"]
    rate = (
        (Decimal(automatic) * 100 / Decimal(receipts)).quantize(Decimal("0.1"))
        if receipts
        else None
    )
    return {"receipts": receipts, "automatic": automatic, "rate": rate}


def _ages(row: dict) -> list[dict]:
    return [
        {
            "bucket": bucket,
            "count": row[f"count_{index}"],
            "amount": money_quantize(row[f"amount_{index}"] or 0),
        }
        for index, bucket in enumerate(AGE_BUCKETS)
    ]


def _straight_through_aggregates(*, as_of: date) -> dict:
    month = _month_q(as_of=as_of)
    return {
        "receipts": Count("pk", filter=month),
        "automatic": Count("pk", filter=month & Q(applied_automatically=True)),
    }


def receipts_straight_through_rate(*, as_of: date) -> dict:
    """Receipts imported in the month of the date, and the share applied automatically:
    {"receipts", "automatic", "rate"} (rate a Decimal percentage, None without receipts)."""
    return _rate(BankReceipt.objects.aggregate(**_straight_through_aggregates(as_of=as_of)))


def receipts_unmatched_by_age(*, as_of: date) -> list[dict]:
    """Receipts nobody has placed yet (unmatched, suggested, claimed) by age of their date:
    [{"bucket", "count", "amount"}] in bucket order (one query)."""
    return _ages(BankReceipt.objects.aggregate(**_age_aggregates(as_of=as_of)))


def cash_application_figures(*, as_of: date, currency: str) -> dict:
    """The manager dashboard's cash-application block: applied today and this month (in the
    currency), the straight-through rate and the receipts waiting by age (two queries)."""
    applied = next(
        (row for row in receipts_cash_applied(as_of=as_of) if row["currency"] == currency),
        {"currency": currency, "today": Decimal("0.00"), "month": Decimal("0.00")},
    )
    row = BankReceipt.objects.aggregate(
        **_straight_through_aggregates(as_of=as_of), **_age_aggregates(as_of=as_of)
    )
    return {"applied": applied, "straight_through": _rate(row), "waiting": _ages(row)}
