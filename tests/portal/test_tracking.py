"""Confirmation periods: who confirmed, disputed or stayed silent; one reminder each."""

from datetime import date

import pytest
from django.urls import reverse

from dunning.calendar import business_calendar
from dunning.models import CaseEvent, CollectionTask
from portal.models import ConfirmationReminder
from portal.selectors import confirmation_rate
from portal.services.actions import Visitor, portal_balance_confirm, portal_dispute_submit
from portal.services.reminders import confirmation_reminders_send, reminder_due_on
from portal.tasks import confirmation_reminders_task
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory
from tests.portal.conftest import AS_OF, TODAY, make_book

pytestmark = pytest.mark.django_db

VISITOR = Visitor(name="Qian Li", ip_address="203.0.113.9", user_agent="x")


@pytest.fixture
def period(book, other_book):
    """Three customers asked: one confirms, one disputes, one stays silent."""
    silent = make_book(code="C-GAMMA", name="Gamma Steel")
    portal_balance_confirm(
        link=book.link, position="CFO", visitor=VISITOR, language="en", today=TODAY
    )
    portal_dispute_submit(
        link=other_book.link,
        invoice_ids=[other_book.invoices[0].pk],
        reason="Wrong quantity",
        attachment=None,
        visitor=VISITOR,
        today=TODAY,
    )
    return book, other_book, silent


def test_the_rate_counts_confirmed_disputed_and_silent(period):
    rate = confirmation_rate()
    assert (rate.as_of, rate.asked, rate.confirmed, rate.disputed, rate.silent) == (
        AS_OF,
        3,
        1,
        1,
        1,
    )
    assert str(rate.rate) == "33.3"


def test_the_silent_are_reminded_after_n_working_days_exactly_once(period, settings):
    settings.PORTAL_CONFIRMATION_REMINDER_WORKING_DAYS = 5
    _confirmed, _disputed, silent = period
    due = reminder_due_on(as_of=AS_OF)
    assert due == business_calendar().get_nth_working_day(AS_OF, 5)
    day_before = date.fromordinal(due.toordinal() - 1)

    assert confirmation_reminders_send(as_of=day_before).reminded == 0
    assert confirmation_reminders_send(as_of=due).reminded == 1
    assert confirmation_reminders_send(as_of=due).reminded == 0
    assert confirmation_reminders_task(as_of=date(2026, 4, 1).isoformat())["reminded"] == 0

    reminder = ConfirmationReminder.objects.get()
    assert reminder.customer == silent.customer
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.CONFIRMATION_SILENT)
    assert task == reminder.task
    assert task.customer == silent.customer
    assert task.assignee == silent.customer.sales_rep
    assert task.params == {
        "what": "confirmation_silent",
        "customer": "Gamma Steel",
        "as_of": AS_OF.isoformat(),
    }
    assert "Gamma Steel" in task.display_title
    assert CaseEvent.objects.filter(
        customer=silent.customer, kind=CaseEvent.Kind.TASK_CREATED, data__task=task.pk
    ).exists()


def test_reminders_cost_the_same_statements_for_one_or_many(period, django_assert_max_num_queries):
    for index in range(6):
        make_book(code=f"C-S{index}", name=f"Silent {index}")
    due = reminder_due_on(as_of=AS_OF)
    with django_assert_max_num_queries(12):
        summary = confirmation_reminders_send(as_of=due)
    assert summary.reminded == 7


def test_finance_sees_the_period_and_reps_do_not(client, period):
    book, other_book, silent = period
    client.force_login(FinanceUserFactory())
    response = client.get(reverse("portal:confirmation_desk"))
    assert response.status_code == 200
    body = response.content.decode()
    row = body.split(f'confirmation-row-{book.customer.code}"')[1].split("</tr>")[0]
    assert "Confirmed" in row
    row = body.split(f'confirmation-row-{other_book.customer.code}"')[1].split("</tr>")[0]
    assert "Disputed" in row
    row = body.split(f'confirmation-row-{silent.customer.code}"')[1].split("</tr>")[0]
    assert "No answer" in row
    client.force_login(SalesRepFactory())
    assert client.get(reverse("portal:confirmation_desk")).status_code == 403


def test_the_manager_dashboard_shows_the_rate(client, period):
    client.force_login(ManagerFactory())
    body = client.get(reverse("dashboards:dashboard")).content.decode()
    assert 'data-testid="confirmation-rate"' in body
    assert "1 of 3 customers confirmed" in body
    assert "33.3%" in body


def test_the_desk_takes_a_bounded_number_of_queries(client, period, django_assert_max_num_queries):
    for index in range(5):
        make_book(code=f"C-Q{index}", name=f"Quiet {index}")
    client.force_login(FinanceUserFactory())
    with django_assert_max_num_queries(15):
        assert client.get(reverse("portal:confirmation_desk")).status_code == 200
