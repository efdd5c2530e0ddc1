"""Reads for credit: exposure, the policy and grades, assessments and their queue."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from core.money import money_quantize
from receivables.models import (
    CreditAssessment,
    CreditGrade,
    CreditHoldEvent,
    CreditOverride,
    CreditPolicy,
    Customer,
    Invoice,
)
from receivables.models.credit import Grade
from receivables.selectors.invoices import (
    customer_open_receivables,
    customer_open_receivables_expression,
)

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY_FIELD)
# Contract statuses (contracts.models.Contract.Status) whose amount is committed:
# receivables does not import contracts, so the values are spelled out here.
COMMITTED_CONTRACT_STATUSES = ("approved", "active")


@dataclass(frozen=True)
class CreditPosition:
    currency: str
    credit_limit: Decimal
    payment_terms_days: int
    credit_status: str
    open_receivables: Decimal
    contracted_not_invoiced: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.open_receivables + self.contracted_not_invoiced

    @property
    def available(self) -> Decimal:
        """Credit left under the limit; negative when the customer is over it."""
        return self.credit_limit - self.exposure

    @property
    def is_over_limit(self) -> bool:
        return self.available < 0

    @property
    def is_on_hold(self) -> bool:
        return self.credit_status == Customer.CreditStatus.ON_HOLD


@dataclass(frozen=True)
class Recommendation:
    grade: str
    score: Decimal
    max_limit: Decimal
    max_terms_days: int
    capped_as_new: bool


def customer_contracted_not_invoiced_expression() -> Coalesce:
    """Per customer (annotate a Customer): over its approved and active contracts, the
    amount not yet invoiced (never negative)."""
    invoiced = (
        Invoice.objects.filter(milestone__contract=OuterRef("pk"))
        .exclude(status=Invoice.Status.CANCELLED)
        .values("milestone__contract")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    # receivables does not import contracts: the model comes from the reverse relation.
    contract_model = Customer._meta.get_field("contracts").related_model
    not_invoiced = (
        contract_model.objects.filter(
            customer=OuterRef("pk"), status__in=COMMITTED_CONTRACT_STATUSES
        )
        .annotate(invoiced=Coalesce(Subquery(invoiced, output_field=MONEY_FIELD), ZERO))
        .order_by()
        .values("customer")
        .annotate(total=Sum(Greatest(F("amount") - F("invoiced"), ZERO), output_field=MONEY_FIELD))
        .values("total")
    )
    return Coalesce(Subquery(not_invoiced, output_field=MONEY_FIELD), ZERO)


def customer_contracted_not_invoiced(*, customer: Customer) -> Decimal:
    """Sum, over approved and active contracts, the amount not yet invoiced (never negative)."""
    total = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(total=customer_contracted_not_invoiced_expression())
        .values_list("total", flat=True)
        .get()
    )
    return money_quantize(total)


def customer_exposure(*, customer: Customer) -> Decimal:
    """Open receivables plus what approved or active contracts will still invoice."""
    return customer_open_receivables(customer=customer) + customer_contracted_not_invoiced(
        customer=customer
    )


CREDIT_FIGURES = ("credit_open", "credit_contracted")


def customers_with_credit_position(queryset: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate each customer with what `customer_credit_position` reads, so a page that
    fetches the customer this way gets its position without another query."""
    return queryset.annotate(
        credit_open=customer_open_receivables_expression(),
        credit_contracted=customer_contracted_not_invoiced_expression(),
    )


def customer_credit_position(*, customer: Customer) -> CreditPosition:
    """The customer's limit, terms, status, exposure and available credit (read by
    `customers_with_credit_position`, with one query unless the customer came annotated)."""
    if not all(hasattr(customer, name) for name in CREDIT_FIGURES):
        customer = customers_with_credit_position(Customer.objects.filter(pk=customer.pk)).get()
    return CreditPosition(
        currency=customer.currency,
        credit_limit=money_quantize(customer.credit_limit),
        payment_terms_days=customer.payment_terms_days,
        credit_status=customer.credit_status,
        open_receivables=money_quantize(customer.credit_open),
        contracted_not_invoiced=money_quantize(customer.credit_contracted),
    )


def credit_policy_get() -> CreditPolicy:
    """The credit policy row; its field defaults if the row is missing."""
    return CreditPolicy.objects.filter(pk=1).first() or CreditPolicy(pk=1)


def credit_grade_list() -> list[CreditGrade]:
    """The grades from best to worst."""
    return list(CreditGrade.objects.order_by("grade"))


def credit_grade_for_score(
    *, score: Decimal, grades: list[CreditGrade] | None = None
) -> CreditGrade:
    """The best grade whose minimum score the score reaches; the worst grade below them all."""
    grades = credit_grade_list() if grades is None else grades
    if not grades:
        raise CreditGrade.DoesNotExist("no credit grades are configured")
    for grade in sorted(grades, key=lambda row: row.min_score, reverse=True):
        if score >= grade.min_score:
            return grade
    return max(grades, key=lambda row: row.grade)


def credit_recommendation(*, customer: Customer, score: Decimal) -> Recommendation:
    """Grade the score; cap the grade's limit and terms by the policy for a new customer."""
    grade = credit_grade_for_score(score=score)
    max_limit, max_terms = grade.max_limit, grade.max_terms_days
    capped = False
    if customer.is_new:
        policy = credit_policy_get()
        if policy.new_customer_max_limit < max_limit:
            max_limit, capped = policy.new_customer_max_limit, True
        if policy.new_customer_max_terms_days < max_terms:
            max_terms, capped = policy.new_customer_max_terms_days, True
    return Recommendation(
        grade=Grade(grade.grade),
        score=score,
        max_limit=money_quantize(max_limit),
        max_terms_days=max_terms,
        capped_as_new=capped,
    )


def credit_assessment_list_pending() -> QuerySet[CreditAssessment]:
    """Submitted assessments waiting for finance, oldest submission first."""
    return (
        CreditAssessment.objects.filter(status=CreditAssessment.Status.SUBMITTED)
        .select_related("customer", "customer__sales_rep", "requested_by")
        .order_by("submitted_at", "pk")
    )


def credit_assessment_list_for_customer(*, customer: Customer) -> QuerySet[CreditAssessment]:
    """The customer's assessments, newest first, with who asked and who decided."""
    return CreditAssessment.objects.filter(customer=customer).select_related(
        "requested_by", "decided_by"
    )


def credit_hold_event_latest(*, customer: Customer) -> CreditHoldEvent | None:
    """The last hold or release of the customer, with who did it."""
    return customer.credit_hold_events.select_related("actor").first()


def credit_hold_event_list(*, customer: Customer) -> QuerySet[CreditHoldEvent]:
    """The customer's holds and releases, latest first, with who did them."""
    return customer.credit_hold_events.select_related("actor")


def credit_override_list(*, customer: Customer) -> QuerySet[CreditOverride]:
    """The finance overrides of refused credit checks for the customer, newest first."""
    return customer.credit_overrides.select_related("actor")
