"""Exactly once against PostgreSQL, with real concurrent processes on a committed database.

Each test starts `manage.py run_dunning` or the sender in separate OS
processes at the same time (or kills one with SIGKILL half-way) and checks
that every item reached each level once and every message went out once.
"""

import json
import re
import signal
import socket
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from dunning.models import Communication, DunningRunChunk, DunningStep, LevelCode
from dunning.services.run import run_dunning
from dunning.services.send import communications_reap
from tests.dunning.processes import (
    child_env,
    finish,
    manage,
    python,
    test_database_url,
    wait_until,
)
from tests.factories.dunning import due_invoice, dunning_customer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

D = date(2026, 3, 2)
RUN_DAY = "2026-03-03"
MESSAGE_ID = re.compile(r"^Message-ID: (<[^>]+>)", re.MULTILINE)


def book(customers: int, *, invoices_each: int = 2) -> list:
    created = []
    for number in range(customers):
        customer = dunning_customer(code=f"K-{number:03d}")
        for position in range(invoices_each):
            due_invoice(customer=customer, due=D, number=f"K-{number:03d}-{position}")
        created.append(customer)
    return created


def assert_each_item_once(*, customers: int, invoices_each: int = 2) -> None:
    steps = DunningStep.objects.filter(level=LevelCode.REMINDER)
    assert steps.count() == customers * invoices_each
    assert steps.values("invoice").distinct().count() == customers * invoices_each
    reminders = Communication.objects.filter(level=LevelCode.REMINDER)
    assert reminders.count() == customers
    assert reminders.values("customer").distinct().count() == customers
    assert not steps.filter(communication__isnull=True).exists()


def message_ids(folder: Path) -> list[str]:
    found = []
    for path in folder.glob("*"):
        found.extend(MESSAGE_ID.findall(path.read_text(errors="replace")))
    return found


def test_four_runs_of_the_same_date_at_once_create_each_message_once():
    # Given a committed book of 16 customers with two overdue invoices each
    book(16)

    # When four processes run the same business date at the same moment
    # (two beats, a manual run, a retry), in chunks of three customers
    processes = [
        manage("run_dunning", "--as-of", RUN_DAY, "--format", "json", "--chunk-size", "3")
        for _ in range(4)
    ]
    outputs = [json.loads(finish(process)[0]) for process in processes]

    # Then together they created one reminder per customer, each listing both invoices
    created = [c for output in outputs for c in output["communications"]]
    assert len(created) == 16
    assert sorted(c["customer_code"] for c in created) == [f"K-{n:03d}" for n in range(16)]
    assert all(len(c["invoices"]) == 2 for c in created)
    assert_each_item_once(customers=16)
    # and a fifth run finds nothing left to do
    again = json.loads(finish(manage("run_dunning", "--as-of", RUN_DAY, "--format", "json"))[0])
    assert again["communications"] == []
    assert_each_item_once(customers=16)


def test_three_senders_at_once_send_every_message_once(tmp_path):
    book(15, invoices_each=1)
    run_dunning(as_of=date.fromisoformat(RUN_DAY))
    outbox = tmp_path / "outbox"
    env = child_env(EMAIL_URL=f"filemail:///{outbox}")

    senders = [
        python(
            "from dunning.services.send import communications_send\n"
            "summary = communications_send(batch=2)\n"
            "print(len(summary.sent))\n",
            env=env,
        )
        for _ in range(3)
    ]
    sent_counts = [int(finish(sender)[0].strip()) for sender in senders]

    assert sum(sent_counts) == 15
    ids = message_ids(outbox)
    assert len(ids) == 15
    assert len(set(ids)) == 15
    reminders = Communication.objects.filter(level=LevelCode.REMINDER)
    assert set(reminders.values_list("status", flat=True)) == {Communication.Status.SENT}
    assert set(reminders.values_list("attempts", flat=True)) == {1}
    assert set(ids) == {c.email_message_id for c in reminders}


def test_a_run_killed_half_way_through_a_chunk_and_repeated_creates_nothing_twice():
    # Given three customers, processed one per chunk in this order
    first, second, third = book(3, invoices_each=1)
    blocked_invoice = second.invoices.get()
    # and another session that holds an uncommitted step of the second
    # customer's invoice, so that the run stops inside the second chunk's
    # transaction, after its first statements, when it inserts its steps
    blocker = psycopg.connect(test_database_url())
    with blocker.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dunning_dunningstep (customer_id, invoice_id, level, fired_on, due_date,"
            " currency, outstanding, batch, excluded_reason, created_at)"
            " VALUES (%s, %s, 'reminder', %s, %s, 'CNY', 1000, gen_random_uuid(), '', now())",
            [second.pk, blocked_invoice.pk, date.fromisoformat(RUN_DAY), D],
        )
    run = manage("run_dunning", "--as-of", RUN_DAY, "--chunk-size", "1")
    database = connection.settings_dict["NAME"]

    def run_is_blocked() -> bool:
        with psycopg.connect(test_database_url(), autocommit=True) as probe:
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND wait_event_type = 'Lock'",
                [database],
            ).fetchone()[0]
        return waiting > 0

    wait_until(run_is_blocked, what="the run to block inside the second chunk")

    # When the worker is killed there, and the other session goes away
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    blocker.rollback()
    blocker.close()

    # Then only the first chunk's work exists: the second's transaction died with it
    assert run.returncode == -signal.SIGKILL
    assert list(Communication.objects.values_list("customer__code", flat=True)) == [first.code]
    assert DunningStep.objects.filter(customer__in=[second, third]).count() == 0
    assert DunningRunChunk.objects.filter(status=DunningRunChunk.Status.DONE).count() == 1

    # When the date is run again, it completes the rest and nothing twice
    output = json.loads(
        finish(manage("run_dunning", "--as-of", RUN_DAY, "--format", "json", "--chunk-size", "1"))[
            0
        ]
    )
    assert sorted(c["customer_code"] for c in output["communications"]) == [
        second.code,
        third.code,
    ]
    assert_each_item_once(customers=3, invoices_each=1)


class SilentSmtpServer:
    """Accepts connections and never answers: a sender talking to it hangs."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                accepted, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(accepted)

    def close(self) -> None:
        for accepted in self.connections:
            accepted.close()
        self.socket.close()


def test_a_sender_killed_while_sending_is_reaped_and_the_message_goes_out_once(tmp_path):
    # Given a pending reminder and a mail server that hangs
    book(1, invoices_each=1)
    run_dunning(as_of=date.fromisoformat(RUN_DAY))
    communication = Communication.objects.get()
    server = SilentSmtpServer()
    try:
        hanging = python(
            "from dunning.services.send import communications_send\ncommunications_send()\n",
            env=child_env(EMAIL_URL=f"smtp://127.0.0.1:{server.port}"),
        )

        def claimed() -> bool:
            communication.refresh_from_db()
            return communication.status == Communication.Status.SENDING

        wait_until(claimed, what="the sender to claim the message")
        wait_until(lambda: bool(server.connections), what="the sender to reach the server")

        # When the sender is killed mid-send
        hanging.send_signal(signal.SIGKILL)
        hanging.wait(timeout=30)
    finally:
        server.close()

    # Then the message is left in `sending`; the reaper returns it to pending
    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENDING
    assert communications_reap(timeout=timedelta(0)) == 1
    outbox = tmp_path / "outbox"
    finish(
        python(
            "from dunning.services.send import communications_send\ncommunications_send()\n",
            env=child_env(EMAIL_URL=f"filemail:///{outbox}"),
        )
    )

    # and it goes out once, with the Message-ID it had from the start
    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENT
    assert communication.attempts == 2
    assert message_ids(outbox) == [communication.email_message_id]
    assert Decimal(communication.total_amount) == Decimal("1000.00")
