"""DESIGN.md's matching rules with known answers, and the ranked suggestions."""

from datetime import date
from decimal import Decimal

import pytest

from banking.models import BankReceipt, ReceiptApplication
from banking.services.accounts import customer_alias_record
from banking.services.matching import (
    fuzzy_name_key,
    memo_loose_names,
    memo_strict_names,
)
from banking.services.receipts import bank_statement_import
from contracts.models import SupplementaryAgreement
from dunning.models import CaseEvent
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from receivables.models import Invoice, Payment
from receivables.services.payments import payment_record
from tests.banking.conftest import HEADER
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db


def _import(account, *rows: str):
    return bank_statement_import(account=account, data=(HEADER + "".join(rows)).encode())


def _reasons(transaction_id: str) -> list[str]:
    receipt = BankReceipt.objects.get(transaction_id=transaction_id)
    return [reason["kind"] for reason in receipt.suggestions[0]["reasons"]]


def test_name_normal_forms():
    assert fuzzy_name_key("华南贸易\uff08深圳\uff09有限责任公司") == fuzzy_name_key(
        "华南贸易(深圳)有限公司"
    )
    assert fuzzy_name_key("ACME Trading Co., Ltd.") == fuzzy_name_key("acme trading")
    assert memo_strict_names("付 inv-2 货款", "INV-2")
    assert not memo_strict_names("INV-21", "INV-2")
    assert memo_loose_names("inv 1042 / inv_1043", "INV-1042")
    assert not memo_loose_names("INV-10421", "INV-1042")


def test_memo_rule_beats_the_amount_rule(account, book):
    # 1000.00 equals INV-1 alone, but the memo names INV-3 and INV-… only INV-3 is 400.00:
    # the memo names INV-3 whose 400.00 does not sum to 1000.00, so rule (b) applies INV-1.
    result = _import(account, "M1,2026-03-01,1000.00,CNY,Acme Trading Co.,,INV-3\n")
    assert result.applied[0]["invoices"] == ["INV-1"]
    result = _import(account, "M2,2026-03-01,2900.00,CNY,Acme Trading Co.,,INV-2+INV-3\n")
    assert result.applied[0]["invoices"] == ["INV-2", "INV-3"]


def test_two_items_of_the_same_amount_are_not_applied_by_rule_b(account, book):
    acme = book["acme"]
    InvoiceFactory(
        customer=acme, number="INV-9", due_date=date(2026, 2, 1), amount=Decimal("400.00")
    )
    result = _import(account, "B1,2026-03-01,400.00,CNY,Acme Trading Co.,,\n")
    assert [row["transaction_id"] for row in result.suggested] == ["B1"]
    assert result.applied == []


def test_receipts_in_one_file_see_each_other(account, book):
    result = _import(
        account,
        "S1,2026-03-01,1000.00,CNY,Acme Trading Co.,,\n",
        "S2,2026-03-01,2500.00,CNY,Acme Trading Co.,,\n",
    )
    assert [row["invoices"] for row in result.applied] == [["INV-1"], ["INV-2"]]


def test_overpayment_of_all_items_is_suggested_and_credit_stays(account, book):
    result = _import(account, "O1,2026-03-01,5000.00,CNY,Acme Trading Co.,,\n")
    assert result.suggested[0]["invoices"] == ["INV-1", "INV-2", "INV-3"]
    assert "leaves_credit" in _reasons("O1")


def test_bank_fee_is_suggested_not_applied(account, book):
    result = _import(account, "F1,2026-03-01,2485.00,CNY,Acme Trading Co.,,\n")
    assert result.suggested == [
        {"transaction_id": "F1", "customer_code": "ACME", "invoices": ["INV-2"]}
    ]
    assert "bank_fee" in _reasons("F1")


def test_partial_payment_naming_an_invoice(account, book):
    result = _import(account, "P1,2026-03-01,1200.00,CNY,Acme Trading Co.,,inv2 part\n")
    assert result.suggested[0]["invoices"] == ["INV-2"]
    assert {"memo_names", "partial_payment"} <= set(_reasons("P1"))


def test_similar_name_is_unmatched_with_a_suggestion(account, book):
    result = _import(account, "N1,2026-03-01,8000.00,CNY,华南贸易(深圳)有限责任公司,,\n")
    assert result.unmatched == ["N1"]
    receipt = BankReceipt.objects.get(transaction_id="N1")
    top = receipt.suggestions[0]
    assert top["customer_id"] == book["south"].pk
    assert [item["label"] for item in top["items"]] == ["HN-77"]
    assert top["reasons"][0]["kind"] == "payer_name_similar"


def test_alias_makes_the_payer_known(account, book):
    customer_alias_record(customer=book["south"], alias="华南贸易")
    result = _import(account, "AL,2026-03-01,8000.00,CNY,华南 贸易,,\n")
    assert result.applied[0]["customer_code"] == "HN"


def test_memo_naming_another_customers_invoice_suggests_that_customer(account, book):
    result = _import(account, "MI,2026-03-01,8000.00,CNY,Unknown payer,,pay hn77\n")
    assert result.unmatched == ["MI"]
    top = BankReceipt.objects.get(transaction_id="MI").suggestions[0]
    assert top["customer_id"] == book["south"].pk


def test_payer_account_seen_on_earlier_receipts(account, book, django_user_model):
    from banking.services.receipts import receipt_apply
    from tests.factories.users import FinanceUserFactory

    finance = FinanceUserFactory()
    _import(account, "E1,2026-03-01,5.00,CNY,Somebody,8888 7777,\n")
    receipt_apply(
        receipt=BankReceipt.objects.get(transaction_id="E1"),
        customer=book["south"],
        actor=finance,
        remember_payer=False,
    )
    _import(account, "E2,2026-03-01,100.00,CNY,Somebody else,88887777,\n")
    top = BankReceipt.objects.get(transaction_id="E2").suggestions[0]
    assert top["customer_id"] == book["south"].pk
    assert {"kind": "payer_account_seen", "params": {"count": 1}} in top["reasons"]
    assert ReceiptApplication.objects.count() == 1


def test_instalments_of_an_approved_plan_are_items(account, db):
    customer = CustomerFactory(code="PLAN", name="Plan Co.")
    invoice = InvoiceFactory(
        customer=customer,
        number="PL-1",
        issue_date=date(2025, 10, 1),
        due_date=date(2025, 11, 1),
        amount=Decimal("9000.00"),
    )
    agreement = agreement_propose(
        customer=customer,
        invoices=[invoice],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=date(2026, 3, 10), amount=Decimal("3000.00")),
            InstalmentInput(due_date=date(2026, 4, 10), amount=Decimal("6000.00")),
        ],
        reason="cash flow",
        actor=customer.sales_rep,
        as_of=date(2026, 2, 1),
    )
    agreement_approve(agreement=agreement, actor=ManagerFactory(), as_of=date(2026, 2, 1))
    result = _import(account, "I1,2026-03-01,3000.00,CNY,Plan Co.,,\n")
    assert result.applied == [
        {
            "transaction_id": "I1",
            "customer_code": "PLAN",
            "invoices": ["PL-1#1"],
            "amount": "3000.00",
        }
    ]
    assert Invoice.objects.get(number="PL-1").outstanding == Decimal("6000.00")
    assert Payment.objects.get(reference="I1").allocations.get().invoice == invoice


def test_currency_other_than_the_customers_is_not_applied(account, book):
    result = _import(account, "USD1,2026-03-01,400.00,USD,Acme Trading Co.,,\n")
    assert result.suggested[0]["invoices"] == []
    assert result.applied == []


def record_dup1_by_hand(book) -> None:
    """Acme's payment recorded by hand with the bank's reference DUP1, date and amount."""
    payment_record(
        customer=book["acme"],
        payment_date=date(2026, 3, 1),
        amount=Decimal("1000.00"),
        currency="CNY",
        reference="DUP1",
        actor=None,
        allocations=[(book["invoices"][1], Decimal("1000.00"))],
    )


def test_a_statement_whose_only_application_is_refused_imports_it_suggested(account, book):
    record_dup1_by_hand(book)
    result = _import(account, "DUP1,2026-03-01,1000.00,CNY,Acme Trading Co.,,\n")
    assert result.applied == []
    assert [row["transaction_id"] for row in result.suggested] == ["DUP1"]
    assert Payment.objects.filter(reference="DUP1").count() == 1


def test_a_refused_application_leaves_the_receipt_suggested_and_the_rest_as_if_alone(account, book):
    # A payment already recorded by hand with the bank's reference, date and amount: the
    # receivables service refuses the same payment again, so the receipt is suggested.
    first, second, third = book["invoices"]
    record_dup1_by_hand(book)
    result = _import(
        account,
        "OK1,2026-03-01,400.00,CNY,Acme Trading Co.,,\n",
        "DUP1,2026-03-01,1000.00,CNY,Acme Trading Co.,,\n",
        "OK2,2026-03-01,1000.00,CNY,Acme Trading Co.,,\n",
    )
    # the refused receipt used nothing: the next one pays INV-1 as if it came alone
    assert [(row["transaction_id"], row["invoices"]) for row in result.applied] == [
        ("OK1", ["INV-3"]),
        ("OK2", ["INV-1"]),
    ]
    assert [row["transaction_id"] for row in result.suggested] == ["DUP1"]
    assert BankReceipt.objects.get(transaction_id="DUP1").payment_id is None
    assert Payment.objects.filter(reference="DUP1").count() == 1
    assert ReceiptApplication.objects.count() == 2
    for invoice in (first, second, third):
        invoice.refresh_from_db()
    assert [invoice.outstanding for invoice in (first, second, third)] == [
        Decimal("0.00"),
        Decimal("1500.00"),
        Decimal("0.00"),
    ]
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.RECEIPT_APPLIED).count() == 2
