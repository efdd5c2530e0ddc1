"""Statement runs: due on the n-th working day, once per customer and period, sent once."""

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from core.exceptions import BusinessRuleError
from dunning.models import CaseEvent
from receivables.services.customers import contacts_mark_bounced
from statements.models import Statement
from statements.services.runs import (
    due_working_day,
    statement_retry,
    statement_run,
    statements_claim,
    statements_reap,
    statements_send,
)
from tests.factories.statements import scheduled_customer
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
RUN_DAY = date(2026, 12, 1)  # Tuesday, the first working day of December
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=SHANGHAI)


def test_due_working_day_follows_the_business_calendar():
    # CN: 1-7 October 2026 are the National Day holidays, the 8th the first working day.
    assert due_working_day(as_of=date(2026, 10, 7)) == 0
    assert due_working_day(as_of=date(2026, 10, 8)) == 1
    assert due_working_day(as_of=date(2026, 12, 3)) == 3


@time_machine.travel(NOW, tick=False)
def test_a_run_creates_the_previous_months_statement_and_a_second_run_nothing():
    customer = scheduled_customer(code="S-1")

    first = statement_run(as_of=RUN_DAY)
    second = statement_run(as_of=RUN_DAY)
    next_day = statement_run(as_of=RUN_DAY + timedelta(days=1))

    assert first.created == 1
    assert second.created == 0
    assert next_day.created == 0
    statement = Statement.objects.get()
    assert statement.customer == customer
    assert (statement.period_start, statement.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert statement.closing == Decimal("1000.00")
    assert statement.recipient_email == "ap@customer.example"


@time_machine.travel(NOW, tick=False)
def test_only_due_schedules_and_owing_customers_get_a_statement():
    scheduled_customer(code="DUE")
    scheduled_customer(code="LATER", working_day=3)
    scheduled_customer(code="ZERO", balance=None)
    scheduled_customer(code="ZERO-ASKED", balance=None, send_at_zero_balance=True)
    off = scheduled_customer(code="OFF")
    off.statement_schedule.frequency = "off"
    off.statement_schedule.save()

    summary = statement_run(as_of=RUN_DAY)

    assert summary.skipped_zero_balance == 1
    codes = set(Statement.objects.values_list("customer__code", flat=True))
    assert codes == {"DUE", "ZERO-ASKED"}


@time_machine.travel(NOW, tick=False)
def test_the_run_costs_the_same_statements_for_2_and_40_customers(django_assert_max_num_queries):
    for number in range(40):
        scheduled_customer(code=f"M-{number:02d}")

    with django_assert_max_num_queries(4):
        summary = statement_run(as_of=RUN_DAY)

    assert summary.created == 40


@time_machine.travel(NOW, tick=False)
def test_sending_links_the_pdf_which_is_rendered_when_first_opened(client, mailoutbox):
    scheduled_customer(code="S-1")
    statement_run(as_of=RUN_DAY)

    statements_send()

    message = mailoutbox[0]
    statement = Statement.objects.get()
    assert statement.status == Statement.Status.SENT
    assert message.attachments == []
    assert not statement.pdf  # nothing rendered by the run
    assert "is ready" in message.body
    assert "CNY 1,000.00" in message.body
    link = re.search(r"https?://\S+/p/(\S+)/", message.body)
    assert link is not None
    url = reverse("portal:statement_pdf", kwargs={"token": link.group(1), "pk": statement.pk})

    first = client.get(url)
    second = client.get(url)

    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    statement.refresh_from_db()
    assert statement.pdf  # rendered once, then kept
    served = b"".join(first.streaming_content)
    assert served == b"".join(second.streaming_content)
    text = PdfReader(io.BytesIO(served)).pages[0].extract_text()
    assert "1,000.00" in text


@time_machine.travel(NOW, tick=False)
def test_sending_attaches_the_pdf_uses_a_stable_message_id_and_sends_once(mailoutbox, settings):
    settings.STATEMENT_ATTACH_PDF = True
    customer = scheduled_customer(code="S-1")
    statement_run(as_of=RUN_DAY)

    statements_send()
    statements_send()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    statement = Statement.objects.get()
    assert statement.status == Statement.Status.SENT
    assert message.to == ["ap@customer.example"]
    assert message.extra_headers["Message-ID"] == statement.email_message_id
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf"
    assert name == "statement-S-1-202611.pdf"
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "1,000.00" in text
    assert "2026-11-01" in message.subject
    assert "CNY 1,000.00" in message.body
    event = CaseEvent.objects.get(customer=customer, kind=CaseEvent.Kind.STATEMENT_SENT)
    assert event.text == ""
    assert event.data["closing"] == "1000.00"


@time_machine.travel(NOW, tick=False)
def test_a_customer_without_finance_email_fails_visibly_and_finance_retries(mailoutbox):
    customer = scheduled_customer(code="S-1", finance_email=None)
    statement_run(as_of=RUN_DAY)

    statements_send()

    statement = Statement.objects.get()
    assert statement.status == Statement.Status.FAILED
    assert statement.failure_reason == Statement.FailureReason.MISSING_ADDRESS
    finance = FinanceUserFactory()
    with pytest.raises(BusinessRuleError):
        statement_retry(statement=statement, actor=finance)
    customer.contacts.create(name="AP", role="finance", email="new@customer.example")
    with pytest.raises(BusinessRuleError):
        statement_retry(statement=statement, actor=SalesRepFactory())

    statement_retry(statement=statement, actor=finance)
    statements_send()

    statement.refresh_from_db()
    assert statement.status == Statement.Status.SENT
    assert mailoutbox[0].to == ["new@customer.example"]


def test_a_statement_left_in_sending_is_reaped_then_sent_once(mailoutbox):
    with time_machine.travel(NOW, tick=False):
        scheduled_customer(code="S-1")
        statement_run(as_of=RUN_DAY)
        [pk] = statements_claim(limit=5)  # a worker claims it, then dies
        assert statements_claim(limit=5) == []
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        assert statements_reap() == 1
        statements_send()
    statement = Statement.objects.get(pk=pk)
    assert statement.status == Statement.Status.SENT
    assert statement.attempts == 2
    assert len(mailoutbox) == 1


@time_machine.travel(NOW, tick=False)
def test_a_mail_server_that_is_down_leaves_it_pending_then_failed(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.STATEMENT_SEND_MAX_ATTEMPTS = 2
    scheduled_customer(code="S-1")
    statement_run(as_of=RUN_DAY)

    statements_send()
    statement = Statement.objects.get()
    assert statement.status == Statement.Status.PENDING
    assert "ConnectionRefused" in statement.failure_detail

    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        statements_send()
    statement.refresh_from_db()
    assert statement.status == Statement.Status.FAILED
    assert statement.failure_reason == Statement.FailureReason.SMTP_ERROR


@time_machine.travel(NOW, tick=False)
def test_the_beat_task_runs_and_sends_in_the_customers_language(mailoutbox):
    from statements.tasks import statement_run_task

    scheduled_customer(code="ZH-1", language="zh-hans")

    result = statement_run_task.delay(as_of="2026-12-01").get()

    assert result == {"created": 1, "skipped_zero_balance": 0}
    assert Statement.objects.get().status == Statement.Status.SENT
    assert mailoutbox[0].subject.startswith("对账单 ZH-1")
    assert "2026-11-01 至 2026-11-30" in mailoutbox[0].subject
    assert "期末余额为 CNY 1,000.00" in mailoutbox[0].body


@time_machine.travel(NOW, tick=True)
def test_a_slow_sender_hands_back_what_it_claimed_before_the_lease_runs_out(settings, mailoutbox):
    settings.STATEMENT_LEASE = timedelta(microseconds=1)  # every send outlasts half of it
    for number in range(3):
        scheduled_customer(code=f"S-{number}")
    statement_run(as_of=RUN_DAY)

    summary = statements_send()

    # One sent per claim, the rest handed back untried each time, each sent exactly once.
    assert len(summary.sent) == 3
    assert len(mailoutbox) == 3
    assert sorted(Statement.objects.values_list("attempts", flat=True)) == [1, 1, 1]


@time_machine.travel(NOW, tick=False)
def test_an_address_flagged_bounced_after_the_run_is_not_mailed(mailoutbox):
    customer = scheduled_customer(code="S-1")
    statement_run(as_of=RUN_DAY)
    # A dunning email to the same address bounces before the statement goes out.
    contacts_mark_bounced(customer_id=customer.pk, email="AP@customer.example", at=timezone.now())

    statements_send()

    statement = Statement.objects.get()
    assert mailoutbox == []
    assert statement.status == Statement.Status.FAILED
    assert statement.failure_reason == Statement.FailureReason.BOUNCE
    assert statement.failure_detail == "ap@customer.example"
