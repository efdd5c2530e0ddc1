"""Delivery status from the email provider's tracking webhooks (django-anymail).

Messages go out through anymail's own test backend (it records a provider message
id the way a real provider's API does); the webhooks are called with Postmark's
documented payloads, authenticated with basic auth as anymail requires.
"""

import base64
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation

from core.events import render
from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent, CollectionTask, Communication, LevelCode
from dunning.services.communications import communication_approve
from dunning.services.delivery import communication_retry
from dunning.services.run import run_dunning
from dunning.services.send import communications_send
from receivables.models import Contact
from receivables.services.customers import contact_update
from statements.models import Statement
from statements.services.runs import statement_run, statements_send
from tests.admin_forms import customer_change_data
from tests.dunning.smtp_servers import smtp_sink
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.statements import scheduled_customer
from tests.factories.users import FinanceUserFactory, UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
SECRET = "hooks:s3cret-for-tests"
URL = "/webhooks/anymail/postmark/tracking/"


@pytest.fixture
def provider(settings):
    """Anymail as the email backend (its test provider) and the webhook secret set."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    return settings


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def postmark(client, payload: dict, secret: str = SECRET):
    return client.post(URL, json.dumps(payload), content_type="application/json", **auth(secret))


def delivery(message_id: str, recipient: str = "ap@customer.example") -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": "",
        "DeliveredAt": "2026-12-01T08:01:54.9070259Z",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }


def bounce(message_id: str, email: str = "ap@customer.example", metadata=None) -> dict:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": metadata or {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "receivables@localhost",
        "BouncedAt": "2026-12-01T08:02:54.9070259Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Statement",
    }


def opened(message_id: str) -> dict:
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Chrome", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "Windows", "Company": "Microsoft", "Family": "Windows"},
        "Platform": "WebMail",
        "UserAgent": "Mozilla/5.0",
        "ReadSeconds": 5,
        "Geo": {},
        "MessageID": message_id,
        "Metadata": {},
        "ReceivedAt": "2026-12-01T08:03:54.9070259Z",
        "Tag": "",
        "Recipient": "ap@customer.example",
    }


def complaint(message_id: str) -> dict:
    return {
        **bounce(message_id),
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
    }


@pytest.fixture
def sent_statement(provider):
    with time_machine.travel(NOW, tick=False):
        scheduled_customer(code="S-1")
        statement_run(as_of=date(2026, 12, 1))
        statements_send()
    return Statement.objects.get()


@pytest.fixture
def sent_reminder(provider):
    ensure_default_policy()
    with time_machine.travel(datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI), tick=False):
        customer = dunning_customer(code="D-1")
        due_invoice(customer=customer, due=date(2026, 3, 2), number="R-1")
        run_dunning(as_of=date(2026, 3, 3))
        communications_send()
    return Communication.objects.get(level=LevelCode.REMINDER)


def test_the_provider_message_id_is_stored_at_send(sent_statement, sent_reminder):
    assert sent_statement.status == Statement.Status.SENT
    assert sent_statement.provider_message_id
    assert sent_reminder.status == Communication.Status.SENT
    assert sent_reminder.provider_message_id
    assert sent_reminder.provider_message_id != sent_statement.provider_message_id


def test_delivered_then_opened_never_goes_back(client, sent_statement):
    provider_id = sent_statement.provider_message_id

    assert postmark(client, delivery(provider_id)).status_code == 200
    sent_statement.refresh_from_db()
    assert sent_statement.delivery_state == "delivered"

    postmark(client, opened(provider_id))
    postmark(client, delivery(provider_id))  # a late, repeated delivery event
    sent_statement.refresh_from_db()
    assert sent_statement.delivery_state == "opened"


def test_a_bounced_reminder_flags_the_contact_and_asks_the_rep_once(client, sent_reminder):
    payload = bounce(
        "unknown-to-us", metadata={"huikuan_communication": str(sent_reminder.message_id)}
    )

    assert postmark(client, payload).status_code == 200
    assert postmark(client, payload).status_code == 200  # the provider retries

    sent_reminder.refresh_from_db()
    assert sent_reminder.delivery_state == "bounced"
    assert sent_reminder.status == Communication.Status.SENT  # it left us; the record stays
    contact = Contact.objects.get(customer=sent_reminder.customer, role="finance")
    assert contact.email_bounced_at is not None
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL)
    assert task.assignee == sent_reminder.customer.sales_rep
    assert task.params == {
        "what": "fix_contact_email",
        "email": "ap@customer.example",
        "communication": sent_reminder.pk,
    }
    assert task.communication == sent_reminder
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.EMAIL_BOUNCED)
    assert event.text == ""
    assert event.data["email"] == "ap@customer.example"


def test_a_bounced_statement_fails_and_waits_on_the_desk_for_a_fixed_address(
    client, sent_statement, django_capture_on_commit_callbacks
):
    postmark(client, bounce(sent_statement.provider_message_id))

    sent_statement.refresh_from_db()
    assert sent_statement.status == Statement.Status.FAILED
    assert sent_statement.failure_reason == Statement.FailureReason.BOUNCE
    assert CollectionTask.objects.filter(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL).count() == 1
    # The next month's run leaves the bounced address alone: the statement fails visibly.
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        statement_run(as_of=date(2027, 1, 4))
    assert Statement.objects.get(period_start=date(2026, 12, 1)).recipient_email == ""


def test_a_complaint_and_our_own_message_id_match_too(client, sent_reminder):
    postmark(client, complaint(sent_reminder.email_message_id))

    sent_reminder.refresh_from_db()
    assert sent_reminder.delivery_state == "complained"


def test_a_wrong_secret_is_refused_and_changes_nothing(client, sent_statement):
    response = postmark(client, bounce(sent_statement.provider_message_id), secret="x:y")

    assert response.status_code == 400
    sent_statement.refresh_from_db()
    assert sent_statement.delivery_state == ""
    assert sent_statement.status == Statement.Status.SENT


def test_without_a_secret_the_webhook_is_not_there(client, settings):
    settings.ANYMAIL = {}

    assert client.post(URL, "{}", content_type="application/json").status_code == 404
    assert reverse("anymail_webhooks:postmark_tracking_webhook") == URL


def test_without_a_provider_statements_and_messages_go_out_over_smtp(settings):
    assert not settings.EMAIL_PROVIDER
    assert not settings.EMAIL_BACKEND.startswith("anymail")
    with smtp_sink() as (sink, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        with time_machine.travel(NOW, tick=False):
            scheduled_customer(code="S-1")
            statement_run(as_of=date(2026, 12, 1))
            statements_send()

    statement = Statement.objects.get()
    assert statement.status == Statement.Status.SENT
    assert statement.provider_message_id == ""
    assert sink.message_ids == [statement.email_message_id]


def test_editing_a_bounced_address_clears_the_flag(client, sent_reminder):
    payload = bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)})
    postmark(client, payload)
    contact = Contact.objects.get(customer=sent_reminder.customer, role="finance")
    assert contact.email_bounced_at is not None

    contact_update(
        actor=sent_reminder.customer.sales_rep, contact=contact, email="new@customer.example"
    )

    contact.refresh_from_db()
    assert contact.email_bounced_at is None
    # The task to fix it is done by itself, by who fixed it.
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL)
    assert task.status == CollectionTask.Status.DONE
    assert task.completed_by == sent_reminder.customer.sales_rep


def test_a_phone_change_leaves_the_task_to_fix_the_email_open(client, sent_reminder):
    payload = bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)})
    postmark(client, payload)
    contact = Contact.objects.get(customer=sent_reminder.customer, role="finance")

    contact_update(actor=sent_reminder.customer.sales_rep, contact=contact, phone="+86 21 1")
    # The same address typed in another case is no fix either.
    contact_update(
        actor=sent_reminder.customer.sales_rep, contact=contact, email="AP@customer.example"
    )

    task = CollectionTask.objects.get(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL)
    assert task.status == CollectionTask.Status.OPEN
    contact.refresh_from_db()
    assert contact.email_bounced_at is not None


def test_dunning_sends_nothing_to_a_bounced_address_and_says_why(client, sent_reminder):
    payload = bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)})
    postmark(client, payload)
    customer = sent_reminder.customer
    # The next rung is due: the run builds it (the only finance address is the bounced one)
    # and finance approves it.
    with time_machine.travel(datetime(2026, 3, 20, 8, 0, tzinfo=SHANGHAI), tick=False):
        run_dunning(as_of=date(2026, 3, 20))
        for held in Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL):
            communication_approve(communication=held, actor=FinanceUserFactory())
        outbox_before = len(mail.outbox)
        communications_send()

    message = Communication.objects.filter(customer=customer).exclude(pk=sent_reminder.pk).get()
    assert message.recipient_email == "ap@customer.example"
    assert message.status == Communication.Status.FAILED
    assert message.failure_reason == Communication.FailureReason.BOUNCED_ADDRESS
    assert "fix the contact" in message.get_failure_reason_display()
    assert len(mail.outbox) == outbox_before  # nothing went to the bounced address
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL)
    assert task.status == CollectionTask.Status.OPEN  # the rep's task to fix it stays


def test_finance_sends_a_bounced_address_failure_again_once_the_address_is_fixed(
    client, sent_reminder, django_capture_on_commit_callbacks
):
    postmark(client, bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)}))
    customer = sent_reminder.customer
    finance = FinanceUserFactory()
    with time_machine.travel(datetime(2026, 3, 20, 8, 0, tzinfo=SHANGHAI), tick=False):
        run_dunning(as_of=date(2026, 3, 20))
        for held in Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL):
            communication_approve(communication=held, actor=finance)
        communications_send()
    message = Communication.objects.filter(customer=customer).exclude(pk=sent_reminder.pk).get()
    assert message.failure_reason == Communication.FailureReason.BOUNCED_ADDRESS
    assert message.is_retryable

    # Before the address is fixed, sending again is refused and changes nothing
    with pytest.raises(BusinessRuleError, match="fix the contact's email first"):
        communication_retry(communication=message, actor=finance)
    message.refresh_from_db()
    assert message.status == Communication.Status.FAILED

    # The rep fixes it; finance sends the message again, to the new address
    contact = Contact.objects.get(customer=customer, role="finance")
    contact_update(actor=customer.sales_rep, contact=contact, email="ap2@customer.example")
    outbox_before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        communication_retry(communication=message, actor=finance)

    message.refresh_from_db()
    assert message.recipient_email == "ap2@customer.example"
    assert message.status == Communication.Status.SENT
    assert [sent.to for sent in mail.outbox[outbox_before:]] == [["ap2@customer.example"]]
    # The timeline keeps the address that bounced, in the reader's language
    retried = CaseEvent.objects.get(kind=CaseEvent.Kind.COMMUNICATION_RETRIED)
    assert retried.data["previous_recipient"] == "ap@customer.example"
    with translation.override("en"):
        assert "to ap2@customer.example instead of ap@customer.example" in render(
            retried.kind, retried.data
        )
    with translation.override("zh-hans"):
        assert "由 ap@customer.example 改为 ap2@customer.example" in render(
            retried.kind, retried.data
        )


def test_dunning_writes_to_another_address_of_the_role_that_did_not_bounce(client, sent_reminder):
    payload = bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)})
    postmark(client, payload)
    customer = sent_reminder.customer
    Contact.objects.create(
        customer=customer, name="AP desk", role="finance", email="ap2@customer.example"
    )
    with time_machine.travel(datetime(2026, 3, 20, 8, 0, tzinfo=SHANGHAI), tick=False):
        run_dunning(as_of=date(2026, 3, 20))
        for held in Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL):
            communication_approve(communication=held, actor=FinanceUserFactory())
        communications_send()

    message = Communication.objects.filter(customer=customer).exclude(pk=sent_reminder.pk).get()
    assert message.recipient_email == "ap2@customer.example"
    assert message.status == Communication.Status.SENT


@pytest.mark.parametrize("where", ["contact", "customer"])
def test_fixing_a_bounced_address_in_the_admin_closes_the_task_too(client, sent_reminder, where):
    payload = bounce("x", metadata={"huikuan_communication": str(sent_reminder.message_id)})
    postmark(client, payload)
    contact = Contact.objects.get(customer=sent_reminder.customer, role="finance")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    fields = {"name": contact.name, "role": contact.role, "phone": "", "im_handle": ""}

    if where == "contact":
        url = reverse("admin:receivables_contact_change", args=[contact.pk])
        data = {**fields, "customer": contact.customer_id, "email": "new@customer.example"}
    else:  # the contacts inline on the customer's page
        url, data = customer_change_data(client, contact.customer)
        data["_save"] = "Save"
        data.update(
            {
                f"contacts-0-{key}": value
                for key, value in {
                    **fields,
                    "id": contact.pk,
                    "customer": contact.customer_id,
                }.items()
            }
        )
        data["contacts-0-email"] = "new@customer.example"
    response = client.post(url, data)

    assert response.status_code == 302, response.context and [
        form.errors for form in [response.context.get("adminform").form]
    ]
    contact.refresh_from_db()
    assert contact.email == "new@customer.example"
    assert contact.email_bounced_at is None
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.FIX_CONTACT_EMAIL)
    assert task.status == CollectionTask.Status.DONE
    assert task.completed_by == admin
