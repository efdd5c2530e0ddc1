"""Acceptance bills: a received bill settles its invoices like a payment; endorse, discount and
collect keep them settled; a dishonoured bill reopens them and the ladder resumes."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from bills.models import AcceptanceBill
from bills.selectors.bills import bills_in_hand_total, collections_cash_and_bills
from bills.services.bills import (
    acceptance_bill_collect,
    acceptance_bill_discount,
    acceptance_bill_dishonour,
    acceptance_bill_endorse,
    acceptance_bill_receive,
)
from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionCase, CollectionTask, LevelCode
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from receivables.models import Invoice, Payment
from receivables.selectors.ageing import ageing_report
from receivables.services.payments import payment_record, payment_reverse
from tests.bills.conftest import at
from tests.factories.bills import bill_input, receive_bill
from tests.factories.dunning import due_invoice, ensure_default_policy

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)  # a Monday
RECEIVED = D + timedelta(days=5)
MATURITY = D + timedelta(days=40)


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


def held_bill(customer, finance, *amounts: str, face: str | None = None) -> AcceptanceBill:
    invoices = [
        due_invoice(customer=customer, due=D, amount=amount, number=f"INV-B-{i}")
        for i, amount in enumerate(amounts, start=1)
    ]
    with at(RECEIVED):
        return receive_bill(
            customer=customer,
            received_on=RECEIVED,
            invoices=invoices,
            face=face,
            actor=finance,
            number="BA-001",
            issue=D,
            maturity=MATURITY,
        )


def test_a_received_bill_settles_its_invoices_as_a_bill_payment(customer, finance):
    bill = held_bill(customer, finance, "600.00", "400.00", face="1200.00")

    assert bill.status == AcceptanceBill.Status.HELD
    assert (bill.face_amount, bill.currency, bill.received_on) == (
        Decimal("1200.00"),
        "CNY",
        RECEIVED,
    )
    payment = bill.payment
    assert (payment.method, payment.amount, payment.reference, payment.status) == (
        Payment.Method.ACCEPTANCE_BILL,
        Decimal("1200.00"),
        "BA-001",
        Payment.Status.POSTED,
    )
    assert sorted(payment.allocations.values_list("invoice__number", "amount")) == [
        ("INV-B-1", Decimal("600.00")),
        ("INV-B-2", Decimal("400.00")),
    ]
    assert set(Invoice.objects.values_list("status", "outstanding")) == {
        (Invoice.Status.PAID, Decimal("0.00"))
    }
    event = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.BILL_RECEIVED)
    assert event.text == ""
    assert event.actor == finance
    assert event.data == {
        "bill": "BA-001",
        "bill_id": bill.pk,
        "payment": payment.pk,
        "currency": "CNY",
        "face_amount": "1200.00",
        "maturity_date": MATURITY.isoformat(),
        "date": RECEIVED.isoformat(),
        "items": ["INV-B-1", "INV-B-2"],
    }
    assert event.summary == (
        "Acceptance bill BA-001 received on 2026-03-07: CNY 1,200.00, maturing 2026-04-11; "
        "it settles INV-B-1, INV-B-2."
    )
    with translation.override("zh-hans"):
        assert event.summary.startswith("承兑汇票 BA-001 于 2026-03-07 收到")
    assert bill.history.get().history_user == finance


def test_a_bill_counts_as_collected_not_cash_until_it_turns_into_cash(customer, finance):
    invoice = due_invoice(customer=customer, due=D, amount="500.00", number="INV-T-1")
    with at(RECEIVED):
        payment_record(
            customer=customer,
            payment_date=RECEIVED,
            amount=Decimal("500.00"),
            currency="CNY",
            reference="WIRE-1",
            actor=finance,
            allocations=[(invoice, Decimal("500.00"))],
        )
    bill = held_bill(customer, finance, "1000.00")

    month = {"date_from": D, "date_to": D + timedelta(days=60), "currency": "CNY"}
    before = collections_cash_and_bills(user=finance, **month)
    assert (before.cash, before.bills_received) == (Decimal("500.00"), Decimal("1000.00"))
    assert bills_in_hand_total(user=finance, as_of=RECEIVED, currency="CNY") == Decimal("1000.00")
    day_before = RECEIVED - timedelta(days=1)
    assert bills_in_hand_total(user=finance, as_of=day_before, currency="CNY") == 0

    with at(MATURITY):
        acceptance_bill_collect(bill=bill, collected_on=MATURITY, actor=finance)

    after = collections_cash_and_bills(user=finance, **month)
    assert (after.cash, after.cash_from_transfers, after.cash_from_bills) == (
        Decimal("1500.00"),
        Decimal("500.00"),
        Decimal("1000.00"),
    )
    assert bills_in_hand_total(user=finance, as_of=MATURITY, currency="CNY") == 0
    # as of the day before it was collected, the bill was still in hand
    assert bills_in_hand_total(
        user=finance, as_of=MATURITY - timedelta(days=1), currency="CNY"
    ) == Decimal("1000.00")


def test_a_bill_settled_invoice_is_not_dunned_and_a_dishonour_resumes_the_ladder(customer, finance):
    # Given an invoice reminded the day after it fell due, with a call task for the rep
    invoice = due_invoice(customer=customer, due=D, amount="1000.00", number="INV-L-1")
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
        communications_send()
    call = CollectionTask.objects.get(customer=customer, kind=CollectionTask.Kind.CALL)
    case = CollectionCase.objects.get(customer=customer)

    # When the customer pays it with a bill
    with at(RECEIVED):
        bill = receive_bill(
            customer=customer,
            received_on=RECEIVED,
            invoices=[invoice],
            actor=finance,
            issue=D,
            maturity=MATURITY,
        )

    # Then the work ends as for any payment, and the ladder stops
    call.refresh_from_db()
    case.refresh_from_db()
    assert call.status == CollectionTask.Status.CANCELLED
    assert case.status == CollectionCase.Status.CLOSED
    for day in (D + timedelta(days=15), D + timedelta(days=30)):
        with at(day):
            assert run_dunning(as_of=day).communications == []
    report = ageing_report(as_of=D + timedelta(days=30), currency="CNY", customer=customer)
    assert report.totals["total"] == Decimal("0.00")

    # When the acceptor refuses the bill at maturity
    with at(MATURITY):
        acceptance_bill_dishonour(
            bill=bill, dishonoured_on=MATURITY, reason="Refused at presentation", actor=finance
        )

    # Then the payment is reversed, the invoice, case and task reopen
    bill.refresh_from_db()
    invoice.refresh_from_db()
    case.refresh_from_db()
    call.refresh_from_db()
    assert (bill.status, bill.settled_on, bill.dishonour_reason) == (
        AcceptanceBill.Status.DISHONOURED,
        MATURITY,
        "Refused at presentation",
    )
    assert bill.payment.status == Payment.Status.REVERSED
    assert (invoice.status, invoice.outstanding) == (Invoice.Status.OPEN, Decimal("1000.00"))
    assert case.status == CollectionCase.Status.OPEN
    assert call.status == CollectionTask.Status.OPEN
    dishonoured = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.BILL_DISHONOURED)
    assert (dishonoured.text, dishonoured.data["items"], dishonoured.data["reason"]) == (
        "",
        ["INV-L-1"],
        "Refused at presentation",
    )
    assert ageing_report(as_of=MATURITY, currency="CNY", customer=customer).totals[
        "31-60"
    ] == Decimal("1000.00")
    # and the ladder goes on from the reminder: the demand letter next, no second reminder
    with at(MATURITY):
        result = run_dunning(as_of=MATURITY)
    assert [(c.level, c.invoices) for c in result.communications] == [
        (LevelCode.DEMAND_LETTER, ["INV-L-1"])
    ]


def test_discount_keeps_the_cash_and_the_expense_exact_to_the_cent(customer, finance):
    bill = held_bill(customer, finance, "100000.00")

    with at(D + timedelta(days=10)):
        acceptance_bill_discount(
            bill=bill,
            discounted_on=D + timedelta(days=10),
            discount_amount=Decimal("1234.57"),
            actor=finance,
        )

    bill.refresh_from_db()
    assert (bill.status, bill.settled_on, bill.discount_amount, bill.cash_received) == (
        AcceptanceBill.Status.DISCOUNTED,
        D + timedelta(days=10),
        Decimal("1234.57"),
        Decimal("98765.43"),
    )
    event = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.BILL_DISCOUNTED)
    assert (event.data["discount_amount"], event.data["cash_received"]) == ("1234.57", "98765.43")
    figures = collections_cash_and_bills(
        user=finance, date_from=D, date_to=D + timedelta(days=10), currency="CNY"
    )
    assert (figures.cash_from_bills, figures.discount_expense) == (
        Decimal("98765.43"),
        Decimal("1234.57"),
    )
    # the invoice stays paid at face: the discount is our financing cost, not the customer's debt
    assert Invoice.objects.get().outstanding == Decimal("0.00")
    assert bill.history.first().history_change_reason == "discounted"


@pytest.mark.parametrize(
    ("discount", "message"),
    [
        ("100000.00", "less than the face amount"),
        ("100001.00", "less than the face amount"),
        ("0", "must be positive"),
        ("12.345", "at most two decimals"),
    ],
)
def test_a_discount_not_below_the_face_or_not_in_cents_is_refused(
    customer, finance, discount, message
):
    bill = held_bill(customer, finance, "100000.00")
    with at(D + timedelta(days=10)), pytest.raises(BusinessRuleError, match=message):
        acceptance_bill_discount(
            bill=bill,
            discounted_on=D + timedelta(days=10),
            discount_amount=Decimal(discount),
            actor=finance,
        )
    bill.refresh_from_db()
    assert (bill.status, bill.discount_amount) == (AcceptanceBill.Status.HELD, None)


def test_endorsing_passes_the_bill_on_and_keeps_the_invoices_paid(customer, finance):
    bill = held_bill(customer, finance, "800.00")

    with at(D + timedelta(days=7)):
        acceptance_bill_endorse(
            bill=bill,
            endorsee="Shanghai Steel Supply Co.",
            endorsed_on=D + timedelta(days=7),
            actor=finance,
        )

    bill.refresh_from_db()
    assert (bill.status, bill.endorsee, bill.settled_on, bill.cash_received) == (
        AcceptanceBill.Status.ENDORSED,
        "Shanghai Steel Supply Co.",
        D + timedelta(days=7),
        None,
    )
    assert Invoice.objects.get().status == Invoice.Status.PAID
    assert bills_in_hand_total(user=finance, as_of=D + timedelta(days=7), currency="CNY") == 0
    event = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.BILL_ENDORSED)
    assert event.data["endorsee"] == "Shanghai Steel Supply Co."
    assert event.actor == finance


def test_collecting_before_maturity_is_refused_and_at_maturity_is_cash(customer, finance):
    bill = held_bill(customer, finance, "800.00")

    with at(MATURITY - timedelta(days=1)), pytest.raises(BusinessRuleError, match="matures on"):
        acceptance_bill_collect(bill=bill, collected_on=MATURITY - timedelta(days=1), actor=finance)

    with at(MATURITY):
        acceptance_bill_collect(bill=bill, collected_on=MATURITY, actor=finance)
    bill.refresh_from_db()
    assert (bill.status, bill.cash_received) == (AcceptanceBill.Status.COLLECTED, Decimal("800.00"))
    assert CaseEvent.objects.filter(customer=customer, kind=CaseEvent.Kind.BILL_COLLECTED).exists()


def test_a_discounted_bill_dishonoured_with_recourse_reopens_its_invoices(customer, finance):
    bill = held_bill(customer, finance, "800.00")
    with at(D + timedelta(days=10)):
        acceptance_bill_discount(
            bill=bill,
            discounted_on=D + timedelta(days=10),
            discount_amount=Decimal("8.00"),
            actor=finance,
        )

    with at(MATURITY):
        acceptance_bill_dishonour(
            bill=bill, dishonoured_on=MATURITY, reason="Recourse by the bank", actor=finance
        )

    bill.refresh_from_db()
    assert bill.status == AcceptanceBill.Status.DISHONOURED
    assert Invoice.objects.get().outstanding == Decimal("800.00")


def test_a_settled_bill_takes_no_further_transition(customer, finance):
    bill = held_bill(customer, finance, "800.00")
    with at(MATURITY):
        acceptance_bill_collect(bill=bill, collected_on=MATURITY, actor=finance)
        with pytest.raises(BusinessRuleError, match="Collected"):
            acceptance_bill_dishonour(
                bill=bill, dishonoured_on=MATURITY, reason="late", actor=finance
            )
        with pytest.raises(BusinessRuleError, match="Collected"):
            acceptance_bill_endorse(
                bill=bill, endorsee="Someone", endorsed_on=MATURITY, actor=finance
            )
    bill.refresh_from_db()
    assert bill.status == AcceptanceBill.Status.COLLECTED
    assert bill.payment.status == Payment.Status.POSTED


def test_a_transition_dated_after_today_or_before_receipt_is_refused(customer, finance):
    bill = held_bill(customer, finance, "800.00")
    with at(D + timedelta(days=8)):
        with pytest.raises(BusinessRuleError, match="after today"):
            acceptance_bill_endorse(
                bill=bill, endorsee="X", endorsed_on=D + timedelta(days=9), actor=finance
            )
        with pytest.raises(BusinessRuleError, match="before the bill was received"):
            acceptance_bill_endorse(bill=bill, endorsee="X", endorsed_on=D, actor=finance)
    bill.refresh_from_db()
    assert bill.status == AcceptanceBill.Status.HELD


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": "BA-DUP"}, "number"),
        ({"maturity": date(2026, 2, 1)}, "maturity_date"),
        ({"currency": "USD"}, "currency"),
        ({"face": "0"}, "face_amount"),
    ],
)
def test_a_bad_bill_is_refused_and_nothing_is_written(customer, finance, change, field):
    with at(RECEIVED):
        receive_bill(customer=customer, received_on=RECEIVED, face="10.00", number="BA-DUP")
        payments, events = Payment.objects.count(), CaseEvent.objects.count()
        invoice = due_invoice(customer=customer, due=D, amount="300.00")
        kwargs = {"number": "BA-NEW", "face": "300.00", "currency": "CNY"} | change
        with pytest.raises(BusinessRuleError) as refused:
            acceptance_bill_receive(
                customer=customer,
                bill=bill_input(**kwargs),
                received_on=RECEIVED,
                actor=finance,
                allocations=[(invoice, Decimal("300.00"))],
            )
    assert refused.value.field == field
    assert (Payment.objects.count(), CaseEvent.objects.count()) == (payments, events)
    assert AcceptanceBill.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("300.00")


def test_a_bill_received_after_today_is_refused(customer, finance):
    with at(RECEIVED), pytest.raises(BusinessRuleError, match="after today") as refused:
        acceptance_bill_receive(
            customer=customer,
            bill=bill_input(),
            received_on=RECEIVED + timedelta(days=1),
            actor=finance,
        )
    assert refused.value.field == "received_on"
    assert not AcceptanceBill.objects.exists()


def test_without_allocations_a_bill_pays_oldest_first_and_leaves_the_rest_as_credit(
    customer, finance
):
    older = due_invoice(customer=customer, due=D, amount="300.00", number="INV-O-1")
    newer = due_invoice(customer=customer, due=D + timedelta(days=3), amount="300.00")
    with at(RECEIVED):
        bill = acceptance_bill_receive(
            customer=customer,
            bill=bill_input(face="400.00", issue=D),
            received_on=RECEIVED,
            actor=finance,
        )
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.outstanding, newer.outstanding) == (Decimal("0.00"), Decimal("200.00"))
    assert bill.payment.allocations.count() == 2


def test_a_bills_payment_is_reversed_only_by_dishonouring_the_bill(customer, finance):
    bill = held_bill(customer, finance, "800.00")

    with at(RECEIVED), pytest.raises(BusinessRuleError, match="record the bill as dishonoured"):
        payment_reverse(payment=bill.payment, reason="Bounced", actor=finance)

    bill.payment.refresh_from_db()
    assert bill.payment.status == Payment.Status.POSTED
    assert Invoice.objects.get().outstanding == Decimal("0.00")
