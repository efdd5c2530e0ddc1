"""Two finance users applying the same receipt at once, in separate OS processes on
PostgreSQL: the receipt's row lock lets one apply it and refuses the other."""

import subprocess
import sys
import time
from decimal import Decimal

import pytest

from banking.models import BankReceipt, ReceiptApplication
from banking.services.receipts import bank_statement_import
from receivables.models import Invoice, Payment
from tests.banking.conftest import HEADER
from tests.dunning.processes import ROOT, child_env
from tests.factories.users import FinanceUserFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

APPLY = """
import sys, time
from pathlib import Path
from django.contrib.auth import get_user_model
from banking.models import BankReceipt
from banking.services.receipts import receipt_apply
from core.exceptions import BusinessRuleError
from receivables.models import Customer
user = get_user_model().objects.get(username=sys.argv[1])
receipt = BankReceipt.objects.get(transaction_id="RACE")
customer = Customer.objects.get(code="ACME")
gate = Path(sys.argv[2])
(gate.parent / f"ready-{user.username}").touch()
while not gate.exists():
    time.sleep(0.005)
try:
    receipt_apply(receipt=receipt, customer=customer, actor=user)
except BusinessRuleError as error:
    print("refused", error.message)
else:
    print("applied")
"""


def test_two_processes_apply_the_same_receipt_once(account, book, tmp_path):
    bank_statement_import(
        account=account,
        data=(HEADER + "RACE,2026-03-01,1400.00,CNY,Acme Trading Co.,,\n").encode(),
    )
    assert BankReceipt.objects.get(transaction_id="RACE").status == "suggested"
    users = [FinanceUserFactory(username=f"fin-race-{n}") for n in range(2)]
    gate = tmp_path / "go"
    processes = [_start(user.username, gate) for user in users]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    gate.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    results = sorted(stdout.split()[0] for stdout, _stderr in outputs)
    assert results == ["applied", "refused"]
    assert ReceiptApplication.objects.count() == 1
    assert Payment.objects.filter(reference="RACE").count() == 1
    assert Invoice.objects.get(number="INV-1").outstanding == Decimal("0.00")


def _start(username: str, gate) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "import django; django.setup()\n" + APPLY, username, str(gate)],
        cwd=ROOT,
        env={**child_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
