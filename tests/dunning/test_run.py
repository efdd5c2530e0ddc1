"""The daily run against DESIGN.md's rules, with the real CN business calendar."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from contracts.models import SupplementaryAgreement
from dunning.models import (
    RUNG_RANKS,
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    LevelCode,
)
from dunning.services.render import communication_email
from dunning.services.run import run_dunning
from dunning.tasks import dunning_run_task
from receivables.models import Customer, Invoice
from tests.factories.cases import (
    AgreementInstalmentFactory,
    DisputeFactory,
    PromiseToPayFactory,
    SupplementaryAgreementFactory,
)
from tests.factories.dunning import (
    active_policy,
    carry_out,
    daily,
    due_invoice,
    dunning_customer,
    ensure_default_policy,
    executive_contact,
    pay,
)
from tests.factories.invoices import InvoiceFactory
from tests.factories.users import ManagerFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 2)  # a Monday


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


def fired(item, *, instalment: bool = False) -> dict[str, date]:
    lookup = {"instalment": item} if instalment else {"invoice": item}
    return dict(DunningStep.objects.filter(**lookup).values_list("level", "fired_on"))


def run_daily(start: date, end: date) -> list:
    """Run every day, carrying out each day's messages (approved and sent) before the next."""
    results = []
    for day in daily(start, end):
        results.append(run_dunning(as_of=day))
        carry_out()
    return results


def test_pre_due_fires_three_cn_working_days_before_due_make_up_day_included():
    # Given an invoice due 2026-10-12, after the National Day holidays and the
    # Saturday 2026-10-10 make-up working day
    invoice = due_invoice(customer=dunning_customer(), due=date(2026, 10, 12))

    # When the run goes daily from late September to the due date
    run_daily(date(2026, 9, 25), date(2026, 10, 12))

    # Then the friendly reminder went once, on 2026-10-08, and nothing else
    assert fired(invoice) == {LevelCode.PRE_DUE: date(2026, 10, 8)}


def test_pre_due_uses_the_policy_working_days():
    policy = active_policy()
    policy.pre_due_working_days = 5
    policy.save()
    invoice = due_invoice(customer=dunning_customer(), due=date(2026, 10, 12))

    run_daily(date(2026, 9, 25), date(2026, 10, 12))

    # 10-12 → 10-10 (make-up Sat), 10-09, 10-08, 09-30, 09-29
    assert fired(invoice) == {LevelCode.PRE_DUE: date(2026, 9, 29)}


def test_pre_due_fires_on_the_first_run_after_a_missed_day_but_never_once_due():
    late = due_invoice(customer=dunning_customer(), due=date(2026, 10, 12))
    missed = due_invoice(customer=dunning_customer(), due=date(2026, 10, 9))

    # The runs from 2026-09-26 to 2026-10-08 are missed; `missed` had its
    # pre-due day on 2026-09-29 and is due on the day of the next run
    run_dunning(as_of=date(2026, 9, 25))
    run_dunning(as_of=date(2026, 10, 9))

    assert fired(late) == {LevelCode.PRE_DUE: date(2026, 10, 9)}
    assert fired(missed) == {}


def test_ladder_with_daily_runs_fires_d1_d15_d30_d60():
    customer = dunning_customer()
    executive_contact(customer=customer)
    invoice = due_invoice(customer=customer, due=D)

    run_daily(D - timedelta(days=10), D + timedelta(days=75))

    assert fired(invoice) == {
        # Saturday 2026-02-28 is a CN make-up working day: 02-28, 02-27, 02-26
        LevelCode.PRE_DUE: date(2026, 2, 26),
        LevelCode.REMINDER: D + timedelta(days=1),
        LevelCode.DEMAND_LETTER: D + timedelta(days=15),
        LevelCode.EXECUTIVE: D + timedelta(days=30),
        LevelCode.LEGAL: D + timedelta(days=60),
    }


def test_invoice_imported_forty_days_late_climbs_one_rung_a_week():
    customer = dunning_customer()
    executive_contact(customer=customer)
    run_daily(D, D + timedelta(days=39))
    invoice = due_invoice(customer=customer, due=D)

    run_daily(D + timedelta(days=40), D + timedelta(days=70))

    assert fired(invoice) == {
        LevelCode.REMINDER: D + timedelta(days=40),
        LevelCode.DEMAND_LETTER: D + timedelta(days=47),
        LevelCode.EXECUTIVE: D + timedelta(days=54),
        LevelCode.LEGAL: D + timedelta(days=61),
    }


def test_due_today_is_not_overdue():
    invoice = due_invoice(customer=dunning_customer(), due=D)

    on_due_date = run_dunning(as_of=D)
    next_day = run_dunning(as_of=D + timedelta(days=1))

    assert [c.level for c in on_due_date.communications] == []
    assert [c.level for c in next_day.communications] == [LevelCode.REMINDER]
    assert fired(invoice) == {LevelCode.REMINDER: D + timedelta(days=1)}


def test_min_gap_days_of_the_policy_is_used():
    policy = active_policy()
    policy.min_gap_days = 20
    policy.save()
    invoice = due_invoice(customer=dunning_customer(), due=D)

    run_daily(D + timedelta(days=1), D + timedelta(days=45))

    steps = fired(invoice)
    assert steps[LevelCode.REMINDER] == D + timedelta(days=1)
    assert steps[LevelCode.DEMAND_LETTER] == D + timedelta(days=21)
    assert steps[LevelCode.EXECUTIVE] == D + timedelta(days=41)


def test_one_message_per_customer_level_and_currency_listing_all_items():
    # Given a customer with two CNY invoices and one USD invoice due the same
    # day, and another customer with one invoice
    first = dunning_customer(code="C-A")
    a1 = due_invoice(customer=first, due=D, number="A-1")
    a2 = due_invoice(customer=first, due=D - timedelta(days=3), number="A-2")
    a3 = InvoiceFactory(
        customer=first,
        number="A-3",
        issue_date=D - timedelta(days=30),
        due_date=D,
        amount=Decimal("20.00"),
        currency="USD",
    )
    second = dunning_customer(code="C-B")
    due_invoice(customer=second, due=D, number="B-1")

    # When the run reaches D+1
    result = run_dunning(as_of=D + timedelta(days=1))

    # Then every item reached the reminder today (A-2 is 4 days past due) and
    # there is one message per customer and currency
    got = {(c.customer_code, c.level, c.currency): c.invoices for c in result.communications}
    assert got == {
        ("C-A", LevelCode.REMINDER, "CNY"): ["A-2", "A-1"],
        ("C-A", LevelCode.REMINDER, "USD"): ["A-3"],
        ("C-B", LevelCode.REMINDER, "CNY"): ["B-1"],
    }
    assert Communication.objects.filter(customer=first).count() == 2
    cny = Communication.objects.get(customer=first, currency="CNY")
    assert set(cny.steps.values_list("invoice", flat=True)) == {a1.pk, a2.pk}
    assert cny.total_amount == Decimal("2000.00")
    # The run stores no text: the sender renders it when the message goes out.
    assert (cny.subject, cny.body) == ("", "")
    _subject, body = communication_email(communication=cny)
    assert "A-1" in body
    assert "A-2" in body
    assert "A-3" not in body
    assert set(
        Communication.objects.get(currency="USD").steps.values_list("invoice", flat=True)
    ) == {a3.pk}


def test_repeating_a_date_creates_nothing_new():
    customer = dunning_customer()
    due_invoice(customer=customer, due=D)
    first = run_dunning(as_of=D + timedelta(days=1))
    counts = (DunningStep.objects.count(), Communication.objects.count())

    again = run_dunning(as_of=D + timedelta(days=1))
    later_same_rung = run_dunning(as_of=D + timedelta(days=2))

    assert len(first.communications) == 1
    assert again.communications == []
    assert later_same_rung.communications == []
    assert (DunningStep.objects.count(), Communication.objects.count()) == counts
    run = DunningRun.objects.get(business_date=D + timedelta(days=1))
    assert run.repeat_count == 2
    assert run.status == DunningRun.Status.COMPLETED
    assert DunningRun.objects.filter(business_date=D + timedelta(days=1)).count() == 1


def test_items_below_tolerance_are_left_alone():
    customer = dunning_customer()
    ten_cents = due_invoice(customer=customer, due=D)
    pay(invoice=ten_cents, amount="999.90", on=D - timedelta(days=5))
    exactly_one = due_invoice(customer=customer, due=D, amount="1.00")

    result = run_dunning(as_of=D + timedelta(days=1))

    assert fired(ten_cents) == {}
    assert fired(exactly_one) == {LevelCode.REMINDER: D + timedelta(days=1)}
    assert result.as_json()["skipped"]["below_tolerance"] == 1


def test_paid_items_are_not_dunned_but_payments_after_the_business_date_are_ignored():
    customer = dunning_customer()
    paid_before = due_invoice(customer=customer, due=D, number="PAID-BEFORE")
    pay(invoice=paid_before, amount="1000.00", on=D)
    paid_later = due_invoice(customer=customer, due=D, number="PAID-LATER")
    pay(invoice=paid_later, amount="1000.00", on=D + timedelta(days=5))

    result = run_dunning(as_of=D + timedelta(days=1))

    assert [c.invoices for c in result.communications] == [["PAID-LATER"]]
    assert fired(paid_before) == {}


def test_partial_payment_is_dunned_for_what_is_left():
    invoice = due_invoice(customer=dunning_customer(), due=D)
    pay(invoice=invoice, amount="400.00", on=D)

    run_dunning(as_of=D + timedelta(days=1))

    step = DunningStep.objects.get(invoice=invoice)
    assert step.outstanding == Decimal("600.00")
    assert step.communication.total_amount == Decimal("600.00")


def test_cancelled_and_not_yet_issued_invoices_are_ignored():
    customer = dunning_customer()
    due_invoice(customer=customer, due=D, status="cancelled")
    InvoiceFactory(
        customer=customer, issue_date=D + timedelta(days=5), due_date=D + timedelta(days=5)
    )

    result = run_dunning(as_of=D + timedelta(days=1))

    assert result.communications == []


def test_a_dispute_pauses_only_its_own_items_until_resolved():
    customer = dunning_customer(code="C-D")
    disputed = due_invoice(customer=customer, due=D, number="DISPUTED")
    clean = due_invoice(customer=customer, due=D, number="CLEAN")
    dispute = DisputeFactory(customer=customer, invoices=[disputed])

    result = run_dunning(as_of=D + timedelta(days=1))

    assert [c.invoices for c in result.communications] == [["CLEAN"]]
    assert result.as_json()["skipped"]["dispute"] == 1
    run_daily(D + timedelta(days=2), D + timedelta(days=20))
    assert fired(disputed) == {}
    assert fired(clean)[LevelCode.DEMAND_LETTER] == D + timedelta(days=15)

    # When the dispute is resolved (rejected), the item starts climbing
    dispute.status = dispute.Status.REJECTED
    dispute.save()
    run_dunning(as_of=D + timedelta(days=21))
    run_daily(D + timedelta(days=22), D + timedelta(days=28))

    assert fired(disputed) == {
        LevelCode.REMINDER: D + timedelta(days=21),
        LevelCode.DEMAND_LETTER: D + timedelta(days=28),
    }


def test_an_open_promise_pauses_until_its_date_plus_grace_then_the_ladder_resumes():
    customer = dunning_customer()
    promised = due_invoice(customer=customer, due=D)
    PromiseToPayFactory(
        customer=customer, invoices=[promised], promised_date=D + timedelta(days=10)
    )

    run_daily(D + timedelta(days=1), D + timedelta(days=13))
    assert fired(promised) == {}

    # Promise date + 3 days grace has passed: the broken promise resumes it
    run_dunning(as_of=D + timedelta(days=14))
    assert fired(promised) == {LevelCode.REMINDER: D + timedelta(days=14)}


def test_a_kept_promise_leaves_nothing_to_dun():
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D)
    promise = PromiseToPayFactory(
        customer=customer, invoices=[invoice], promised_date=D + timedelta(days=5)
    )
    run_daily(D + timedelta(days=1), D + timedelta(days=4))

    pay(invoice=invoice, amount="1000.00", on=D + timedelta(days=5))
    promise.status = promise.Status.KEPT
    promise.save()
    run_daily(D + timedelta(days=5), D + timedelta(days=30))

    assert fired(invoice) == {}


def test_a_paused_customer_is_not_dunned_until_the_pause_ends():
    customer = dunning_customer(
        dunning_paused_until=D + timedelta(days=5), dunning_pause_reason="Restructuring"
    )
    invoice = due_invoice(customer=customer, due=D)

    results = run_daily(D + timedelta(days=1), D + timedelta(days=5))
    assert fired(invoice) == {}
    assert sum(r.skipped["customer_paused"] for r in results) == 5

    run_dunning(as_of=D + timedelta(days=6))
    assert fired(invoice) == {LevelCode.REMINDER: D + timedelta(days=6)}


def test_an_approved_agreement_replaces_the_invoice_with_its_instalments():
    # Given an overdue invoice that already had its reminder
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D, amount="900.00", number="INV-9")
    run_dunning(as_of=D + timedelta(days=1))
    # and a manager-approved plan in three instalments
    agreement = SupplementaryAgreementFactory(
        customer=customer, invoices=[invoice], status=SupplementaryAgreement.Status.APPROVED
    )
    first = AgreementInstalmentFactory(
        agreement=agreement, sequence=1, due_date=D + timedelta(days=20), amount="300.00"
    )
    second = AgreementInstalmentFactory(
        agreement=agreement, sequence=2, due_date=D + timedelta(days=50), amount="300.00"
    )
    AgreementInstalmentFactory(
        agreement=agreement, sequence=3, due_date=D + timedelta(days=80), amount="300.00"
    )

    # When the first instalment is paid on time and the second is not
    pay(invoice=invoice, amount="300.00", on=D + timedelta(days=20))
    results = run_daily(D + timedelta(days=2), D + timedelta(days=52))

    # Then the invoice climbs no further; the second instalment is dunned as INV-9#2
    assert fired(invoice) == {LevelCode.REMINDER: D + timedelta(days=1)}
    assert fired(first, instalment=True) == {LevelCode.PRE_DUE: date(2026, 3, 18)}
    assert fired(second, instalment=True)[LevelCode.REMINDER] == D + timedelta(days=51)
    reminders = [c for r in results for c in r.communications if c.level == LevelCode.REMINDER]
    assert [c.invoices for c in reminders] == [["INV-9#2"]]


def test_a_proposed_agreement_does_not_stop_the_ladder():
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D)
    SupplementaryAgreementFactory(customer=customer, invoices=[invoice])

    run_dunning(as_of=D + timedelta(days=1))

    assert fired(invoice) == {LevelCode.REMINDER: D + timedelta(days=1)}


def test_reminder_makes_a_call_task_for_the_rep_and_opens_a_case():
    customer = dunning_customer()
    due_invoice(customer=customer, due=D)

    run_dunning(as_of=D + timedelta(days=1))

    case = CollectionCase.objects.get(customer=customer)
    assert case.status == CollectionCase.Status.OPEN
    assert case.owner == customer.sales_rep
    assert case.overdue_reason == CollectionCase.OverdueReason.UNKNOWN
    task = CollectionTask.objects.get(customer=customer)
    assert task.kind == CollectionTask.Kind.CALL
    assert task.assignee == customer.sales_rep
    assert task.case == case
    communication = Communication.objects.get(customer=customer)
    assert communication.status == Communication.Status.PENDING
    assert communication.recipient_email == "ap@customer.example"
    kinds = set(CaseEvent.objects.filter(customer=customer).values_list("kind", flat=True))
    assert {CaseEvent.Kind.CASE_OPENED, CaseEvent.Kind.COMMUNICATION_QUEUED} <= kinds


def test_the_case_closes_when_nothing_is_overdue():
    customer = dunning_customer()
    invoice = due_invoice(customer=customer, due=D)
    run_dunning(as_of=D + timedelta(days=1))
    # The payment closes the case at once (dunning.services.follow); the run keeps it closed
    with time_machine.travel(datetime(2026, 3, 5, 2, tzinfo=UTC), tick=False):
        pay(invoice=invoice, amount="1000.00", on=D + timedelta(days=3))

    run_dunning(as_of=D + timedelta(days=4))

    case = CollectionCase.objects.get(customer=customer)
    assert case.status == CollectionCase.Status.CLOSED
    assert case.closed_on == D + timedelta(days=3)
    assert case.closed_reason == "paid"


def test_customer_without_finance_email_becomes_a_task_for_the_rep():
    customer = dunning_customer(finance_email=None)
    due_invoice(customer=customer, due=D, number="NO-MAIL")

    result = run_dunning(as_of=D + timedelta(days=1))

    assert [c.invoices for c in result.communications] == [["NO-MAIL"]]
    communication = Communication.objects.get(customer=customer)
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.MISSING_ADDRESS
    tasks = CollectionTask.objects.filter(customer=customer, assignee=customer.sales_rep)
    assert tasks.count() == 2  # the reminder's call and the missing address
    assert any("NO-MAIL" in task.display_title for task in tasks)


def test_demand_letter_waits_for_approval():
    invoice = due_invoice(customer=dunning_customer(), due=D)
    run_dunning(as_of=D + timedelta(days=1))
    carry_out()

    run_dunning(as_of=D + timedelta(days=15))

    letter = Communication.objects.get(level=LevelCode.DEMAND_LETTER)
    assert letter.status == Communication.Status.AWAITING_APPROVAL
    assert letter.channels == ["email", "letter"]
    assert fired(invoice)[LevelCode.DEMAND_LETTER] == D + timedelta(days=15)


def test_executive_level_tasks_the_manager_and_writes_to_the_executive():
    manager = ManagerFactory()
    customer = dunning_customer()
    executive_contact(customer=customer)
    invoice = due_invoice(customer=customer, due=D)
    for day in (1, 15):
        run_dunning(as_of=D + timedelta(days=day))
        carry_out()
    run_dunning(as_of=D + timedelta(days=30))

    escalation = Communication.objects.get(level=LevelCode.EXECUTIVE)
    assert escalation.recipient_email == "ceo@customer.example"
    assert escalation.status == Communication.Status.PENDING
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.MANAGER_ESCALATION)
    assert task.assignee == manager
    assert task.communication == escalation
    assert invoice.number in task.display_title


def test_legal_level_refers_and_puts_the_customer_on_credit_hold():
    ManagerFactory()
    customer = dunning_customer()
    executive_contact(customer=customer)
    due_invoice(customer=customer, due=D)
    for day in (1, 15, 30, 60):
        run_dunning(as_of=D + timedelta(days=day))
        carry_out()

    customer.refresh_from_db()
    assert customer.credit_status == Customer.CreditStatus.ON_HOLD
    assert customer.credit_hold_events.get().source == "dunning"
    assert CollectionTask.objects.filter(kind=CollectionTask.Kind.LEGAL_REFERRAL).count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.CREDIT_HOLD).count() == 1


def test_messages_are_in_the_customer_language():
    chinese = dunning_customer(language=Customer.Language.CHINESE)
    english = dunning_customer(language=Customer.Language.ENGLISH)
    due_invoice(customer=chinese, due=D + timedelta(days=3))
    due_invoice(customer=english, due=D + timedelta(days=3))

    run_dunning(as_of=D)

    by_language = {
        c.language: communication_email(communication=c) for c in Communication.objects.all()
    }
    assert set(by_language) == {"zh-hans", "en"}
    english_subject, english_body = by_language["en"]
    chinese_subject, chinese_body = by_language["zh-hans"]
    assert "track" in english_body  # the friendly pre-due question
    assert chinese_subject != english_subject
    assert chinese_body.isascii() is False


def test_small_chunks_give_the_same_result():
    for code in ("C-1", "C-2", "C-3"):
        due_invoice(customer=dunning_customer(code=code), due=D)

    result = run_dunning(as_of=D + timedelta(days=1), chunk_size=1)

    assert len(result.chunk_ids) == 3
    assert sorted(c.customer_code for c in result.communications) == ["C-1", "C-2", "C-3"]


def test_each_invoice_keeps_the_highest_rung_its_steps_reached():
    customer = dunning_customer()
    climbing = due_invoice(customer=customer, due=D, number="CLIMB")
    paid = due_invoice(customer=customer, due=D, number="PAID")
    due_invoice(customer=customer, due=D + timedelta(days=90), number="LATER")
    run_daily(D + timedelta(days=1), D + timedelta(days=20))
    pay(invoice=paid, amount="1000.00", on=D + timedelta(days=20))
    run_daily(D + timedelta(days=21), D + timedelta(days=40))

    for invoice in Invoice.objects.all():
        reached = [RUNG_RANKS[level] for level in fired(invoice) if level in RUNG_RANKS]
        assert invoice.dunning_rung == max(reached, default=0), invoice.number
    assert Invoice.objects.get(pk=climbing.pk).dunning_rung >= 2


def test_only_customers_with_something_to_do_get_a_chunk():
    """A rerun, or a day when nothing crosses a threshold, visits no one; a case to open or
    close brings its customer in. Items kept back are counted for the whole book."""
    due_invoice(customer=dunning_customer(code="C-DUE"), due=D)
    due_invoice(customer=dunning_customer(code="C-LATER"), due=D + timedelta(days=40))
    paused = due_invoice(customer=dunning_customer(code="C-PAUSED"), due=D)
    DisputeFactory(customer=paused.customer, invoices=[paused])
    as_of = D + timedelta(days=1)

    first = run_dunning(as_of=as_of, chunk_size=1)
    again = run_dunning(as_of=as_of, chunk_size=1)

    visited = list(DunningRunChunk.objects.order_by("index").values_list("customer_ids", flat=True))
    due, paused_id = Customer.objects.get(code="C-DUE").pk, paused.customer_id
    # The paused customer once, for its case; the rerun visits nobody.
    assert visited == [[due], [paused_id]]
    assert first.as_json()["skipped"] == again.as_json()["skipped"]
    assert again.as_json()["skipped"]["dispute"] == 1
    # Paid in full: the open case is closed by the next day's run, which visits its customer.
    pay(invoice=Invoice.objects.get(customer__code="C-DUE"), amount="1000.00", on=as_of)
    run_dunning(as_of=D + timedelta(days=2), chunk_size=1)
    assert CollectionCase.objects.get(customer_id=due).status == CollectionCase.Status.CLOSED


def test_a_failing_chunk_does_not_stop_the_others(monkeypatch):
    from dunning.services import run as run_module

    for code in ("C-1", "C-2"):
        due_invoice(customer=dunning_customer(code=code), due=D)
    original = run_module._communications_create
    calls = []

    def fail_first(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return original(**kwargs)

    monkeypatch.setattr(run_module, "_communications_create", fail_first)

    result = run_dunning(as_of=D + timedelta(days=1), chunk_size=1)

    assert len(result.failed_chunks) == 1
    assert [c.customer_code for c in result.communications] == ["C-2"]
    # the failed chunk left nothing behind; repeating the date completes it
    assert DunningStep.objects.count() == 1
    monkeypatch.setattr(run_module, "_communications_create", original)
    again = run_dunning(as_of=D + timedelta(days=1), chunk_size=1)
    assert [c.customer_code for c in again.communications] == ["C-1"]


def test_run_dunning_command_json_lists_only_what_this_run_created():
    customer = dunning_customer(code="C-JSON")
    due_invoice(customer=customer, due=D, number="J-1")
    out = StringIO()

    call_command("run_dunning", "--as-of", "2026-03-03", "--format", "json", stdout=out)
    again = StringIO()
    call_command("run_dunning", "--as-of", "2026-03-03", "--format", "json", stdout=again)

    assert json.loads(out.getvalue()) == {
        "as_of": "2026-03-03",
        "communications": [
            {
                "customer_code": "C-JSON",
                "level": "reminder",
                "currency": "CNY",
                "channels": ["email", "phone_task"],
                "invoices": ["J-1"],
            }
        ],
        "skipped": {
            "customer_paused": 0,
            "replaced_by_agreement": 0,
            "dispute": 0,
            "promise": 0,
            "below_tolerance": 0,
        },
    }
    assert json.loads(again.getvalue())["communications"] == []


def test_run_dunning_command_text_and_bad_date():
    due_invoice(customer=dunning_customer(code="C-TXT"), due=D, number="T-1")
    out = StringIO()

    call_command("run_dunning", "--as-of", "2026-03-03", stdout=out)

    assert "C-TXT  " in out.getvalue()
    assert "reminder" in out.getvalue()
    assert "T-1" in out.getvalue()
    with pytest.raises(CommandError, match="--as-of"):
        call_command("run_dunning", "--as-of", "03/03/2026")


def test_without_an_active_policy_the_run_refuses():
    active_policy().__class__.objects.update(is_active=False)

    with pytest.raises(CommandError, match="policy"):
        call_command("run_dunning", "--as-of", "2026-03-03")


def test_the_beat_firing_twice_across_a_daylight_saving_change_runs_the_date_once(
    settings, django_capture_on_commit_callbacks
):
    # Given a time zone with daylight saving: on 2026-10-25 02:30 happens twice
    settings.TIME_ZONE = "Europe/Berlin"
    due_invoice(customer=dunning_customer(), due=date(2026, 10, 23))
    first_0230 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second_0230 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET

    # When the beat fires at both
    answers = []
    for moment in (first_0230, second_0230):
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            answers.append(dunning_run_task())

    # Then both runs were for the same business date, and it ran once
    assert [answer["as_of"] for answer in answers] == ["2026-10-25", "2026-10-25"]
    assert DunningRun.objects.get().repeat_count == 2
    assert Communication.objects.filter(level=LevelCode.REMINDER).count() == 1
    assert DunningStep.objects.count() == 1
