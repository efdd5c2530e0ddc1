"""Collection history is append-only: steps, timeline events, messages, credit holds and
overrides are never deleted, and never rewritten beyond the services' own transitions."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.append_only import AppendOnlyError
from dunning.models import CaseEvent, Communication, DunningStep, LevelCode
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from receivables.models import CreditHoldEvent, CreditOverride
from receivables.services.credit import customer_hold
from tests.factories.cases import CaseEventFactory
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import FinanceUserFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date(2026, 3, 2)
RUN_DAY = D + timedelta(days=1)


@pytest.fixture
def sent_reminder() -> Communication:
    """A real run's reminder, sent by the real sender: a step, a message, timeline rows."""
    ensure_default_policy()
    customer = dunning_customer()
    due_invoice(customer=customer, due=D, amount="1000.00", number="EV-1")
    with time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI), tick=False):
        run_dunning(as_of=RUN_DAY)
        communications_send()
    communication = Communication.objects.get(customer=customer, level=LevelCode.REMINDER)
    assert communication.status == Communication.Status.SENT
    return communication


def test_the_services_own_transitions_still_work(sent_reminder):
    step = sent_reminder.steps.get()

    assert step.communication == sent_reminder
    assert sent_reminder.sent_at is not None
    assert CaseEvent.objects.filter(
        customer=sent_reminder.customer, kind=CaseEvent.Kind.COMMUNICATION_SENT
    ).exists()


def test_a_step_cannot_be_deleted_so_the_level_is_never_sent_twice(sent_reminder):
    step = sent_reminder.steps.get()

    with pytest.raises(AppendOnlyError, match="never be deleted"):
        step.delete()
    with pytest.raises(AppendOnlyError):
        DunningStep.objects.filter(pk=step.pk).delete()
    with pytest.raises(AppendOnlyError):
        sent_reminder.customer.dunning_steps.all().delete()

    with time_machine.travel(datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI), tick=False):
        run_dunning(as_of=RUN_DAY)
    assert DunningStep.objects.filter(invoice=step.invoice, level=LevelCode.REMINDER).count() == 1
    assert Communication.objects.filter(customer=sent_reminder.customer).count() == 1


def test_a_step_keeps_its_item_level_and_date(sent_reminder):
    step = sent_reminder.steps.get()

    with pytest.raises(AppendOnlyError, match="fired_on"):
        DunningStep.objects.filter(pk=step.pk).update(fired_on=RUN_DAY + timedelta(days=30))
    step.level = LevelCode.LEGAL
    with pytest.raises(AppendOnlyError, match="save only the fields that change"):
        step.save()
    with pytest.raises(AppendOnlyError, match="level"):
        step.save(update_fields=["level"])
    with pytest.raises(AppendOnlyError, match="outstanding"):
        DunningStep.objects.bulk_update([step], ["outstanding"])

    step.refresh_from_db()
    assert step.level == LevelCode.REMINDER
    assert step.fired_on == RUN_DAY
    # What the sender legitimately records still goes through.
    step.excluded_reason = "paid"
    step.save(update_fields=["excluded_reason"])
    DunningStep.objects.filter(pk=step.pk).update(excluded_reason="")


def test_timeline_events_are_written_once(sent_reminder):
    event = CaseEvent.objects.filter(customer=sent_reminder.customer).first()

    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        sent_reminder.customer.case_events.all().delete()
    with pytest.raises(AppendOnlyError, match="text"):
        CaseEvent.objects.filter(pk=event.pk).update(text="Never happened")
    event.text = "Never happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["text"])

    event.refresh_from_db()
    assert event.text != "Never happened"


def test_a_message_cannot_be_deleted(sent_reminder):
    with pytest.raises(AppendOnlyError):
        sent_reminder.delete()
    with pytest.raises(AppendOnlyError):
        Communication.objects.filter(customer=sent_reminder.customer).delete()

    assert Communication.objects.filter(pk=sent_reminder.pk).exists()


def test_a_sent_message_keeps_what_it_said(sent_reminder):
    body = sent_reminder.body

    with pytest.raises(AppendOnlyError, match="body"):
        Communication.objects.filter(pk=sent_reminder.pk).update(body="We never wrote to you.")
    sent_reminder.body = "We never wrote to you."
    with pytest.raises(AppendOnlyError, match="body"):
        sent_reminder.save()
    sent_reminder.recipient_email = "someone@else.example"
    with pytest.raises(AppendOnlyError, match="recipient_email"):
        sent_reminder.save(update_fields=["recipient_email"])

    sent_reminder.refresh_from_db()
    assert sent_reminder.body == body


def test_a_sent_message_stays_sent(sent_reminder):
    with pytest.raises(AppendOnlyError, match="status"):
        Communication.objects.filter(pk=sent_reminder.pk).update(
            status=Communication.Status.PENDING
        )
    sent_reminder.status = Communication.Status.PENDING
    with pytest.raises(AppendOnlyError, match="status"):
        sent_reminder.save(update_fields=["status", "updated_at"])

    sent_reminder.refresh_from_db()
    assert sent_reminder.status == Communication.Status.SENT
    # Saving it unchanged, or what the sender may still note, goes through.
    sent_reminder.save(update_fields=["status", "failure_detail", "updated_at"])


def test_a_message_not_yet_sent_may_still_be_rendered_again():
    ensure_default_policy()
    customer = dunning_customer()
    due_invoice(customer=customer, due=D, amount="1000.00", number="EV-2")
    run_dunning(as_of=RUN_DAY)
    pending = Communication.objects.get(customer=customer)
    assert pending.status == Communication.Status.PENDING

    pending.subject = "Re-rendered"
    pending.save(update_fields=["subject", "updated_at"])
    Communication.objects.filter(pk=pending.pk).update(body="Re-rendered body")

    pending.refresh_from_db()
    assert (pending.subject, pending.body) == ("Re-rendered", "Re-rendered body")


def test_credit_holds_and_overrides_are_append_only():
    finance = FinanceUserFactory()
    customer = dunning_customer()
    hold = customer_hold(customer=customer, actor=finance, reason="Cheque bounced")
    override = CreditOverride.objects.create(
        customer=customer,
        actor=finance,
        amount="10.00",
        currency=customer.currency,
        exposure="0.00",
        credit_limit="0.00",
        credit_status=customer.credit_status,
        refusal="On hold",
        reason="Signed guarantee",
    )

    for row in (hold, override):
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            type(row).objects.filter(pk=row.pk).update(reason="Changed later")
    assert CreditHoldEvent.objects.filter(pk=hold.pk, reason="Cheque bounced").exists()


# --- Admin -------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


@pytest.mark.parametrize(
    "model_name", ["dunningstep", "caseevent", "communication", "dunningrun", "dunningrunchunk"]
)
def test_the_admin_offers_no_delete_action(superuser_client, sent_reminder, model_name):
    response = superuser_client.get(reverse(f"admin:dunning_{model_name}_changelist"))

    assert response.status_code == 200
    assert 'value="delete_selected"' not in response.content.decode()


@pytest.mark.parametrize(
    ("model_name", "rows"),
    [
        ("dunningstep", lambda c: c.steps.all()),
        ("caseevent", lambda c: CaseEvent.objects.filter(customer=c.customer)),
        ("communication", lambda c: Communication.objects.filter(pk=c.pk)),
    ],
)
def test_the_admin_shows_evidence_read_only_and_refuses_deletes(
    superuser_client, sent_reminder, model_name, rows
):
    row = rows(sent_reminder).first()
    change_url = reverse(f"admin:dunning_{model_name}_change", args=[row.pk])
    delete_url = reverse(f"admin:dunning_{model_name}_delete", args=[row.pk])

    page = superuser_client.get(change_url)
    edit = superuser_client.post(change_url, {})
    delete = superuser_client.post(delete_url, {"post": "yes"})
    bulk = superuser_client.post(
        reverse(f"admin:dunning_{model_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html
    assert delete_url not in html
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)
    assert type(row).objects.filter(pk=row.pk).exists()


def test_the_admin_cannot_delete_timeline_rows_of_a_factory_event(superuser_client):
    event = CaseEventFactory()

    response = superuser_client.post(
        reverse("admin:dunning_caseevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert CaseEvent.objects.filter(pk=event.pk).exists()
