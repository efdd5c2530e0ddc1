"""Each domain event is written by the real service, in its transaction, with its parameters."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.domain_events import EventType, domain_event_types_wanted
from dunning.models import DunningStep
from dunning.services.disputes import dispute_open
from dunning.services.promises import promise_review, promise_to_pay_record
from dunning.services.run import run_dunning
from integrations.models import OutboundEvent, Robot, WebhookSubscription
from integrations.services.outbox import event_types_wanted
from integrations.services.robots import robot_register
from receivables.models import Customer
from receivables.services.credit import customer_hold
from receivables.services.payments import payment_reverse
from tests.factories.dunning import (
    carry_out,
    daily,
    due_invoice,
    dunning_customer,
    ensure_default_policy,
    executive_contact,
    pay,
)
from tests.factories.integrations import WebhookSubscriptionFactory
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


@pytest.fixture(autouse=True)
def _listener():
    """Someone listens to every type (without a listener the outbox writes nothing)."""
    WebhookSubscriptionFactory()


def events(event_type: str) -> list[OutboundEvent]:
    return list(OutboundEvent.objects.filter(type=event_type).order_by("pk"))


def test_a_payment_writes_payment_recorded_and_invoice_paid():
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D, amount="1000.00")
    other = due_invoice(customer=customer, due=D + timedelta(days=5), amount="500.00")

    with time_machine.travel(D, tick=False):
        payment = pay(invoice=invoice, amount="1000.00", on=D)
        pay(invoice=other, amount="100.00", on=D)

    recorded = events(EventType.PAYMENT_RECORDED)
    assert [event.params["amount"] for event in recorded] == ["1000.00", "100.00"]
    assert recorded[0].params["payment_id"] == payment.pk
    assert recorded[0].params["allocations"] == [{"invoice": invoice.number, "amount": "1000.00"}]
    assert recorded[0].customer_id == customer.pk
    # Only the invoice the money settled is paid
    (paid,) = events(EventType.INVOICE_PAID)
    assert paid.params["number"] == invoice.number
    assert paid.params["amount"] == "1000.00"
    assert paid.payload()["data"] == paid.params
    assert paid.payload()["id"] == str(paid.event_id)


def test_a_reversal_writes_payment_reversed():
    invoice = due_invoice(customer=dunning_customer(), due=D)
    with time_machine.travel(D, tick=False):
        payment = pay(invoice=invoice, amount="1000.00", on=D)
        payment_reverse(payment=payment, reason="bounced", actor=FinanceUserFactory())

    (reversed_event,) = events(EventType.PAYMENT_REVERSED)
    assert reversed_event.params["payment_id"] == payment.pk
    assert reversed_event.params["reason"] == "bounced"
    assert len(events(EventType.INVOICE_PAID)) == 1  # the reversal pays nothing


def test_a_refused_payment_writes_no_event():
    invoice = due_invoice(customer=dunning_customer(), due=D)
    with time_machine.travel(D, tick=False), pytest.raises(Exception, match="open amount"):
        pay(invoice=invoice, amount="2000.00", on=D)
    assert not OutboundEvent.objects.exists()


def test_a_dispute_writes_dispute_opened():
    rep = SalesRepFactory()
    customer = dunning_customer(sales_rep=rep)
    invoice = due_invoice(customer=customer, due=D)

    dispute = dispute_open(
        customer=customer, invoices=[invoice], reason="short delivery", actor=rep, as_of=D
    )

    (event,) = events(EventType.DISPUTE_OPENED)
    assert event.params == {
        "dispute_id": dispute.pk,
        "customer_code": customer.code,
        "invoices": [invoice.number],
        "opened_on": D.isoformat(),
    }


def test_a_broken_promise_writes_promise_broken():
    rep = SalesRepFactory()
    customer = dunning_customer(sales_rep=rep)
    invoice = due_invoice(customer=customer, due=D - timedelta(days=3), amount="5000.00")
    with time_machine.travel(D, tick=False):
        promise = promise_to_pay_record(
            customer=customer,
            invoices=[invoice],
            amount="5000.00",
            promised_date=D + timedelta(days=8),
            note="AP confirmed",
            actor=rep,
            as_of=D,
        )
    with time_machine.travel(D + timedelta(days=12), tick=False):
        promise_review(as_of=D + timedelta(days=12))

    (event,) = events(EventType.PROMISE_BROKEN)
    assert event.params["promise_id"] == promise.pk
    assert event.params["amount"] == "5000.00"
    assert event.params["paid"] == "0.00"


def test_a_manual_credit_hold_writes_credit_hold_placed_once():
    customer = dunning_customer()
    finance = FinanceUserFactory()

    customer_hold(customer=customer, actor=finance, reason="late again")
    customer_hold(customer=customer, actor=finance, reason="again")  # already on hold

    (event,) = events(EventType.CREDIT_HOLD_PLACED)
    assert event.params["customer_code"] == customer.code
    assert event.params["source"] == "manual"


def test_the_daily_run_writes_overdue_sent_escalated_and_the_legal_hold():
    ManagerFactory()
    customer = dunning_customer()
    executive_contact(customer=customer)
    invoice = due_invoice(customer=customer, due=D, amount="1000.00")

    for day in daily(D + timedelta(days=1), D + timedelta(days=61)):
        with time_machine.travel(day, tick=False):
            run_dunning(as_of=day)
            carry_out()

    (overdue,) = events(EventType.INVOICE_OVERDUE)
    assert overdue.params["number"] == invoice.number
    assert overdue.params["as_of"] == (D + timedelta(days=1)).isoformat()
    assert overdue.params["outstanding"] == "1000.00"
    escalated = events(EventType.DUNNING_CASE_ESCALATED)
    assert [event.params["level"] for event in escalated] == ["executive", "legal"]
    assert escalated[0].params["items"] == [invoice.number]
    sent_levels = [event.params["level"] for event in events(EventType.DUNNING_MESSAGE_SENT)]
    assert sent_levels == ["reminder", "demand_letter", "executive", "legal"]
    (hold,) = events(EventType.CREDIT_HOLD_PLACED)
    assert hold.params["source"] == "dunning"
    assert Customer.objects.get(pk=customer.pk).credit_status == Customer.CreditStatus.ON_HOLD
    # Every event concerns the customer, for the robots' scoping
    assert set(OutboundEvent.objects.values_list("customer_id", flat=True)) == {customer.pk}


def test_amounts_are_strings_with_two_decimals():
    invoice = due_invoice(customer=dunning_customer(), due=D, amount="1234.5")
    with time_machine.travel(D, tick=False):
        pay(invoice=invoice, amount=str(Decimal("1234.50")), on=D)
    (event,) = events(EventType.INVOICE_PAID)
    assert event.params["amount"] == "1234.50"


def test_only_the_types_someone_listens_to_are_written():
    WebhookSubscription.objects.all().delete()
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D, amount="1000.00")
    with time_machine.travel(D, tick=False):
        pay(invoice=invoice, amount="400.00", on=D)
    assert not OutboundEvent.objects.exists()

    WebhookSubscriptionFactory(event_types=[EventType.INVOICE_PAID])
    WebhookSubscriptionFactory(event_types=[EventType.INVOICE_PAID], is_active=False)
    with time_machine.travel(D, tick=False):
        pay(invoice=invoice, amount="600.00", on=D)
    assert list(OutboundEvent.objects.values_list("type", flat=True)) == [EventType.INVOICE_PAID]

    robot_register(
        name="Team",
        platform=Robot.Platform.WECOM,
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        secret="",
        language="zh-hans",
        actor=ManagerFactory(),
    )
    assert event_types_wanted() == {
        EventType.INVOICE_PAID,
        EventType.DUNNING_CASE_ESCALATED,
        EventType.PROMISE_BROKEN,
    }


def test_the_run_describes_no_overdue_invoice_that_nobody_keeps():
    """The first run chases tens of thousands of invoices: with no listener for
    `invoice.overdue` it reads nothing to describe them."""
    WebhookSubscription.objects.all().delete()
    WebhookSubscriptionFactory(event_types=[EventType.DUNNING_MESSAGE_SENT])
    assert EventType.INVOICE_OVERDUE not in domain_event_types_wanted()
    customer = dunning_customer()
    due_invoice(customer=customer, due=D, amount="1000.00")
    day = D + timedelta(days=1)

    with time_machine.travel(day, tick=False), CaptureQueriesContext(connection) as queries:
        run_dunning(as_of=day)

    assert not events(EventType.INVOICE_OVERDUE)
    assert DunningStep.objects.filter(invoice__customer=customer).exists()
    assert not [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "dunning_dunningstep"."invoice_id"')
    ]

    WebhookSubscriptionFactory(event_types=[EventType.INVOICE_OVERDUE])
    assert EventType.INVOICE_OVERDUE in domain_event_types_wanted()
