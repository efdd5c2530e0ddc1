"""The receivable items the ladder works on, as annotated querysets computed in the database.

An item is an invoice, or an instalment of an approved supplementary
agreement (the agreement replaces the due dates of the invoices it covers, so
those invoices are left alone and the instalments are dunned instead).

Every amount is "as of" a business date: payments dated after it and credit
notes issued after it are ignored, so that a run for a past date sees the
book as it was that morning. Pause rules (open dispute, open promise to pay
until its date plus grace, customer paused) are annotated as booleans so the
run can both exclude and count them.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least

from contracts.models import AgreementInstalment, SupplementaryAgreement
from dunning.models import Dispute, DunningPolicy, PromiseToPay
from receivables.models import CreditNote, Invoice, Payment, PaymentAllocation

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)


def _sum(queryset: QuerySet, group: str, field: str = "amount") -> Subquery:
    """A correlated SUM subquery (grouped on the column the filter pins to one value)."""
    return Subquery(
        queryset.order_by().values(group).annotate(total=Sum(field)).values("total")[:1],
        output_field=MONEY_FIELD,
    )


def invoice_open_amount(*, as_of: date, ref: str = "pk") -> ExpressionWrapper:
    """Expression: amount less posted payments dated and credit notes issued up to as_of."""
    allocated = _sum(
        PaymentAllocation.objects.filter(
            invoice=OuterRef(ref),
            payment__status=Payment.Status.POSTED,
            payment__payment_date__lte=as_of,
        ),
        "invoice",
    )
    credited = _sum(
        CreditNote.objects.filter(invoice=OuterRef(ref), issue_date__lte=as_of), "invoice"
    )
    return ExpressionWrapper(
        F("amount") - Coalesce(allocated, ZERO) - Coalesce(credited, ZERO),
        output_field=MONEY_FIELD,
    )


def _promise_cutoff(*, as_of: date, policy: DunningPolicy) -> date:
    # A promise pauses its items through promised_date + grace inclusive.
    return as_of - timedelta(days=policy.promise_grace_days)


def invoice_items(
    *, as_of: date, policy: DunningPolicy, customer_ids: list[int] | None = None
) -> QuerySet[Invoice]:
    """Invoices that existed on as_of and are not cancelled, with open amount and pause flags.

    Annotations: `open_amount`, `is_replaced` (covered by an approved
    supplementary agreement), `is_disputed`, `is_promised`, `is_paused`
    (customer paused through as_of or later).
    """
    queryset = Invoice.objects.filter(issue_date__lte=as_of).exclude(
        status=Invoice.Status.CANCELLED
    )
    if customer_ids is not None:
        queryset = queryset.filter(customer_id__in=customer_ids)
    disputes = Dispute.invoices.through.objects.filter(
        invoice_id=OuterRef("pk"), dispute__status=Dispute.Status.OPEN
    )
    promises = PromiseToPay.invoices.through.objects.filter(
        invoice_id=OuterRef("pk"),
        promisetopay__status=PromiseToPay.Status.OPEN,
        promisetopay__promised_date__gte=_promise_cutoff(as_of=as_of, policy=policy),
    )
    replaced = SupplementaryAgreement.invoices.through.objects.filter(
        invoice_id=OuterRef("pk"),
        supplementaryagreement__status=SupplementaryAgreement.Status.APPROVED,
    )
    return queryset.annotate(
        open_amount=invoice_open_amount(as_of=as_of),
        is_replaced=Exists(replaced),
        is_disputed=Exists(disputes),
        is_promised=Exists(promises),
        is_paused=Case(
            When(customer__dunning_paused_until__gte=as_of, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def instalment_items(
    *, as_of: date, policy: DunningPolicy, customer_ids: list[int] | None = None
) -> QuerySet[AgreementInstalment]:
    """Instalments of approved agreements, with open amount, currency and pause flags.

    The agreement's payments go to the invoices it replaces. What is still
    owed on those invoices as of the date is owed on the latest instalments:
    instalments are settled in sequence, so instalment n is open by
    min(amount, max(0, remaining - sum of the later instalments)).
    Annotations: `customer_id_value`, `currency_value`, `open_amount`,
    `is_replaced` (always false), `is_disputed`, `is_promised`, `is_paused`.
    """
    queryset = AgreementInstalment.objects.filter(
        agreement__status=SupplementaryAgreement.Status.APPROVED
    )
    if customer_ids is not None:
        queryset = queryset.filter(agreement__customer_id__in=customer_ids)
    covered = Invoice.objects.filter(supplementary_agreements=OuterRef("agreement_id")).exclude(
        status=Invoice.Status.CANCELLED
    )
    amounts = _sum(covered, "supplementary_agreements")
    allocated = _sum(
        PaymentAllocation.objects.filter(
            invoice__supplementary_agreements=OuterRef("agreement_id"),
            payment__status=Payment.Status.POSTED,
            payment__payment_date__lte=as_of,
        ).exclude(invoice__status=Invoice.Status.CANCELLED),
        "invoice__supplementary_agreements",
    )
    credited = _sum(
        CreditNote.objects.filter(
            invoice__supplementary_agreements=OuterRef("agreement_id"), issue_date__lte=as_of
        ).exclude(invoice__status=Invoice.Status.CANCELLED),
        "invoice__supplementary_agreements",
    )
    later = _sum(
        AgreementInstalment.objects.filter(
            agreement_id=OuterRef("agreement_id"), sequence__gt=OuterRef("sequence")
        ),
        "agreement",
    )
    remaining = Coalesce(amounts, ZERO) - Coalesce(allocated, ZERO) - Coalesce(credited, ZERO)
    currency = Subquery(covered.order_by("due_date", "pk").values("currency")[:1])
    disputes = Dispute.invoices.through.objects.filter(
        invoice__supplementary_agreements=OuterRef("agreement_id"),
        dispute__status=Dispute.Status.OPEN,
    )
    promises = PromiseToPay.invoices.through.objects.filter(
        invoice__supplementary_agreements=OuterRef("agreement_id"),
        promisetopay__status=PromiseToPay.Status.OPEN,
        promisetopay__promised_date__gte=_promise_cutoff(as_of=as_of, policy=policy),
    )
    return queryset.annotate(
        customer_id_value=F("agreement__customer_id"),
        is_replaced=Value(False, output_field=BooleanField()),
        currency_value=Coalesce(currency, F("agreement__customer__currency")),
        open_amount=ExpressionWrapper(
            Least(
                Greatest(remaining - Coalesce(later, ZERO), ZERO),
                F("amount"),
            ),
            output_field=MONEY_FIELD,
        ),
        is_disputed=Exists(disputes),
        is_promised=Exists(promises),
        is_paused=Case(
            When(agreement__customer__dunning_paused_until__gte=as_of, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def dunnable(queryset: QuerySet, *, policy: DunningPolicy) -> QuerySet:
    """Keep the items that may be dunned: open at least the tolerance, no pause rule applies."""
    queryset = queryset.filter(
        open_amount__gt=0,
        open_amount__gte=policy.tolerance,
        is_disputed=False,
        is_promised=False,
        is_paused=False,
    )
    if queryset.model is Invoice:
        queryset = queryset.filter(is_replaced=False)
    return queryset


def pause_reason(item: object, *, policy: DunningPolicy) -> str:
    """The first pause rule that keeps an annotated item from being dunned, or ''."""
    if getattr(item, "is_paused", False):
        return "customer_paused"
    if getattr(item, "is_replaced", False):
        return "replaced_by_agreement"
    if getattr(item, "is_disputed", False):
        return "dispute"
    if getattr(item, "is_promised", False):
        return "promise"
    if item.open_amount <= 0:
        return "paid"
    if item.open_amount < policy.tolerance:
        return "below_tolerance"
    return ""


SKIP_REASONS = ("customer_paused", "replaced_by_agreement", "dispute", "promise", "below_tolerance")


def skip_conditions(*, policy: DunningPolicy) -> dict[str, Q]:
    """One condition per skip reason, each excluding the earlier ones (an item counts once)."""
    ordered = [
        ("customer_paused", Q(is_paused=True)),
        ("replaced_by_agreement", Q(is_replaced=True)),
        ("dispute", Q(is_disputed=True)),
        ("promise", Q(is_promised=True)),
        ("below_tolerance", Q(open_amount__lt=policy.tolerance)),
    ]
    conditions: dict[str, Q] = {}
    earlier: Q | None = None
    for reason, condition in ordered:
        conditions[reason] = condition if earlier is None else condition & ~earlier
        earlier = condition if earlier is None else earlier | condition
    return conditions
