"""The scorecard: weights, weighted score, grades and recommendations."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.models import CreditAssessment, CreditGrade
from receivables.models.credit import FACTOR_WEIGHTS, CreditFactor
from receivables.selectors.credit import credit_grade_for_score, credit_recommendation
from tests.factories.customers import CustomerFactory

scores = st.integers(min_value=1, max_value=5)


def _scored(factor_scores: tuple[int, ...]) -> CreditAssessment:
    return CreditAssessment(
        **{f"{f.value}_score": s for f, s in zip(CreditFactor, factor_scores, strict=True)}
    )


def test_the_weights_cover_the_five_factors_and_add_up_to_one():
    assert set(FACTOR_WEIGHTS) == set(CreditFactor)
    assert sum(FACTOR_WEIGHTS.values()) == Decimal("1.00")


@pytest.mark.parametrize(
    ("factor_scores", "expected"),
    [
        ((1, 1, 1, 1, 1), "1.00"),
        ((5, 5, 5, 5, 5), "5.00"),
        ((4, 3, 4, 3, 3), "3.40"),  # .60 + .60 + 1.00 + .45 + .75
        ((5, 1, 1, 1, 5), "2.60"),  # .75 + .20 + .25 + .15 + 1.25
    ],
)
def test_the_score_is_the_weighted_sum(factor_scores, expected):
    assessment = _scored(factor_scores)

    assert assessment.weighted_score() == Decimal(expected)


@settings(deadline=None)
@given(st.tuples(scores, scores, scores, scores, scores))
def test_the_score_stays_between_one_and_five(factor_scores):
    assessment = _scored(factor_scores)

    assert Decimal("1.00") <= assessment.weighted_score() <= Decimal("5.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("5.00", "A"),
        ("4.00", "A"),
        ("3.99", "B"),
        ("3.20", "B"),
        ("3.19", "C"),
        ("2.50", "C"),
        ("2.49", "D"),
        ("1.00", "D"),
    ],
)
def test_default_grades_by_minimum_score(score, grade):
    assert credit_grade_for_score(score=Decimal(score)).grade == grade


@pytest.mark.django_db
def test_each_grade_recommends_its_maximum_limit_and_terms():
    recommendations = {
        grade: credit_recommendation(
            customer=CustomerFactory.build(is_new=False), score=Decimal(score)
        )
        for grade, score in (("A", "4.5"), ("B", "3.5"), ("C", "2.7"), ("D", "1.2"))
    }

    assert {g: (r.max_limit, r.max_terms_days) for g, r in recommendations.items()} == {
        "A": (Decimal("1000000.00"), 90),
        "B": (Decimal("500000.00"), 60),
        "C": (Decimal("200000.00"), 30),
        "D": (Decimal("0.00"), 0),
    }
    assert not any(r.capped_as_new for r in recommendations.values())


@pytest.mark.django_db
def test_a_new_customer_is_capped_whatever_the_grade():
    new = CustomerFactory.build(is_new=True)

    best = credit_recommendation(customer=new, score=Decimal("5.00"))
    worst = credit_recommendation(customer=new, score=Decimal("1.00"))

    assert (best.grade, best.max_limit, best.max_terms_days, best.capped_as_new) == (
        "A",
        Decimal("50000.00"),
        15,
        True,
    )
    assert (worst.max_limit, worst.max_terms_days, worst.capped_as_new) == (
        Decimal("0.00"),
        0,
        False,
    )


@pytest.mark.django_db
def test_grades_edited_in_admin_change_the_grading():
    CreditGrade.objects.filter(grade="A").update(min_score=Decimal("4.50"))

    assert credit_grade_for_score(score=Decimal("4.40")).grade == "B"


@pytest.mark.django_db
def test_a_grade_cannot_need_less_than_a_worse_grade():
    grade_b = CreditGrade.objects.get(grade="B")
    grade_b.min_score = Decimal("2.40")  # below C's 2.50

    with pytest.raises(ValidationError, match=r"Grade C has a minimum score of 2\.50"):
        grade_b.full_clean()
