"""The dunning policy: defaults from the migration, validation in the model and the admin."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from dunning.admin import validate_ladder
from dunning.models import DunningLevel, DunningPolicy, LevelCode
from tests.factories.dunning import active_policy
from tests.factories.users import UserFactory

pytestmark = pytest.mark.django_db


def test_the_migration_installs_design_defaults():
    policy = active_policy()

    assert policy.min_gap_days == 7
    assert policy.pre_due_working_days == 3
    assert policy.tolerance == Decimal("1.00")
    assert policy.promise_grace_days == 3
    assert policy.letter_deadline_days == 7
    assert policy.late_fee_rate_percent == Decimal("0.05")
    assert policy.late_fee_rate_period == "day"
    assert policy.late_fee_grace_days == 0
    assert policy.late_fee_cap_percent is None
    levels = list(policy.levels.order_by("sequence").values_list("code", "days_offset"))
    assert levels == [
        ("pre_due", -3),
        ("reminder", 1),
        ("demand_letter", 15),
        ("executive", 30),
        ("legal", 60),
    ]
    for level in policy.levels.all():
        level.full_clean()  # every default level has its templates


def test_level_channels_follow_design():
    channels = dict(active_policy().levels.values_list("code", "channels"))

    assert channels["reminder"] == ["email", "phone_task"]
    assert "letter" in channels["demand_letter"]
    assert set(channels["executive"]) == {"manager_task", "executive_email"}
    assert {"legal_task", "credit_hold"} <= set(channels["legal"])


def test_only_one_policy_is_active():
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningPolicy.objects.create(name="Second", is_active=True)


@pytest.mark.parametrize(
    "fields", [{"min_gap_days": 0}, {"pre_due_working_days": 2}, {"pre_due_working_days": 6}]
)
def test_the_database_refuses_out_of_range_values(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningPolicy.objects.create(name="Bad", **fields)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"min_gap_days": 0}, "min_gap_days"),
        ({"pre_due_working_days": 6}, "pre_due_working_days"),
        ({"tolerance": Decimal("-1")}, "tolerance"),
    ],
)
def test_policy_validation_names_the_field(fields, field):
    policy = DunningPolicy(name="Edited", **fields)

    with pytest.raises(ValidationError) as error:
        policy.full_clean()

    assert field in error.value.message_dict


def _level(**fields) -> DunningLevel:
    defaults = {
        "policy": active_policy(),
        "code": LevelCode.REMINDER,
        "sequence": 9,
        "days_offset": 1,
        "channels": ["email"],
        "email_template": "dunning/email/reminder",
    }
    return DunningLevel(**(defaults | fields))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email_template": ""}, "email_template"),
        ({"email_template": "dunning/email/nope"}, "email_template"),
        ({"channels": ["email", "letter"]}, "letter_template"),
        ({"channels": ["fax"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"days_offset": 0}, "days_offset"),
        ({"code": LevelCode.PRE_DUE, "days_offset": 3}, "days_offset"),
        ({"channels": ["legal_task"], "email_template": ""}, "email_template"),
    ],
)
def test_a_level_without_its_template_or_with_a_bad_offset_is_refused(fields, field):
    level = _level(**fields)

    with pytest.raises(ValidationError) as error:
        level.full_clean(exclude=["policy"], validate_unique=False, validate_constraints=False)

    assert field in error.value.message_dict


def _ladder(*offsets: int, pre_due: int = -3) -> list[dict]:
    levels = [{"code": "pre_due", "sequence": 0, "days_offset": pre_due}]
    for sequence, (code, offset) in enumerate(
        zip(["reminder", "demand_letter", "executive", "legal"], offsets, strict=True), start=1
    ):
        levels.append({"code": code, "sequence": sequence, "days_offset": offset})
    return levels


def test_the_default_ladder_is_valid():
    validate_ladder(levels=_ladder(1, 15, 30, 60), pre_due_working_days=3)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (_ladder(1, 15, 15, 60), "strictly increase"),
        (_ladder(1, 30, 15, 60), "strictly increase"),
        (_ladder(1, 15, 30, 60, pre_due=-4), "pre-due"),
        (_ladder(1, 15, 30, 60)[:1], "reminder rung"),
        ([*_ladder(1, 15, 30, 60), {"code": "legal", "sequence": 9, "days_offset": 90}], "once"),
    ],
)
def test_a_ladder_out_of_order_is_refused(levels, message):
    with pytest.raises(ValidationError, match=message):
        validate_ladder(levels=levels, pre_due_working_days=3)


def _admin_post_data(policy: DunningPolicy, **changes) -> dict:
    data = {
        "name": policy.name,
        "is_active": "on",
        "min_gap_days": policy.min_gap_days,
        "pre_due_working_days": policy.pre_due_working_days,
        "tolerance": policy.tolerance,
        "promise_grace_days": policy.promise_grace_days,
        "letter_deadline_days": policy.letter_deadline_days,
        "credit_hold_release": policy.credit_hold_release,
        "late_fee_rate_percent": policy.late_fee_rate_percent,
        "late_fee_rate_period": policy.late_fee_rate_period,
        "late_fee_grace_days": policy.late_fee_grace_days,
        "late_fee_cap_percent": "",
        "levels-TOTAL_FORMS": policy.levels.count(),
        "levels-INITIAL_FORMS": policy.levels.count(),
        "levels-MIN_NUM_FORMS": 0,
        "levels-MAX_NUM_FORMS": 1000,
    }
    for index, level in enumerate(policy.levels.order_by("sequence")):
        prefix = f"levels-{index}-"
        data |= {
            f"{prefix}id": level.pk,
            f"{prefix}policy": policy.pk,
            f"{prefix}code": level.code,
            f"{prefix}sequence": level.sequence,
            f"{prefix}days_offset": level.days_offset,
            f"{prefix}channels": level.channels,
            f"{prefix}email_template": level.email_template,
            f"{prefix}letter_template": level.letter_template,
        }
        if level.requires_approval:
            data[f"{prefix}requires_approval"] = "on"
    return data | changes


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_saves_a_valid_edit(admin_client):
    policy = active_policy()
    url = reverse("admin:dunning_dunningpolicy_change", args=[policy.pk])

    response = admin_client.post(url, _admin_post_data(policy, min_gap_days=10))

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.min_gap_days == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_gap_days": 0}, "greater than or equal to 1"),
        ({"pre_due_working_days": 6}, "less than or equal to 5"),
        ({"levels-2-days_offset": 40}, "strictly increase"),
        ({"levels-1-email_template": ""}, "template"),
    ],
)
def test_admin_refuses_bad_edits_and_changes_nothing(admin_client, changes, message):
    policy = active_policy()
    url = reverse("admin:dunning_dunningpolicy_change", args=[policy.pk])

    response = admin_client.post(url, _admin_post_data(policy, **changes))

    assert response.status_code == 200
    assert message in response.content.decode()
    policy.refresh_from_db()
    assert policy.min_gap_days == 7
    assert policy.levels.get(code="demand_letter").days_offset == 15
