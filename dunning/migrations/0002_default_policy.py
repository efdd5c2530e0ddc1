from decimal import Decimal

from django.db import migrations

# DESIGN.md's defaults: pre-due 3 working days before, reminder 1, demand
# letter 15, executive 30, legal 60 days past due, at least 7 days apart,
# tolerance 1.00, late fee 0.05 % a day with no grace and no cap.
LEVELS = [
    # code, sequence, offset, channels, email template, letter template, approval
    ("pre_due", 0, -3, ["email"], "dunning/email/pre_due", "", False),
    ("reminder", 1, 1, ["email", "phone_task"], "dunning/email/reminder", "", False),
    (
        "demand_letter",
        2,
        15,
        ["email", "letter"],
        "dunning/email/demand_letter",
        "dunning/letters/demand_letter.html",
        True,
    ),
    ("executive", 3, 30, ["manager_task", "executive_email"], "dunning/email/executive", "", False),
    ("legal", 4, 60, ["legal_task", "credit_hold", "email"], "dunning/email/legal", "", False),
]


def create_default_policy(apps, schema_editor):
    DunningPolicy = apps.get_model("dunning", "DunningPolicy")
    DunningLevel = apps.get_model("dunning", "DunningLevel")
    if DunningPolicy.objects.filter(is_active=True).exists():
        return
    policy, _ = DunningPolicy.objects.get_or_create(
        name="Default",
        defaults={
            "is_active": True,
            "min_gap_days": 7,
            "pre_due_working_days": 3,
            "tolerance": Decimal("1.00"),
            "promise_grace_days": 3,
            "letter_deadline_days": 7,
            "late_fee_rate_percent": Decimal("0.05"),
            "late_fee_rate_period": "day",
            "late_fee_grace_days": 0,
            "late_fee_cap_percent": None,
        },
    )
    for code, sequence, offset, channels, email, letter, approval in LEVELS:
        DunningLevel.objects.get_or_create(
            policy=policy,
            code=code,
            defaults={
                "sequence": sequence,
                "days_offset": offset,
                "channels": channels,
                "email_template": email,
                "letter_template": letter,
                "requires_approval": approval,
            },
        )


def remove_default_policy(apps, schema_editor):
    DunningPolicy = apps.get_model("dunning", "DunningPolicy")
    DunningPolicy.objects.filter(name="Default", runs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_dunning_models")]

    operations = [migrations.RunPython(create_default_policy, remove_default_policy)]
