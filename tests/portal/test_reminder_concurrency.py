"""Two beats remind at once on PostgreSQL: each silent customer gets one reminder, one task."""

import threading

import pytest
from django.db import connection

from dunning.models import CollectionTask
from portal.models import ConfirmationReminder
from portal.services.reminders import confirmation_reminders_send, reminder_due_on
from tests.portal.conftest import AS_OF, make_book

pytestmark = [
    pytest.mark.postgres("row locks with SKIP LOCKED and concurrent unique inserts"),
    pytest.mark.django_db(transaction=True),
]


def test_two_beats_at_once_remind_each_silent_customer_exactly_once():
    silent = [make_book(code=f"C-CC{index}", name=f"Concurrent {index}") for index in range(8)]
    due = reminder_due_on(as_of=AS_OF)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(confirmation_reminders_send(as_of=due).reminded)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert sum(results) == 8
    assert ConfirmationReminder.objects.count() == 8
    assert CollectionTask.objects.filter(kind=CollectionTask.Kind.CONFIRMATION_SILENT).count() == 8
    assert set(ConfirmationReminder.objects.values_list("customer__code", flat=True)) == {
        book.customer.code for book in silent
    }
    assert not ConfirmationReminder.objects.filter(task__isnull=True).exists()
