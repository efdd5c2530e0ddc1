"""`import_bank_statement` on the canonical CSV: the rules, the json shape, idempotency."""

from decimal import Decimal

import pytest
from django.core.management import CommandError

from banking.models import BankReceipt, CustomerPayerAccount
from dunning.models import CaseEvent
from receivables.models import Invoice, Payment
from tests.banking.conftest import HEADER, run_import, write

pytestmark = pytest.mark.django_db


def test_rules_apply_suggest_and_leave_unmatched(tmp_path, account, book):
    path = write(
        tmp_path,
        HEADER
        + "T1,2026-03-01,2500.00,CNY,Someone,6217-0000-1111,pay inv-2\n"  # (a) memo
        + "T2,2026-03-01,400.00,CNY,ACME TRADING CO.,,\n"  # (b) by name, one item
        + "T3,2026-03-01,8000.00,CNY,华南贸易(深圳)有限公司,,\n"  # NFKC brackets: (b)
        + "T4,2026-03-01,999.50,CNY,,62170000 1111,\n"  # (c)/(b) within tolerance
        + "T5,2026-03-01,10.00,CNY,Unknown Ltd,999,\n"
        + "T6,2026-03-01,-50.00,CNY,Us,,refund out\n",
    )
    result, err = run_import(path)
    assert err == ""
    assert result["receipts"] == 5
    assert result["new"] == 5
    assert result["duplicates"] == 0
    applied = {row["transaction_id"]: row for row in result["applied"]}
    assert applied["T1"] == {
        "transaction_id": "T1",
        "customer_code": "ACME",
        "invoices": ["INV-2"],
        "amount": "2500.00",
    }
    assert applied["T2"]["invoices"] == ["INV-3"]
    assert applied["T3"]["customer_code"] == "HN"
    assert applied["T4"]["invoices"] == ["INV-1"]
    assert result["unmatched"] == ["T5"]
    assert result["suggested"] == []
    payment = Payment.objects.get(reference="T1")
    assert payment.allocations.get().invoice.number == "INV-2"
    assert Invoice.objects.get(number="INV-1").outstanding == Decimal("0.50")
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.RECEIPT_APPLIED).count() == 4

    again, _err = run_import(path)
    assert again == {
        "receipts": 5,
        "new": 0,
        "duplicates": 5,
        "applied": [],
        "suggested": [],
        "unmatched": [],
    }
    assert BankReceipt.objects.count() == 5
    assert Payment.objects.count() == 4


def test_oldest_items_rule_and_suggestions(tmp_path, account, book):
    path = write(
        tmp_path,
        HEADER
        + "A,2026-03-01,3500.00,CNY,Acme Trading Co.,,\n"  # (c) INV-1 + INV-2
        + "B,2026-03-01,1400.00,CNY,Acme Trading Co.,,\n",  # not a prefix: suggestion
    )
    result, _err = run_import(path)
    assert result["applied"][0]["invoices"] == ["INV-1", "INV-2"]
    assert result["suggested"] == [
        {"transaction_id": "B", "customer_code": "ACME", "invoices": ["INV-3"]}
    ]


def test_combination_suggested_with_reason(tmp_path, account, book):
    path = write(tmp_path, HEADER + "C,2026-03-01,1400.00,CNY,Acme Trading Co.,,\n")
    result, _err = run_import(path)
    assert result["suggested"] == [
        {"transaction_id": "C", "customer_code": "ACME", "invoices": ["INV-1", "INV-3"]}
    ]
    receipt = BankReceipt.objects.get(transaction_id="C")
    kinds = [reason["kind"] for reason in receipt.suggestions[0]["reasons"]]
    assert "amount_equals" in kinds


def test_bad_file_writes_nothing(tmp_path, account, book):
    path = write(
        tmp_path,
        HEADER
        + 'X1,2026-03-01,"1,000.00",CNY,Acme Trading Co.,,\n'
        + "X2,2026-13-01,5.00,CNY,a,,\n"
        + "X1,2026-03-01,¥400.00,CNY,b,,\n",
    )
    with pytest.raises(CommandError):
        run_import(path)
    assert BankReceipt.objects.count() == 0


def test_bad_file_reports_lines(tmp_path, account, book, capsys):
    path = write(
        tmp_path,
        HEADER
        + "X1,2026-03-01,1.00,CNY,a,,\nX2,2026-13-01,5.00,CNY,a,,\nX1,2026-03-01,2,CNY,b,,\n",
    )
    from io import StringIO

    from django.core.management import call_command

    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_bank_statement", "--file", str(path), "--bank-account", "ICBC-1", stderr=err
        )
    assert raised.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("line 3: date '2026-13-01'")
    assert lines[1] == "line 4: transaction id X1 repeats line 2"


def test_dry_run_writes_nothing(tmp_path, account, book):
    path = write(tmp_path, HEADER + "D,2026-03-01,400.00,CNY,Acme Trading Co.,,\n")
    result, _err = run_import(path, "--dry-run")
    assert result["applied"][0]["invoices"] == ["INV-3"]
    assert BankReceipt.objects.count() == 0
    assert Payment.objects.count() == 0


def test_gb18030_and_thousands(tmp_path, account, book):
    path = write(
        tmp_path,
        HEADER + 'G,2026-03-01,"¥8,000.00",CNY,华南贸易\uff08深圳\uff09有限公司,,货款 HN-77\n',
        encoding="gb18030",
    )
    result, _err = run_import(path)
    assert result["applied"][0]["customer_code"] == "HN"


def test_ambiguous_name_is_unmatched(tmp_path, account, book):
    from tests.factories.customers import CustomerFactory

    CustomerFactory(code="ACME2", name="acme  trading co.")
    path = write(tmp_path, HEADER + "U,2026-03-01,400.00,CNY,Acme Trading Co.,,\n")
    result, _err = run_import(path)
    assert result["unmatched"] == ["U"]


def test_account_on_two_customers_falls_back_to_name(tmp_path, account, book):
    from banking.services.accounts import customer_payer_account_record

    customer_payer_account_record(customer=book["south"], account="62170000-1111")
    path = write(tmp_path, HEADER + "N,2026-03-01,400.00,CNY,Nobody,6217 0000 1111,\n")
    result, _err = run_import(path)
    assert result["unmatched"] == ["N"]
    assert CustomerPayerAccount.objects.count() == 2
