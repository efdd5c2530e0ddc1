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

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from contracts.models import AgreementInstalment
from contracts.selectors.instalments import instalments_as_of, invoice_replaced
from dunning.models import Dispute, DunningPolicy, PromiseToPay
from receivables.models import Invoice
from receivables.selectors.balances import invoices_with_open_amount, is_open, is_owing, owing_q


def _promise_cutoff(*, as_of: date, policy: DunningPolicy) -> date:
    # A promise pauses its items through promised_date + grace inclusive.
    return as_of - timedelta(days=policy.promise_grace_days)


def invoice_items(
    *,
    as_of: date,
    policy: DunningPolicy,
    customer_ids: list[int] | None = None,
    queryset: QuerySet[Invoice] | None = None,
) -> QuerySet[Invoice]:
    """Invoices that existed on as_of and are not cancelled, with open amount and pause flags.

    Annotations: `open_amount`, `is_replaced` (covered by an approved
    supplementary agreement), `is_disputed`, `is_promised`, `is_paused`
    (customer paused through as_of or later). `queryset` narrows the invoices first.
    """
    queryset = Invoice.objects.all() if queryset is None else queryset
    if customer_ids is not None:
        queryset = queryset.filter(customer_id__any_of=customer_ids)
    disputes = Dispute.invoices.through.objects.filter(
        invoice_id=OuterRef("pk"), dispute__status=Dispute.Status.OPEN
    )
    promises = PromiseToPay.invoices.through.objects.filter(
        invoice_id=OuterRef("pk"),
        promisetopay__status=PromiseToPay.Status.OPEN,
        promisetopay__promised_date__gte=_promise_cutoff(as_of=as_of, policy=policy),
    )
    invoices = invoices_with_open_amount(as_of=as_of, today=timezone.localdate(), queryset=queryset)
    return invoices.annotate(
        is_replaced=invoice_replaced(),
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

    The agreement's payments go to the invoices it replaces; the open amounts
    are those of `contracts.selectors.instalments`. Annotations:
    `customer_id_value`, `currency_value`, `open_amount`, `is_replaced`
    (always false), `is_disputed`, `is_promised`, `is_paused`.
    """
    queryset = AgreementInstalment.objects.all()
    if customer_ids is not None:
        queryset = queryset.filter(agreement__customer_id__any_of=customer_ids)
    disputes = Dispute.invoices.through.objects.filter(
        invoice__supplementary_agreements=OuterRef("agreement_id"),
        dispute__status=Dispute.Status.OPEN,
    )
    promises = PromiseToPay.invoices.through.objects.filter(
        invoice__supplementary_agreements=OuterRef("agreement_id"),
        promisetopay__status=PromiseToPay.Status.OPEN,
        promisetopay__promised_date__gte=_promise_cutoff(as_of=as_of, policy=policy),
    )
    return instalments_as_of(as_of=as_of, queryset=queryset).annotate(
        is_replaced=Value(False, output_field=BooleanField()),
        is_disputed=Exists(disputes),
        is_promised=Exists(promises),
        is_paused=Case(
            When(agreement__customer__dunning_paused_until__gte=as_of, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def dunnable_q(*, policy: DunningPolicy, model: type) -> Q:
    """On annotated items: open at least the tolerance, and no pause rule applies."""
    condition = owing_q(tolerance=policy.tolerance, amount="open_amount") & Q(
        is_disputed=False, is_promised=False, is_paused=False
    )
    if model is Invoice:
        condition &= Q(is_replaced=False)
    return condition


def dunnable(queryset: QuerySet, *, policy: DunningPolicy) -> QuerySet:
    """Keep the items that may be dunned: open at least the tolerance, no pause rule applies."""
    return queryset.filter(dunnable_q(policy=policy, model=queryset.model))


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
    if not is_open(open_amount=item.open_amount):
        return "paid"
    if not is_owing(open_amount=item.open_amount, tolerance=policy.tolerance):
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
        ("below_tolerance", ~owing_q(tolerance=policy.tolerance, amount="open_amount")),
    ]
    conditions: dict[str, Q] = {}
    earlier: Q | None = None
    for reason, condition in ordered:
        conditions[reason] = condition if earlier is None else condition & ~earlier
        earlier = condition if earlier is None else earlier | condition
    return conditions
