"""Credit assessments: a valid draft by the customer's rep, and scorecard input for services."""

from decimal import Decimal

import factory

from receivables.models import CreditAssessment
from receivables.models.credit import CreditFactor, CreditSource
from receivables.services.credit import CreditAssessmentInput
from tests.factories.customers import CustomerFactory


def credit_assessment_input(
    *,
    scores: tuple[int, int, int, int, int] = (3, 3, 3, 3, 3),
    sources: tuple[str, ...] = (CreditSource.PUBLIC_RECORDS,),
    requested_limit: Decimal | str | int = Decimal("100000.00"),
    requested_terms_days: int | str = 30,
    justification: str = "Checked against the annual report.",
    **overrides,
) -> CreditAssessmentInput:
    """A complete scorecard (every factor justified, one source) unless told otherwise."""
    factors = list(CreditFactor)
    values = {
        "scores": {f.value: s for f, s in zip(factors, scores, strict=True)},
        "justifications": {f.value: justification for f in factors},
        "sources": sources,
        "requested_limit": requested_limit,
        "requested_terms_days": requested_terms_days,
    }
    values.update(overrides)
    return CreditAssessmentInput(**values)


class CreditAssessmentFactory(factory.django.DjangoModelFactory):
    """A draft with every factor at 3 (score 3.00, grade C under the default grades)."""

    class Meta:
        model = CreditAssessment

    customer = factory.SubFactory(CustomerFactory)
    requested_by = factory.LazyAttribute(lambda assessment: assessment.customer.sales_rep)
    currency = "CNY"
    industry_position_score = 3
    industry_position_justification = "Mid-size player."
    operating_condition_score = 3
    operating_condition_justification = "Stable orders."
    financial_health_score = 3
    financial_health_justification = "Modest leverage."
    cooperation_history_score = 3
    cooperation_history_justification = "Two years of orders."
    payment_habits_score = 3
    payment_habits_justification = "Pays within terms."
    source_public_records = True
    requested_limit = Decimal("100000.00")
    requested_terms_days = 30
    score = Decimal("3.00")
    grade = "C"
    recommended_limit = Decimal("200000.00")
    recommended_terms_days = 30
