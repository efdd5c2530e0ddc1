"""A separate process for the backup test, on the database of DATABASE_URL.

python -m tests.core.backup_writer seed
python -m tests.core.backup_writer write STOP_FILE   # payments until STOP_FILE exists
python -m tests.core.backup_writer summary           # JSON totals
"""

import json
import os
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import django

CUSTOMER = "BK-1"
INVOICES = 40
INVOICE_AMOUNT = Decimal("1000.00")
PAYMENT_AMOUNT = Decimal("1.01")
PAYMENT_DATE = date(2026, 6, 1)
# Safety net: the writer stops by itself if the test never asks it to.
MAX_PAYMENTS = 5000


def seed() -> None:
    from django.contrib.auth import get_user_model

    from receivables.models import Customer
    from receivables.services.invoices import invoice_issue

    rep = get_user_model().objects.create(username="backup-rep")
    customer = Customer.objects.create(
        code=CUSTOMER,
        name="备份测试 Backup Co",
        currency="CNY",
        sales_rep=rep,
        credit_limit=Decimal("1000000.00"),
        payment_terms_days=30,
    )
    for index in range(INVOICES):
        # Due dates every 5 days back from 2026-06-30: every ageing bucket has some.
        due = date(2026, 6, 30) - timedelta(days=5 * index)
        invoice_issue(
            customer=customer,
            number=f"BK-INV-{index:03d}",
            issue_date=due - timedelta(days=30),
            due_date=due,
            amount=INVOICE_AMOUNT,
            currency="CNY",
            actor=None,
            check_credit=False,
        )


def write(stop_file: Path) -> None:
    from receivables.models import Customer
    from receivables.services.payments import payment_record

    customer = Customer.objects.get(code=CUSTOMER)
    for number in range(1, MAX_PAYMENTS + 1):
        if stop_file.exists():
            return
        payment_record(
            customer=customer,
            payment_date=PAYMENT_DATE,
            amount=PAYMENT_AMOUNT,
            currency="CNY",
            reference=f"P-{number:05d}",
            actor=None,
        )
        print(number, flush=True)  # noqa: T201 - read by the test


def summary() -> None:
    from django.db.models import Sum

    from core.money import money_str
    from receivables.models import Invoice, Payment, PaymentAllocation

    def total(queryset, field: str) -> str:
        return money_str(queryset.aggregate(total=Sum(field))["total"] or 0)

    print(  # noqa: T201 - read by the test
        json.dumps(
            {
                "references": sorted(Payment.objects.values_list("reference", flat=True)),
                "payments": total(Payment.objects.all(), "amount"),
                "allocated": total(PaymentAllocation.objects.all(), "amount"),
                "invoiced": total(Invoice.objects.all(), "amount"),
                "outstanding": total(Invoice.objects.all(), "outstanding"),
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    mode = sys.argv[1]
    if mode == "seed":
        seed()
    elif mode == "write":
        write(Path(sys.argv[2]))
    else:
        summary()
