"""seed_demo's bank account and statement: the queue and the claims have receipts to show,
nothing is applied (the demo book keeps its figures), and seeding again adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from banking.models import BankAccount, BankReceipt
from receivables.models import Payment

pytestmark = pytest.mark.django_db


def test_seed_demo_has_a_bank_account_and_receipts_waiting(seeded_demo):
    account = BankAccount.objects.get(code="ICBC-DEMO")
    receipts = dict(
        BankReceipt.objects.filter(bank_account=account).values_list("transaction_id", "status")
    )
    assert receipts == {
        "DEMO-0001": BankReceipt.Status.UNMATCHED,
        "DEMO-0002": BankReceipt.Status.SUGGESTED,
        "DEMO-0003": BankReceipt.Status.UNMATCHED,
    }
    assert BankReceipt.objects.get(transaction_id="DEMO-0003").suggestions
    assert not Payment.objects.filter(reference__in=receipts).exists()
    assert "bank account ICBC-DEMO: 3 receipts imported" in seeded_demo.output

    call_command("seed_demo", "--password", seeded_demo.password, stdout=StringIO())

    assert BankReceipt.objects.filter(bank_account=account).count() == 3
