"""The data migration that turns stored sentences into kinds and parameters."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from dunning.models import CaseEvent, CollectionTask, DunningStep, LevelCode
from receivables.models import CreditHoldEvent
from tests.factories.cases import (
    CaseEventFactory,
    CommunicationFactory,
    DunningStepFactory,
    PromiseToPayFactory,
)
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("dunning.migrations.0008_worded_at_display_time")


def migrate_rows() -> None:
    """Run the migration's function with its own (historical) models on today's rows."""
    state = MigrationExecutor(connection).loader.project_state(
        ("dunning", "0008_worded_at_display_time")
    )
    MIGRATION.forwards(state.apps, None)


def test_a_generated_sentence_goes_and_what_the_rep_typed_stays_as_typed():
    customer = CustomerFactory(currency="CNY")
    invoice = InvoiceFactory(customer=customer, number="INV-77")
    promise = PromiseToPayFactory(
        customer=customer, amount="9000.00", note="说周五付", invoices=[invoice]
    )
    event = CaseEventFactory(
        customer=customer,
        kind=CaseEvent.Kind.PROMISE_MADE,
        text="Promise to pay CNY 9000.00 by 2026-03-10 for INV-77. 说周五付",
        data={
            "promise": promise.pk,
            "amount": "9000.00",
            "promised_date": "2026-03-10",
            "invoices": ["INV-77"],
        },
    )

    migrate_rows()

    event.refresh_from_db()
    assert event.text == ""
    assert event.typed_note == "说周五付"
    with translation.override("zh-hans"):
        assert event.summary == "承诺于 2026-03-10 前为 INV-77 付款 CNY 9,000.00。"
    with translation.override("en"):
        assert event.summary == "Promise to pay CNY 9,000.00 by 2026-03-10 for INV-77."


def test_a_ladder_task_and_its_timeline_row_are_worded_from_the_message():
    customer = CustomerFactory(name="ACME Trading")
    communication = CommunicationFactory(customer=customer, level=LevelCode.REMINDER)
    step = DunningStepFactory(
        invoice=InvoiceFactory(customer=customer, number="INV-5"),
        communication=communication,
        level=LevelCode.REMINDER,
    )
    task = CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=customer,
        communication=communication,
        title="Call ACME Trading about overdue INV-5",
        due_date=step.fired_on,
    )
    event = CaseEventFactory(
        customer=customer,
        kind=CaseEvent.Kind.TASK_CREATED,
        text="Call ACME Trading about overdue INV-5",
        data={"task": task.pk, "kind": "call", "communication": communication.pk},
    )

    migrate_rows()

    task.refresh_from_db()
    event.refresh_from_db()
    assert task.title == ""
    assert task.params == {"what": "call", "customer": "ACME Trading", "items": ["INV-5"]}
    assert event.text == ""
    with translation.override("zh-hans"):
        assert "ACME Trading" in task.display_title
        assert "INV-5" in task.display_title
        assert task.display_title != "Call ACME Trading about overdue INV-5"
        assert event.summary.startswith("任务：")  # noqa: RUF001


def test_rows_the_migration_cannot_read_keep_their_text():
    event = CaseEventFactory(kind="something_else", text="Written by an older version")

    migrate_rows()

    event.refresh_from_db()
    assert event.text == "Written by an older version"
    assert event.summary == "Written by an older version"


def test_skip_reasons_and_ladder_holds_become_codes():
    step = DunningStepFactory(excluded_reason="below tolerance")
    hold = CreditHoldEvent.objects.create(
        customer=step.customer,
        action=CreditHoldEvent.Action.HOLD,
        source=CreditHoldEvent.Source.DUNNING,
        reason="Legal referral by the dunning ladder: INV-1, INV-2",
    )

    migrate_rows()

    step.refresh_from_db()
    hold.refresh_from_db()
    assert step.excluded_reason == "below_tolerance"
    assert hold.reason == "legal_referral\nINV-1, INV-2"
    assert not hold.reason_typed
    with translation.override("zh-hans"):
        assert hold.reason_text == "催收阶梯移交法务：INV-1、INV-2"  # noqa: RUF001
    assert DunningStep.objects.filter(excluded_reason="below tolerance").count() == 0
