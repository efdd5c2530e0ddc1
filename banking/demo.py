"""Demo bank account and a small statement, so the reconciliation queue and the reps'
claims have something to show: an unknown payer (for the reps to claim), a known customer
paying an amount that fits no open item, and a customer's name spelled another way.
Nothing is applied, so the rest of the demo book keeps its figures. Idempotent: the
import is idempotent per transaction id.
"""

from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.utils import timezone

from banking.parsers.canonical import COLUMNS
from banking.services.accounts import bank_account_record
from banking.services.receipts import bank_statement_import

HEADER = ",".join(COLUMNS) + "\n"
DEMO_RECEIPTS = (
    ("DEMO-0001", "5000.00", "张三", "6228480010000001", "往来款"),
    ("DEMO-0002", "1234.56", "上海华东机电有限公司", "", "货款"),
    ("DEMO-0003", "2000.00", "上海华东机电有限责任公司", "", "付款"),
)


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    account, _created = bank_account_record(
        code="ICBC-DEMO", number="6222020200118888", currency="CNY", name="工商银行 基本户"
    )
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    rows = "".join(
        f"{tid},{day},{amount},CNY,{payer},{account_number},{memo}\n"
        for tid, amount, payer, account_number, memo in DEMO_RECEIPTS
    )
    result = bank_statement_import(
        account=account,
        data=(HEADER + rows).encode("utf-8"),
        file_name="demo-statement.csv",
        actor=users.get("finance1"),
    )
    stdout.write(
        f"  bank account {account.code}: {result.new} receipts imported "
        f"({len(DEMO_RECEIPTS)} in the demo statement)"
    )
