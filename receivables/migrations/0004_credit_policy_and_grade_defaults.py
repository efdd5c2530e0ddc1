"""The default credit policy and grades documented in receivables/models/credit.py."""

from decimal import Decimal

from django.db import migrations

DEFAULT_GRADES = (
    # grade, minimum score, recommended maximum limit, maximum terms, description
    ("A", "4.00", "1000000.00", 90, "Strong on every factor: full credit terms."),
    ("B", "3.20", "500000.00", 60, "Sound: standard credit terms."),
    ("C", "2.50", "200000.00", 30, "Some weaknesses: small limit, short terms."),
    ("D", "1.00", "0.00", 0, "Weak: prepayment or cash on delivery only."),
)


def create_defaults(apps, schema_editor):
    CreditPolicy = apps.get_model("receivables", "CreditPolicy")
    CreditGrade = apps.get_model("receivables", "CreditGrade")
    CreditPolicy.objects.get_or_create(
        pk=1,
        defaults={
            "new_customer_max_limit": Decimal("50000.00"),
            "new_customer_max_terms_days": 15,
        },
    )
    for grade, min_score, max_limit, max_terms, description in DEFAULT_GRADES:
        CreditGrade.objects.get_or_create(
            grade=grade,
            defaults={
                "min_score": Decimal(min_score),
                "max_limit": Decimal(max_limit),
                "max_terms_days": max_terms,
                "description": description,
            },
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("receivables", "CreditGrade").objects.all().delete()
    apps.get_model("receivables", "CreditPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("receivables", "0003_credit_assessments_policy_overrides_holds")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
