from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import given
from hypothesis import strategies as st

from contracts.models import PaymentMilestone
from contracts.services import (
    MilestoneData,
    contract_activate,
    contract_create,
    contract_review,
    contract_submit_for_review,
    contract_terms_approve,
    milestone_add,
    milestone_amounts,
    milestone_delete,
    milestone_shares,
    milestone_trigger_record,
    milestone_update,
)
from contracts.services.milestones import contract_effective_terms_days
from core.exceptions import BusinessRuleError
from tests.contracts.conftest import SIGNED, TODAY, contract_data
from tests.factories.users import SalesRepFactory

T = PaymentMilestone.Trigger


def _d(*values: str) -> list[Decimal]:
    return [Decimal(value) for value in values]


# --- Exact shares ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "percents", "shares"),
    [
        ("100000.00", ("30", "60", "10"), ("30000.00", "60000.00", "10000.00")),
        ("100.00", ("33.33", "33.33", "33.34"), ("33.33", "33.33", "33.34")),
        # 30 % of 100.01 is 30.003 and 60 % is 60.006: rounded half-up each,
        # the last share takes what is left so the total stays 100.01.
        ("100.01", ("30", "60", "10"), ("30.00", "60.01", "10.00")),
        ("0.05", ("50", "50"), ("0.03", "0.02")),
        ("999.99", ("100",), ("999.99",)),
    ],
)
def test_shares_are_exact_cents_and_the_last_absorbs_the_remainder(amount, percents, shares):
    result = milestone_shares(amount=Decimal(amount), percents=_d(*percents))

    assert result == _d(*shares)
    assert sum(result) == Decimal(amount)


def test_an_incomplete_schedule_shows_plain_shares_without_a_remainder():
    assert milestone_shares(amount=Decimal("1000.00"), percents=_d("30", "60")) == _d(
        "300.00", "600.00"
    )


@st.composite
def schedules(draw):
    """An amount in cents and percents in hundredths that add up to exactly 100.00."""
    cents = draw(st.integers(min_value=1, max_value=10**14 - 1))
    count = draw(st.integers(min_value=1, max_value=12))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    basis_points = [high - low for low, high in pairwise(bounds)]
    return Decimal(cents) / 100, [Decimal(bp) / 100 for bp in basis_points]


@given(schedules())
def test_shares_always_add_up_to_the_amount_to_the_cent(schedule):
    amount, percents = schedule

    shares = milestone_shares(amount=amount, percents=percents)

    assert sum(shares) == amount
    assert all(share == share.quantize(Decimal("0.01")) for share in shares)
    for share, percent in zip(shares[:-1], percents[:-1], strict=True):
        assert abs(share - amount * percent / 100) <= Decimal("0.005")
    # The last one is off by at most the rounding of all the others.
    assert abs(shares[-1] - amount * percents[-1] / 100) <= Decimal("0.005") * len(percents)


@pytest.mark.django_db
def test_milestone_amounts_maps_each_milestone(draft):
    amounts = milestone_amounts(contract=draft)

    by_sequence = {draft.milestones.get(pk=pk).sequence: amount for pk, amount in amounts.items()}
    assert by_sequence == {
        1: Decimal("30000.00"),
        2: Decimal("60000.00"),
        3: Decimal("10000.00"),
    }


# --- Editing one milestone ------------------------------------------------------


def _one(percent: str, **extra) -> MilestoneData:
    return MilestoneData(description="Extra", percent=Decimal(percent), trigger=T.SIGNING, **extra)


@pytest.fixture
def half_draft(rep, customer):
    return contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(),
        milestones=[_one("100")],
    )


@pytest.mark.django_db
def test_add_update_and_delete_milestones_of_a_draft(half_draft, rep):
    first = half_draft.milestones.get()
    milestone_update(milestone=first, data=_one("40"), actor=rep)

    added = milestone_add(contract=half_draft, data=_one("60", offset_days=20), actor=rep)

    assert added.sequence == 2
    assert list(half_draft.milestones.values_list("sequence", "percent")) == [
        (1, Decimal("40.00")),
        (2, Decimal("60.00")),
    ]
    milestone_delete(milestone=first, actor=rep)
    remaining = half_draft.milestones.get()
    assert remaining.sequence == 1
    assert remaining.percent == Decimal("60.00")
    assert remaining.history.first().history_user == rep


@pytest.mark.django_db
def test_a_milestone_may_not_take_the_schedule_over_100(half_draft, rep):
    with pytest.raises(BusinessRuleError, match=r"100\.01 %"):
        milestone_add(contract=half_draft, data=_one("0.01"), actor=rep)

    with pytest.raises(BusinessRuleError, match="more than 0"):
        milestone_update(milestone=half_draft.milestones.get(), data=_one("0"), actor=rep)

    assert half_draft.milestones.get().percent == Decimal("100.00")


@pytest.mark.django_db
def test_milestones_change_only_in_draft(in_review, rep):
    milestone = in_review.milestones.first()

    with pytest.raises(BusinessRuleError, match="only be changed while the contract is a draft"):
        milestone_update(milestone=milestone, data=_one("30"), actor=rep)
    with pytest.raises(BusinessRuleError, match="draft"):
        milestone_add(contract=in_review, data=_one("1"), actor=rep)
    with pytest.raises(BusinessRuleError, match="draft"):
        milestone_delete(milestone=milestone, actor=rep)

    assert in_review.milestones.count() == 3


@pytest.mark.django_db
def test_another_rep_may_not_edit_milestones(half_draft):
    with pytest.raises(PermissionDenied):
        milestone_update(
            milestone=half_draft.milestones.get(), data=_one("100"), actor=SalesRepFactory()
        )


@pytest.mark.django_db
def test_a_longer_offset_voids_an_approval_of_longer_terms(half_draft, rep, finance):
    milestone_update(
        milestone=half_draft.milestones.get(), data=_one("100", offset_days=45), actor=rep
    )
    assert contract_effective_terms_days(contract=half_draft) == 45
    contract_terms_approve(contract=half_draft, actor=finance, reason="Long project")

    milestone_update(
        milestone=half_draft.milestones.get(), data=_one("100", offset_days=60), actor=rep
    )

    half_draft.refresh_from_db()
    assert half_draft.terms_approved_by is None


# --- Warranty end -----------------------------------------------------------------


@pytest.fixture
def warranty_contract(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(),
        milestones=[
            MilestoneData(description="Deposit", percent=Decimal("90"), trigger=T.SIGNING),
            MilestoneData(
                description="Retention",
                percent=Decimal("10"),
                trigger=T.WARRANTY_END,
                offset_days=30,
            ),
        ],
    )
    contract_submit_for_review(contract=contract, actor=rep)
    contract_review(contract=contract, actor=finance, approve=True)
    return contract_activate(contract=contract, actor=finance, signed_date=SIGNED, as_of=TODAY)


@pytest.mark.django_db
def test_warranty_end_triggers_its_milestone(warranty_contract, rep):
    retention = warranty_contract.milestones.get(sequence=2)
    ended = date(2026, 3, 9)

    milestone_trigger_record(milestone=retention, event_date=ended, actor=rep, as_of=TODAY)

    retention.refresh_from_db()
    assert retention.trigger_date == ended
    assert retention.due_date == ended + timedelta(days=30)


@pytest.mark.django_db
def test_warranty_end_refusals(warranty_contract, finance):
    deposit, retention = warranty_contract.milestones.order_by("sequence")

    with pytest.raises(BusinessRuleError, match="Only a milestone due at the end"):
        milestone_trigger_record(milestone=deposit, event_date=TODAY, actor=finance, as_of=TODAY)
    with pytest.raises(BusinessRuleError, match="before it happens"):
        milestone_trigger_record(
            milestone=retention,
            event_date=TODAY + timedelta(days=1),
            actor=finance,
            as_of=TODAY,
        )
    with pytest.raises(PermissionDenied):
        milestone_trigger_record(
            milestone=retention, event_date=TODAY, actor=SalesRepFactory(), as_of=TODAY
        )
    milestone_trigger_record(milestone=retention, event_date=TODAY, actor=finance, as_of=TODAY)
    with pytest.raises(BusinessRuleError, match="already triggered"):
        milestone_trigger_record(milestone=retention, event_date=TODAY, actor=finance, as_of=TODAY)


@pytest.mark.django_db
def test_warranty_end_needs_an_active_contract(approved, finance):
    milestone = approved.milestones.first()

    with pytest.raises(BusinessRuleError, match="active contract"):
        milestone_trigger_record(milestone=milestone, event_date=TODAY, actor=finance, as_of=TODAY)
