"""Work follows the money: settled items end their tasks, messages, case and hold at once;
a reversal reopens them and the ladder goes on from the rung it reached."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from contracts.models import SupplementaryAgreement
from dashboards.selectors.finance import approved_communications_waiting, failed_communications
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningPolicy,
    DunningStep,
    LevelCode,
    PromiseToPay,
    SettlementReason,
)
from dunning.services.agreements import (
    InstalmentInput,
    agreement_approve,
    agreement_propose,
)
from dunning.services.delivery import communication_mark_handled
from dunning.services.promises import promise_to_pay_record
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from receivables.models import CreditHoldEvent, Customer, Invoice
from receivables.services.credit import customer_hold
from receivables.services.invoices import credit_note_issue, invoice_cancel
from receivables.services.payments import payment_record, payment_reverse
from tests.dunning.mail_backends import FlakyBackend
from tests.factories.cases import ContractFactory, invoice_under_contract
from tests.factories.dunning import (
    active_policy,
    due_invoice,
    dunning_customer,
    ensure_default_policy,
)
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)  # a Monday
PAY_DAY = D + timedelta(days=16)


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


def at(day: date):
    """The clock at 10:00 in Shanghai on a business date."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def customer(rep):
    return dunning_customer(sales_rep=rep, name="Northwind Trading")


def climb_to_demand_letter(customer, *numbers, amount="1000.00"):
    """Invoices due D: the reminder (sent, with a call task) on D+1 and the demand letter
    (awaiting approval) on D+15; the case is open."""
    invoices = [due_invoice(customer=customer, due=D, number=n, amount=amount) for n in numbers]
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
        communications_send()
    with at(D + timedelta(days=15)):
        run_dunning(as_of=D + timedelta(days=15))
    return invoices


def pay_all(customer, invoices, *, actor, on=PAY_DAY):
    return payment_record(
        customer=customer,
        payment_date=on,
        amount=sum((invoice.amount for invoice in invoices), Decimal("0.00")),
        currency=customer.currency,
        reference=f"BANK-{customer.code}-{on:%Y%m%d}",
        actor=actor,
    )


def open_tasks(customer):
    return CollectionTask.objects.filter(customer=customer, status=CollectionTask.Status.OPEN)


def test_paying_every_invoice_ends_the_tasks_messages_and_case_at_once(
    client,
    customer,
    rep,
    finance,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    # Given two invoices reminded (sent, call task) and with a demand letter awaiting approval
    invoices = climb_to_demand_letter(customer, "INV-F-1", "INV-F-2")
    reminder = Communication.objects.get(customer=customer, level=LevelCode.REMINDER)
    letter = Communication.objects.get(customer=customer, level=LevelCode.DEMAND_LETTER)
    assert reminder.status == Communication.Status.SENT
    assert letter.status == Communication.Status.AWAITING_APPROVAL
    call = open_tasks(customer).get(kind=CollectionTask.Kind.CALL)
    case = CollectionCase.objects.get(customer=customer, status=CollectionCase.Status.OPEN)
    mail.outbox.clear()

    # When finance records one payment for everything, oldest first
    with at(PAY_DAY), django_capture_on_commit_callbacks(execute=True):
        pay_all(customer, invoices, actor=finance)

    # Then the call task is closed because the items are paid
    call.refresh_from_db()
    assert call.status == CollectionTask.Status.CANCELLED
    assert call.closed_reason == SettlementReason.PAID
    assert not open_tasks(customer).exists()
    # the letter that was not sent yet is cancelled; the sent reminder stays sent
    letter.refresh_from_db()
    reminder.refresh_from_db()
    assert letter.status == Communication.Status.CANCELLED
    assert letter.failure_reason == Communication.FailureReason.SETTLED
    assert reminder.status == Communication.Status.SENT
    # the case is resolved
    case.refresh_from_db()
    assert case.status == CollectionCase.Status.CLOSED
    assert case.closed_on == PAY_DAY
    assert case.closed_reason == SettlementReason.PAID
    # every change is an event with a kind and parameters, by the finance user
    events = {
        event.kind: event
        for event in CaseEvent.objects.filter(
            customer=customer,
            kind__in=[
                CaseEvent.Kind.TASK_CLOSED,
                CaseEvent.Kind.COMMUNICATION_CANCELLED,
                CaseEvent.Kind.CASE_CLOSED,
            ],
        )
    }
    assert set(events) == {
        CaseEvent.Kind.TASK_CLOSED,
        CaseEvent.Kind.COMMUNICATION_CANCELLED,
        CaseEvent.Kind.CASE_CLOSED,
    }
    assert all(event.text == "" and event.actor == finance for event in events.values())
    assert all(event.case_id == case.pk for event in events.values())
    assert events[CaseEvent.Kind.TASK_CLOSED].data["reason"] == "paid"
    assert events[CaseEvent.Kind.TASK_CLOSED].data["task"] == call.pk
    assert events[CaseEvent.Kind.COMMUNICATION_CANCELLED].data["items"] == [
        "INV-F-1",
        "INV-F-2",
    ]
    # worded when read, in the reader's language
    assert "closed: Paid" in events[CaseEvent.Kind.TASK_CLOSED].summary
    with translation.override("zh-hans"):
        assert "已关闭\uff1a已付清" in events[CaseEvent.Kind.TASK_CLOSED].summary
    # and the thank-you went to the finance contact right after the commit
    assert [message.subject for message in mail.outbox] == ["Thank you for your payment"]
    assert (
        CaseEvent.objects.filter(customer=customer, kind=CaseEvent.Kind.THANK_YOU_SENT).count() == 2
    )

    # The rep's home page no longer says to call about the paid invoices
    client.force_login(rep)
    with at(PAY_DAY), django_assert_max_num_queries(30):
        page = client.get(reverse("dashboards:rep_home")).content.decode()
    assert "INV-F-1" not in page
    assert "Call Northwind Trading" not in page
    # and the case page tells what happened, worded at display time
    with at(PAY_DAY), django_assert_max_num_queries(20):
        response = client.get(reverse("dunning:case_detail", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Call Northwind Trading about overdue INV-F-1, INV-F-2 — closed: Paid." in page
    assert "Case closed, nothing overdue any more (Paid)." in page


def test_the_rep_home_page_said_to_call_before_the_payment(client, customer, rep):
    climb_to_demand_letter(customer, "INV-H-1")

    client.force_login(rep)
    with at(PAY_DAY):
        page = client.get(reverse("dashboards:rep_home")).content.decode()

    assert "Call Northwind Trading about overdue INV-H-1" in page


def test_a_promise_on_the_paid_invoices_is_kept_at_once(client, customer, rep, finance):
    invoices = climb_to_demand_letter(customer, "INV-K-1")
    with at(PAY_DAY):
        promise = promise_to_pay_record(
            customer=customer,
            invoices=invoices,
            amount=Decimal("1000.00"),
            promised_date=PAY_DAY + timedelta(days=2),
            actor=rep,
            as_of=PAY_DAY,
        )
        client.force_login(rep)
        assert promises_on_home(client) == 1

        pay_all(customer, invoices, actor=finance)

        assert promises_on_home(client) == 0
    promise.refresh_from_db()
    assert promise.status == PromiseToPay.Status.KEPT
    assert CaseEvent.objects.filter(customer=customer, kind=CaseEvent.Kind.PROMISE_KEPT).exists()


def promises_on_home(client) -> int:
    tasks = client.get(reverse("dashboards:rep_home")).context["tasks"]
    return next(task.count for task in tasks if task.key == "promises")


def test_a_partial_payment_leaves_everything_open(customer, finance):
    # Given two invoices on one reminder task and one letter awaiting approval
    first, _second = climb_to_demand_letter(customer, "INV-P-1", "INV-P-2")

    # When only the first is paid
    with at(PAY_DAY):
        pay_all(customer, [first], actor=finance)

    # Then the message and task still cover the open second invoice, and the case stays open
    assert Invoice.objects.get(pk=first.pk).status == Invoice.Status.PAID
    letter = Communication.objects.get(customer=customer, level=LevelCode.DEMAND_LETTER)
    assert letter.status == Communication.Status.AWAITING_APPROVAL
    assert open_tasks(customer).filter(kind=CollectionTask.Kind.CALL).count() == 1
    assert CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).exists()
    assert not CaseEvent.objects.filter(
        customer=customer,
        kind__in=[CaseEvent.Kind.TASK_CLOSED, CaseEvent.Kind.CASE_CLOSED],
    ).exists()


def test_a_payment_leaving_less_than_the_tolerance_settles_the_item(customer, finance):
    (invoice,) = climb_to_demand_letter(customer, "INV-T-1")

    with at(PAY_DAY):
        payment_record(
            customer=customer,
            payment_date=PAY_DAY,
            amount=Decimal("999.10"),
            currency=customer.currency,
            reference="SHORT-PAY",
            actor=finance,
        )

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.outstanding == Decimal("0.90")
    assert not open_tasks(customer).exists()
    assert not CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).exists()


def test_a_credit_note_for_the_open_amount_settles_like_a_payment(customer, finance):
    (invoice,) = climb_to_demand_letter(customer, "INV-C-1")

    with at(PAY_DAY):
        credit_note_issue(
            invoice=invoice,
            number="CN-C-1",
            amount=Decimal("1000.00"),
            issue_date=PAY_DAY,
            reason="Goods returned",
            actor=finance,
        )

    task = CollectionTask.objects.get(customer=customer, kind=CollectionTask.Kind.CALL)
    assert task.status == CollectionTask.Status.CANCELLED
    assert task.closed_reason == SettlementReason.CREDITED
    assert (
        Communication.objects.get(customer=customer, level=LevelCode.DEMAND_LETTER).status
        == Communication.Status.CANCELLED
    )
    case = CollectionCase.objects.get(customer=customer)
    assert (case.status, case.closed_reason) == (
        CollectionCase.Status.CLOSED,
        SettlementReason.CREDITED,
    )


def test_cancelling_an_invoice_ends_its_work(customer, finance):
    (invoice,) = climb_to_demand_letter(customer, "INV-X-1")

    with at(PAY_DAY):
        invoice_cancel(invoice=invoice, reason="Issued twice", actor=finance)

    assert not open_tasks(customer).exists()
    case = CollectionCase.objects.get(customer=customer)
    assert (case.status, case.closed_reason) == (
        CollectionCase.Status.CLOSED,
        SettlementReason.CANCELLED,
    )


def test_an_approved_agreement_replaces_the_items_and_ends_their_work(customer, rep):
    # Given two overdue invoices under a contract, reminded with a call task
    contract = ContractFactory(customer=customer, number="HT-FOLLOW-1")
    invoices = [
        invoice_under_contract(
            contract=contract,
            number=number,
            issue_date=D - timedelta(days=30),
            due_date=D,
            amount=Decimal("1000.00"),
        )
        for number in ("INV-A-1", "INV-A-2")
    ]
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
    task = open_tasks(customer).get(kind=CollectionTask.Kind.CALL)
    reminder = Communication.objects.get(customer=customer, level=LevelCode.REMINDER)
    assert reminder.status == Communication.Status.PENDING
    as_of = D + timedelta(days=5)
    agreement = agreement_propose(
        customer=customer,
        invoices=invoices,
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=date(2026, 4, 15), amount=Decimal("1000.00")),
            InstalmentInput(due_date=date(2026, 5, 15), amount=Decimal("1000.00")),
        ],
        reason="Cash-flow trouble",
        actor=rep,
        as_of=as_of,
    )
    manager = ManagerFactory()

    # When a manager approves the plan
    with at(as_of):
        agreement_approve(agreement=agreement, actor=manager, as_of=as_of)

    # Then the replaced invoices' task and unsent reminder end, and so does the case
    task.refresh_from_db()
    reminder.refresh_from_db()
    assert (task.status, task.closed_reason) == (
        CollectionTask.Status.CANCELLED,
        SettlementReason.REPLACED,
    )
    assert reminder.status == Communication.Status.CANCELLED
    case = CollectionCase.objects.get(customer=customer)
    assert (case.status, case.closed_reason) == (
        CollectionCase.Status.CLOSED,
        SettlementReason.REPLACED,
    )
    event = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.TASK_CLOSED)
    assert event.actor == manager
    assert "Replaced by a supplementary agreement" in event.summary


def test_a_reversed_payment_reopens_the_case_and_tasks_and_the_ladder_goes_on(customer, finance):
    # Given everything paid after the demand letter was prepared
    invoices = climb_to_demand_letter(customer, "INV-R-1", "INV-R-2")
    case = CollectionCase.objects.get(customer=customer, status=CollectionCase.Status.OPEN)
    call = open_tasks(customer).get(kind=CollectionTask.Kind.CALL)
    with at(PAY_DAY):
        payment = pay_all(customer, invoices, actor=finance)
    assert not open_tasks(customer).exists()

    # When the transfer bounces and finance reverses it
    with at(PAY_DAY + timedelta(days=1)):
        payment_reverse(payment=payment, reason="Transfer returned", actor=finance)

    # Then the same case and the task are open again, with events saying why
    case.refresh_from_db()
    call.refresh_from_db()
    assert (case.status, case.closed_on, case.closed_reason) == (
        CollectionCase.Status.OPEN,
        None,
        "",
    )
    assert (call.status, call.closed_reason) == (CollectionTask.Status.OPEN, "")
    reopened = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.CASE_REOPENED)
    assert reopened.data["items"] == ["INV-R-1", "INV-R-2"]
    assert reopened.data["reason"] == "payment_reversed"
    assert CaseEvent.objects.filter(
        customer=customer, kind=CaseEvent.Kind.TASK_REOPENED, data__task=call.pk
    ).exists()
    # the cancelled letter stays cancelled
    letter = Communication.objects.get(customer=customer, level=LevelCode.DEMAND_LETTER)
    assert letter.status == Communication.Status.CANCELLED

    # and the ladder goes on from the demand letter: nothing re-sent, the executive rung on D+30
    for day in (PAY_DAY + timedelta(days=1), D + timedelta(days=29)):
        with at(day):
            assert run_dunning(as_of=day).communications == []
    with at(D + timedelta(days=30)):
        result = run_dunning(as_of=D + timedelta(days=30))
    assert [(c.level, c.invoices) for c in result.communications] == [
        (LevelCode.EXECUTIVE, ["INV-R-1", "INV-R-2"])
    ]
    assert (
        DunningStep.objects.filter(invoice__in=invoices, level=LevelCode.DEMAND_LETTER).count() == 2
    )
    # one case all along
    assert CollectionCase.objects.filter(customer=customer).count() == 1


def legal_hold(customer):
    """The customer on the legal referral's credit hold, with an overdue invoice and a case."""
    invoice = due_invoice(customer=customer, due=D, number=f"INV-L-{customer.pk}")
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
        customer_hold(
            customer=customer,
            actor=None,
            reason="Legal referral by the dunning ladder: " + invoice.number,
            source=CreditHoldEvent.Source.DUNNING,
        )
    return invoice


def test_the_legal_hold_lifts_once_nothing_is_overdue_and_returns_on_reversal(customer, finance):
    invoice = legal_hold(customer)

    with at(PAY_DAY):
        payment = pay_all(customer, [invoice], actor=finance)

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    release = CreditHoldEvent.objects.filter(customer=customer).order_by("-pk").first()
    assert (release.action, release.source, release.actor) == (
        CreditHoldEvent.Action.RELEASE,
        CreditHoldEvent.Source.DUNNING,
        None,
    )
    assert "Nothing is overdue" in release.reason_text
    assert CaseEvent.objects.filter(
        customer=customer, kind=CaseEvent.Kind.CREDIT_HOLD_RELEASED
    ).exists()

    with at(PAY_DAY + timedelta(days=1)):
        payment_reverse(payment=payment, reason="Transfer returned", actor=finance)

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    hold = CreditHoldEvent.objects.filter(customer=customer).order_by("-pk").first()
    assert (hold.action, hold.source) == (
        CreditHoldEvent.Action.HOLD,
        CreditHoldEvent.Source.DUNNING,
    )


def test_the_policy_can_leave_the_legal_hold_to_finance(customer, finance):
    policy = active_policy()
    policy.credit_hold_release = DunningPolicy.HoldRelease.FINANCE
    policy.save()
    invoice = legal_hold(customer)

    with at(PAY_DAY):
        pay_all(customer, [invoice], actor=finance)

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert not CollectionCase.objects.filter(
        customer=customer, status=CollectionCase.Status.OPEN
    ).exists()


def test_a_hold_finance_placed_by_hand_stays(customer, finance):
    invoice = due_invoice(customer=customer, due=D, number="INV-M-1")
    with at(D + timedelta(days=1)):
        run_dunning(as_of=D + timedelta(days=1))
    customer_hold(customer=customer, actor=finance, reason="Bankruptcy rumours")

    with at(PAY_DAY):
        pay_all(customer, [invoice], actor=finance)

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD


def test_another_customers_work_is_left_alone(customer, finance):
    other = dunning_customer(name="Other Co")
    climb_to_demand_letter(other, "INV-O-1")
    invoices = climb_to_demand_letter(customer, "INV-S-1")

    with at(PAY_DAY):
        pay_all(customer, invoices, actor=finance)

    assert open_tasks(other).count() == 1
    assert CollectionCase.objects.filter(customer=other, status=CollectionCase.Status.OPEN).exists()


def _dunning_statements(customer, count, finance) -> int:
    numbers = [f"INV-{customer.pk}-{n}" for n in range(count)]
    invoices = climb_to_demand_letter(customer, *numbers)
    with at(PAY_DAY), CaptureQueriesContext(connection) as queries:
        pay_all(customer, invoices, actor=finance)
    assert not open_tasks(customer).exists()
    return sum(1 for query in queries.captured_queries if '"dunning_' in query["sql"])


def test_one_payment_over_many_invoices_follows_with_a_constant_number_of_statements(finance):
    few = _dunning_statements(dunning_customer(), 2, finance)
    many = _dunning_statements(dunning_customer(), 25, finance)

    assert few == many


# --- With delivery: messages the mail server delayed or never took ----------------------


def remind_through_an_outage(customer, settings, *, until_failed: bool):
    """An invoice due D reminded on D+1 while the mail server is down: the reminder waits
    for its retry window (pending, with the server's error) or, past it, is undelivered."""
    settings.EMAIL_BACKEND = "tests.dunning.mail_backends.FlakyBackend"
    settings.DUNNING_SEND_RETRY_WINDOW = timedelta(minutes=30)
    FlakyBackend.failures = 100
    invoice = due_invoice(customer=customer, due=D, number="INV-U-1")
    day = D + timedelta(days=1)
    with time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC)) as clock:
        run_dunning(as_of=day)
        reminder = Communication.objects.get(customer=customer, level=LevelCode.REMINDER)
        for _attempt in range(10):
            communications_send()
            reminder.refresh_from_db()
            if not until_failed or reminder.status == Communication.Status.FAILED:
                break
            clock.shift(timedelta(minutes=10))
    FlakyBackend.failures = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return invoice, reminder


@pytest.mark.parametrize("until_failed", [False, True], ids=["retrying", "undelivered"])
def test_paying_cancels_a_message_the_mail_server_delayed_or_never_took(
    customer, finance, settings, until_failed
):
    # Given a reminder still retrying after an SMTP outage, or undelivered on the finance desk
    invoice, reminder = remind_through_an_outage(customer, settings, until_failed=until_failed)
    was = Communication.Status.FAILED if until_failed else Communication.Status.PENDING
    assert reminder.status == was
    assert reminder.attempts >= 1
    call = open_tasks(customer).get(kind=CollectionTask.Kind.CALL)

    # When the customer pays the invoice
    with at(PAY_DAY):
        pay_all(customer, [invoice], actor=finance)

    # Then the reminder is cancelled as settled, its call closes, and the desk drops it
    reminder.refresh_from_db()
    assert (reminder.status, reminder.failure_reason) == (
        Communication.Status.CANCELLED,
        Communication.FailureReason.SETTLED,
    )
    call.refresh_from_db()
    assert (call.status, call.closed_reason) == (
        CollectionTask.Status.CANCELLED,
        SettlementReason.PAID,
    )
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.COMMUNICATION_CANCELLED)
    assert event.data["communication"] == reminder.pk
    assert event.data["was"] == was
    assert not failed_communications(user=finance).filter(pk=reminder.pk).exists()
    assert not approved_communications_waiting(user=finance).filter(pk=reminder.pk).exists()
    # And the sweep sends nothing for it any more
    with at(PAY_DAY):
        communications_send()
    assert mail.outbox == []


def test_a_message_handled_by_phone_is_left_as_it_is(customer, finance, settings):
    # Given an undelivered reminder finance recorded as handled by phone
    invoice, reminder = remind_through_an_outage(customer, settings, until_failed=True)
    with at(D + timedelta(days=2)):
        communication_mark_handled(communication=reminder, actor=finance, note="Called Ms Li.")

    # When the customer pays
    with at(PAY_DAY):
        pay_all(customer, [invoice], actor=finance)

    # Then the message keeps its history: it was carried out by phone, not cancelled
    reminder.refresh_from_db()
    assert reminder.status == Communication.Status.FAILED
    assert reminder.handled_at is not None
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.COMMUNICATION_CANCELLED).exists()
