"""A thank-you to the finance contact, once per dunned invoice paid in full."""

from datetime import date, timedelta
from smtplib import SMTPException
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from dunning.models import CaseEvent, LevelCode
from dunning.services.thanks import dunning_thank_you_for_paid
from receivables.models import Contact
from tests.factories.cases import (
    CollectionCaseFactory,
    DunningStepFactory,
    overdue_invoice,
    pay_invoice,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


AS_OF = date(2026, 3, 2)


@pytest.fixture
def customer():
    customer = CustomerFactory(language="en")
    ContactFactory(customer=customer, name="Ms Qian", email="ap@northwind.example")
    return customer


def dunned_invoice(customer, *, level=LevelCode.REMINDER, number=None):
    extra = {"number": number} if number else {}
    invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1), **extra)
    DunningStepFactory(invoice=invoice, level=level, fired_on=date(2026, 2, 2))
    return invoice


def test_a_dunned_invoice_paid_in_full_gets_one_thank_you(customer):
    # Given a reminded invoice paid in full, and an open case
    case = CollectionCaseFactory(customer=customer)
    invoice = dunned_invoice(customer, number="INV-THX-1")
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))

    # When the daily thank-you runs twice
    first = dunning_thank_you_for_paid(as_of=AS_OF)
    second = dunning_thank_you_for_paid(as_of=AS_OF + timedelta(days=1))

    # Then one email went to the finance contact, in the customer's language
    assert first.sent == ["INV-THX-1"]
    assert second.sent == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap@northwind.example"]
    assert message.subject == "Thank you for your payment"
    assert "INV-THX-1" in message.body
    assert "Ms Qian" in message.body
    # and the case timeline shows it
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.THANK_YOU_SENT)
    assert event.case == case
    assert event.data["invoice"] == invoice.pk


def test_several_invoices_of_a_customer_share_one_email(customer):
    for number in ("INV-T-1", "INV-T-2"):
        invoice = dunned_invoice(customer, number=number)
        pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))

    result = dunning_thank_you_for_paid(as_of=AS_OF)

    assert sorted(result.sent) == ["INV-T-1", "INV-T-2"]
    assert len(mail.outbox) == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.THANK_YOU_SENT).count() == 2


def test_the_chinese_template_is_used_for_chinese_customers():
    customer = CustomerFactory(language="zh-hans")
    ContactFactory(customer=customer, email="cw@kehu.example")
    invoice = dunned_invoice(customer, number="INV-ZH-1")
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))

    dunning_thank_you_for_paid(as_of=AS_OF)

    [message] = mail.outbox
    assert "INV-ZH-1" in message.body
    assert message.subject != "Thank you for your payment"


@pytest.mark.parametrize("case", ["not_dunned", "pre_due_only", "partly_paid", "old_payment"])
def test_no_thank_you_when_the_rule_does_not_apply(customer, case):
    if case == "not_dunned":
        invoice = overdue_invoice(customer=customer, due=date(2026, 2, 1))
    else:
        level = LevelCode.PRE_DUE if case == "pre_due_only" else LevelCode.REMINDER
        invoice = dunned_invoice(customer, level=level)
    amount = "400.00" if case == "partly_paid" else "1000.00"
    paid_on = date(2026, 2, 1) if case == "old_payment" else date(2026, 3, 1)
    pay_invoice(invoice=invoice, amount=amount, on=paid_on)

    result = dunning_thank_you_for_paid(as_of=AS_OF)

    assert result.sent == []
    assert not mail.outbox
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.THANK_YOU_SENT).exists()


def test_a_payment_dated_after_the_business_date_is_not_thanked_yet(customer):
    invoice = dunned_invoice(customer)
    pay_invoice(invoice=invoice, amount="1000.00", on=AS_OF + timedelta(days=1))

    assert dunning_thank_you_for_paid(as_of=AS_OF).sent == []
    assert dunning_thank_you_for_paid(as_of=AS_OF + timedelta(days=1)).sent == [invoice.number]


def test_without_a_finance_email_nothing_is_sent_or_recorded():
    customer = CustomerFactory()
    invoice = dunned_invoice(customer, number="INV-NC-1")
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))

    result = dunning_thank_you_for_paid(as_of=AS_OF)

    assert result.no_contact == ["INV-NC-1"]
    assert not mail.outbox
    assert not CaseEvent.objects.exists()


def test_no_thank_you_goes_to_an_address_that_bounced(customer):
    invoice = dunned_invoice(customer, number="INV-BNC-1")
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))
    Contact.objects.filter(customer=customer).update(email_bounced_at=timezone.now())

    result = dunning_thank_you_for_paid(as_of=AS_OF)

    assert result.no_contact == ["INV-BNC-1"]
    assert not mail.outbox


def test_a_mail_failure_records_nothing_so_the_next_day_retries(customer):
    invoice = dunned_invoice(customer, number="INV-RETRY")
    pay_invoice(invoice=invoice, amount="1000.00", on=date(2026, 3, 1))

    with mock.patch(
        "django.core.mail.EmailMessage.send", side_effect=SMTPException("421 try later")
    ):
        failed = dunning_thank_you_for_paid(as_of=AS_OF)

    assert failed.failed == ["INV-RETRY"]
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.THANK_YOU_SENT).exists()
    assert dunning_thank_you_for_paid(as_of=AS_OF + timedelta(days=1)).sent == ["INV-RETRY"]
