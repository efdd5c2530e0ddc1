"""The cash-application bench at a small size: its goals hold on a generated statement."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bench.cash import statement_evaluate, statement_generate
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_book():
    rep = SalesRepFactory()
    for number in range(1, 61):
        customer = CustomerFactory(
            pk=number, code=f"BC-{number:04d}", name=f"Bench customer {number}", sales_rep=rep
        )
        InvoiceFactory.create_batch(
            6,
            customer=customer,
            due_date=factory_due(number),
            amount=Decimal(f"{1000 + number * 37}.{number % 100:02d}"),
        )
    # Distinct amounts inside each customer's book.
    from receivables.models import Invoice

    for index, invoice in enumerate(Invoice.objects.order_by("pk")):
        # Spread without arithmetic progressions (a + d = b + c would make combinations
        # of open items ambiguous, which a real book rarely is).
        whole = 1000 + (index * index * 7919 + index * 104729) % 90000
        invoice.amount = invoice.outstanding = Decimal(whole) + Decimal((index * 37) % 100) / 100
        invoice.due_date = date(2026, 1, 1) + timedelta(days=index % 50)
        invoice.save(update_fields=["amount", "outstanding", "due_date"])


def factory_due(number: int) -> date:
    return date(2026, 1, 1) + timedelta(days=number % 28)


def test_the_generated_statement_meets_the_goals(small_book):
    generated = statement_generate(receipts=200, seed=3)
    evaluation = statement_evaluate(generated=generated)
    assert evaluation.receipts == 200
    assert evaluation.wrong_automatic == 0
    assert evaluation.straight_through_share >= 0.9
    assert evaluation.top1_accuracy >= 0.95
    assert evaluation.reimport_new == 0


def test_the_bench_report_reads(small_book):
    from bench.cash import report

    evaluation = statement_evaluate(generated=statement_generate(receipts=40, seed=5))
    text = report(evaluation)
    assert "wrong automatic applications  0" in text
