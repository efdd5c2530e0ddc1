"""`payments_record_many` records a batch exactly as `payment_record` one by one would: the
same balances, statuses, history, derived work (tasks, messages, case), outbound events and
timeline; it refuses what `payment_record` refuses, and then writes nothing."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import Max

from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    PromiseToPay,
)
from dunning.services.promises import promise_to_pay_record
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from integrations.models import OutboundEvent
from receivables.models import Customer, Invoice, Payment, PaymentAllocation
from receivables.services.balance_changes import balance_changes_batched
from receivables.services.payments import (
    PaymentRequest,
    PaymentsRefused,
    payment_record,
    payments_record_many,
)
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.integrations import WebhookSubscriptionFactory
from tests.factories.users import FinanceUserFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)  # a Monday
PAY_DAY = D + timedelta(days=16)


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


@pytest.fixture
def world():
    """Two customers reminded (sent, call task) with demand letters awaiting approval and
    open cases, and a new customer with one invoice; a webhook listens to every event."""
    ensure_default_policy()
    WebhookSubscriptionFactory()
    north = dunning_customer(code="NORTH", name="Northwind Trading")
    south = dunning_customer(code="SOUTH", name="Southwind Trading")
    invoices = {
        number: due_invoice(customer=customer, due=D, number=number, amount=amount)
        for customer, number, amount in (
            (north, "N-1", "1000.00"),
            (north, "N-2", "2000.00"),
            (north, "N-3", "500.00"),
            (south, "S-1", "3000.00"),
            (south, "S-2", "800.00"),
        )
    }
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
        communications_send()
    with at(D + timedelta(days=15)):
        run_dunning(as_of=D + timedelta(days=15))
    with at(PAY_DAY):
        # kept by the amount paid, and left open (3000.00 paid, S-2 still open)
        for customer, numbers, amount in (
            (north, ["N-1", "N-2"], "3000.00"),
            (south, ["S-1", "S-2"], "3800.00"),
        ):
            promise_to_pay_record(
                customer=customer,
                invoices=[invoices[number] for number in numbers],
                amount=Decimal(amount),
                promised_date=PAY_DAY + timedelta(days=2),
                actor=None,
                as_of=PAY_DAY,
            )
    fresh = CustomerFactory(code="FRESH", is_new=True)
    invoices["F-1"] = due_invoice(customer=fresh, due=PAY_DAY, number="F-1", amount="700.00")
    assert CollectionTask.objects.filter(status=CollectionTask.Status.OPEN).count() == 2
    assert CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).count() == 2
    return {"north": north, "south": south, "fresh": fresh, "invoices": invoices}


def request(customer, amount, reference, allocations=None) -> PaymentRequest:
    """A payment on PAY_DAY in CNY; allocated oldest due first when `allocations` is None."""
    return PaymentRequest(
        customer_id=customer.pk,
        payment_date=PAY_DAY,
        amount=Decimal(amount),
        currency="CNY",
        reference=reference,
        allocations=allocations,
    )


def _requests(world) -> list[PaymentRequest]:
    north, south, fresh = world["north"], world["south"], world["fresh"]
    invoice = world["invoices"]

    return [
        # NORTH: N-2 named, then the rest oldest first (N-1, N-3): the case closes
        request(north, "2000.00", "B-1", [(invoice["N-2"], Decimal("2000.00"))]),
        request(north, "1500.00", "B-2"),
        # SOUTH: S-1 in two parts (two history steps on one invoice), S-2 stays open
        request(south, "1000.00", "B-3", [(invoice["S-1"], Decimal("1000.00"))]),
        request(south, "2000.00", "B-4", [(invoice["S-1"], Decimal("2000.00"))]),
        # FRESH: its first payment, more than it owes: credit stays, it is no longer new
        request(fresh, "900.00", "B-5"),
    ]


def _marks() -> dict:
    return {
        model: model.objects.aggregate(top=Max("pk"))["top"] or 0
        for model in (
            Payment,
            PaymentAllocation,
            CaseEvent,
            OutboundEvent,
            Invoice.history.model,
            Customer.history.model,
            Payment.history.model,
        )
    }


def _snapshot(marks: dict) -> dict:
    """Everything the payments changed, with the new payments' ids replaced by their order."""
    payment_ids = list(
        Payment.objects.filter(pk__gt=marks[Payment]).order_by("pk").values_list("pk", flat=True)
    )
    order = {pk: index for index, pk in enumerate(payment_ids)}

    def plain(value):
        if isinstance(value, dict):
            return {
                key: (order.get(item, item) if key == "payment_id" else plain(item))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    def reason(text: str) -> str:
        if text.startswith("payment "):
            return f"payment #{order[int(text.split()[1])]}"
        return text

    new = {model: model.objects.filter(pk__gt=top) for model, top in marks.items()}
    return {
        "invoices": list(
            Invoice.objects.order_by("number").values_list("number", "outstanding", "status")
        ),
        "invoice_history": [
            (row.number, row.outstanding, row.status, reason(row.history_change_reason or ""))
            for row in new[Invoice.history.model].order_by("history_id")
        ],
        "payments": list(
            new[Payment]
            .order_by("pk")
            .values_list("customer__code", "amount", "reference", "payment_date", "status")
        ),
        "payment_history": new[Payment.history.model].count(),
        "allocations": sorted(
            (order[payment_id], number, amount)
            for payment_id, number, amount in new[PaymentAllocation].values_list(
                "payment_id", "invoice__number", "amount"
            )
        ),
        "customers": list(Customer.objects.order_by("code").values_list("code", "is_new")),
        "customer_history": list(
            new[Customer.history.model]
            .order_by("history_id")
            .values_list("code", "is_new", "history_change_reason")
        ),
        "tasks": list(
            CollectionTask.objects.order_by("pk").values_list("pk", "status", "closed_reason")
        ),
        "cases": list(
            CollectionCase.objects.order_by("pk").values_list(
                "pk", "status", "closed_on", "closed_reason"
            )
        ),
        "promises": list(
            PromiseToPay.objects.order_by("pk").values_list("pk", "status", "resolved_at")
        ),
        "communications": list(
            Communication.objects.order_by("pk").values_list("pk", "status", "failure_reason")
        ),
        "timeline": [
            (code, case_id, kind, plain(data))
            for code, case_id, kind, data in new[CaseEvent]
            .order_by("pk")
            .values_list("customer__code", "case_id", "kind", "data")
        ],
        "outbound": [
            (kind, plain(params))
            for kind, params in new[OutboundEvent].order_by("pk").values_list("type", "params")
        ],
    }


def _outcome(record) -> dict:
    """Record, take the snapshot, and roll back: the next way starts from the same rows."""
    with transaction.atomic():
        marks = _marks()
        with at(PAY_DAY), balance_changes_batched():
            record()
        snapshot = _snapshot(marks)
        transaction.set_rollback(True)
    return snapshot


def test_a_batch_is_recorded_exactly_as_one_payment_after_another(world):
    finance = FinanceUserFactory()
    requests = _requests(world)

    def one_by_one():
        for request in requests:
            payment_record(
                customer=Customer(pk=request.customer_id),
                payment_date=request.payment_date,
                amount=request.amount,
                currency=request.currency,
                reference=request.reference,
                actor=finance,
                allocations=request.allocations,
            )

    def in_bulk():
        payments = payments_record_many(requests=requests, actor=finance)
        assert [payment.reference for payment in payments] == ["B-1", "B-2", "B-3", "B-4", "B-5"]

    single = _outcome(one_by_one)
    bulk = _outcome(in_bulk)

    # The outcome is worth comparing: the money moved and the work followed it.
    invoices = {number: (outstanding, status) for number, outstanding, status in bulk["invoices"]}
    assert invoices["N-1"] == invoices["N-2"] == invoices["N-3"] == (Decimal("0.00"), "paid")
    assert invoices["S-1"] == (Decimal("0.00"), "paid")
    assert invoices["S-2"] == (Decimal("800.00"), "open")
    assert [row[3] for row in bulk["invoice_history"] if row[0] == "S-1"] == [
        "payment #2",
        "payment #3",
    ]
    assert [row[1] for row in bulk["invoice_history"] if row[0] == "S-1"] == [
        Decimal("2000.00"),
        Decimal("0.00"),
    ]
    assert ("FRESH", False, "first payment") in bulk["customer_history"]
    assert {status for _pk, status, _on, _reason in bulk["cases"]} == {"closed", "open"}
    assert any(status == "cancelled" for _pk, status, _reason in bulk["tasks"])
    assert [status for _pk, status, _at in bulk["promises"]] == ["kept", "open"]
    assert {kind for _code, _case, kind, _data in bulk["timeline"]} >= {
        CaseEvent.Kind.TASK_CLOSED,
        CaseEvent.Kind.CASE_CLOSED,
        CaseEvent.Kind.PROMISE_KEPT,
    }
    assert [kind for kind, _params in bulk["outbound"]].count("payment.recorded") == 5
    assert [kind for kind, _params in bulk["outbound"]].count("invoice.paid") == 5
    assert bulk["payment_history"] == 5
    # and it is the same, row for row, as recording the payments one by one
    for part in single:
        assert bulk[part] == single[part], part


def test_a_request_sees_the_payments_before_it_in_the_batch(world):
    invoice = world["invoices"]["S-2"]
    south = world["south"]

    def on_s2(reference: str, amount: str) -> PaymentRequest:
        return request(south, amount, reference, [(invoice, Decimal(amount))])

    with at(PAY_DAY), pytest.raises(PaymentsRefused) as refused:
        payments_record_many(
            requests=[on_s2("R-1", "500.00"), on_s2("R-2", "500.00"), on_s2("R-1", "500.00")],
            actor=None,
        )
    assert set(refused.value.refusals) == {1, 2}
    assert "more than the open amount 300.00" in refused.value.refusals[1].message
    assert "already recorded" in refused.value.refusals[2].message
    # nothing of the batch is written
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("800.00")


def test_the_payments_returned_hold_their_stored_allocated_amount(world):
    # Given one payment on account and one allocated in part
    south = world["south"]
    invoice = world["invoices"]["S-2"]
    requests = [
        request(south, "250.00", "ON-ACCOUNT", []),
        request(south, "900.00", "PART", [(invoice, Decimal("300.00"))]),
    ]

    # When both are recorded in one batch
    with at(PAY_DAY):
        payments = payments_record_many(requests=requests, actor=None)

    # Then each returned object says what is stored, without a reload
    assert [payment.allocated_amount for payment in payments] == [
        Decimal("0.00"),
        Decimal("300.00"),
    ]
    stored = dict(Payment.objects.values_list("reference", "allocated_amount"))
    assert stored == {"ON-ACCOUNT": Decimal("0.00"), "PART": Decimal("300.00")}


def test_the_refusals_of_payment_record_are_those_of_the_batch(world):
    north = world["north"]
    with at(PAY_DAY), pytest.raises(PaymentsRefused) as refused:
        payments_record_many(
            requests=[
                PaymentRequest(north.pk, PAY_DAY + timedelta(days=1), Decimal("1.00"), "CNY", ""),
                PaymentRequest(north.pk, PAY_DAY, Decimal("1.00"), "USD", ""),
                PaymentRequest(
                    north.pk,
                    PAY_DAY,
                    Decimal("1.00"),
                    "CNY",
                    "",
                    [(world["invoices"]["S-1"], Decimal("1.00"))],
                ),
                PaymentRequest(north.pk, PAY_DAY, Decimal("1.00"), "CNY", "fine"),
            ],
            actor=None,
        )
    refusals = refused.value.refusals
    assert sorted(refusals) == [0, 1, 2]
    assert refusals[0].field == "payment_date"
    assert refusals[1].field == "currency"
    assert "belongs to another customer" in refusals[2].message
    assert not Payment.objects.exists()
