"""The rep's worklist: every task reachable ("show all"), and the print-the-letter task done."""

from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from dashboards.selectors.worklist import TASK_ROWS
from dunning.models import CaseEvent, CollectionTask
from tests.factories.cases import CommunicationFactory
from tests.factories.customers import CustomerFactory
from tests.factories.users import SalesRepFactory

pytestmark = pytest.mark.django_db


def _call(customer, *, title="Call them", communication=None):
    return CollectionTask.objects.create(
        kind=CollectionTask.Kind.FOLLOW_UP,
        customer=customer,
        assignee=customer.sales_rep,
        communication=communication,
        title=title,
        due_date=timezone.localdate(),
    )


def test_calls_beyond_the_first_rows_are_reachable_with_show_all(client):
    # Given a rep with 12 calls to make, of which the list shows 8
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    for index in range(TASK_ROWS + 4):
        _call(customer, title=f"Call number {index:02d}")
    client.force_login(rep)

    page = client.get(reverse("dashboards:rep_home")).content.decode()
    assert "Call number 11" not in page
    assert "Show all 12" in page
    assert "?tasks=calls" in page

    # When the rep asks for all of them, they are all there
    page = client.get(reverse("dashboards:rep_home") + "?tasks=calls").content.decode()
    for index in range(TASK_ROWS + 4):
        assert f"Call number {index:02d}" in page
    assert "Show fewer" in page


def test_show_all_keeps_the_page_to_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    for index in range(30):
        _call(customer, title=f"Call number {index:02d}")
    client.force_login(rep)

    with django_assert_max_num_queries(40):
        response = client.get(reverse("dashboards:rep_home") + "?tasks=calls")
    assert response.status_code == 200


def test_the_print_the_letter_task_offers_the_letter_and_a_done_action(client):
    # Given a sent demand letter and its print-and-mail task
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    communication = CommunicationFactory(customer=customer, business_date=date(2026, 3, 2))
    communication.letter_pdf.save("letter.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    task = _call(customer, title="Print the demand letter", communication=communication)
    client.force_login(rep)

    page = client.get(reverse("dashboards:rep_home")).content.decode()
    done_url = reverse("dunning:task_complete", args=[task.pk])
    assert done_url in page
    assert reverse("dunning:communication_pdf", args=[communication.pk]) in page

    # When the rep marks it mailed with the registered-mail number
    response = client.post(done_url, {"note": "EMS 1234 5678"})

    # Then the task is done, with the note, and the timeline says so with parameters
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == CollectionTask.Status.DONE
    assert task.completed_by == rep
    assert task.outcome == "EMS 1234 5678"
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.TASK_COMPLETED)
    assert event.text == ""
    assert event.data == {
        "task": task.pk,
        "task_kind": "follow_up",
        "communication": communication.pk,
        "note": "EMS 1234 5678",
    }
    assert done_url not in client.get(reverse("dashboards:rep_home")).content.decode()


def test_another_reps_task_cannot_be_marked_done(client):
    task = _call(CustomerFactory(sales_rep=SalesRepFactory()))
    client.force_login(SalesRepFactory())

    response = client.post(reverse("dunning:task_complete", args=[task.pk]))

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == CollectionTask.Status.OPEN
