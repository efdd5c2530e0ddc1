"""The kill suite: real worker and beat processes on PostgreSQL and Redis, killed mid-run.

Each trial starts its own processes (a prefork worker, two beats, a local SMTP
sink, and for the Redis trial a private Redis without persistence), with
leases of a few seconds so recovery is quick. After the damage it checks,
from the database and the sink: no message lost, no chunk stuck, the run
finished, each step once, and at most one duplicate email per kill (the
same Message-ID), every due message sent soon after a worker is back.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest
import redis

from dunning.models import Communication, DunningRun, DunningRunChunk, DunningStep, LevelCode
from receivables.models import Invoice
from tests.dunning.processes import ROOT, child_env, wait_until
from tests.dunning.smtp_servers import Sink, free_port, smtp_sink
from tests.factories.dunning import due_invoice, dunning_customer, ensure_default_policy
from tests.factories.users import SalesRepFactory
from tests.services import celery_worker, require_postgres, require_redis

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

CUSTOMERS = 24
LEASE_SECONDS = 3
TRIALS = 5
FIRST_DUE = date(2026, 3, 2)
# A worker back must have sent everything due within this (leases of 3 s;
# the bound for production leases is 5 minutes).
RECOVERY_SECONDS = 60


class SlowSink(Sink):
    """Keeps the message, then takes a moment to answer: a kill can land mid-send."""

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.15)
        return answer


@contextmanager
def private_redis(tmp_path: Path, port: int) -> Iterator[subprocess.Popen]:
    """A Redis of this test's own, on a free port, that keeps nothing on disk."""
    folder = tmp_path / f"redis-{port}"
    folder.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    wait_until(lambda: _answers(client), timeout=20, what="the private Redis to start")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


@contextmanager
def beat(*, redis_url: str, env: dict[str, str], folder: Path) -> Iterator[subprocess.Popen]:
    """`celery beat` with a schedule file of its own (two beats must not share one)."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={folder / 'schedule'}",
            f"--pidfile={folder / 'beat.pid'}",
        ],
        cwd=ROOT,
        env={**env, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool at once, as a machine that dies."""
    children = pool_children(process.pid)
    process.send_signal(signal.SIGKILL)
    for child in children:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    process.wait(timeout=30)


def book(trial: int) -> date:
    """The trial's customers, each with an invoice overdue on the trial's business date.

    Earlier trials' invoices are cancelled, so each run works on its own book.
    """
    Invoice.objects.exclude(status=Invoice.Status.CANCELLED).update(status=Invoice.Status.CANCELLED)
    due = FIRST_DUE + timedelta(days=trial)
    rep = SalesRepFactory()
    for number in range(CUSTOMERS):
        code = f"X{trial}-{number:03d}"
        customer = dunning_customer(code=code, sales_rep=rep)
        due_invoice(customer=customer, due=due, number=f"{code}-1")
    return due + timedelta(days=1)


def run_messages(as_of: date):
    return Communication.objects.filter(business_date=as_of, level=LevelCode.REMINDER)


def run_done(as_of: date) -> bool:
    """Every message of the date's run sent, no chunk pending, the run completed."""
    return (
        run_messages(as_of).filter(status=Communication.Status.SENT).count() == CUSTOMERS
        and DunningRun.objects.filter(
            business_date=as_of, status=DunningRun.Status.COMPLETED
        ).exists()
        and not DunningRunChunk.objects.filter(
            run__business_date=as_of, status=DunningRunChunk.Status.PENDING
        ).exists()
    )


def first_chunk_done(as_of: date) -> bool:
    return DunningRunChunk.objects.filter(
        run__business_date=as_of, status=DunningRunChunk.Status.DONE
    ).exists()


def mid_send(sink: Sink, received: int, as_of: date) -> bool:
    """The sink got a message of this run, and another is being sent."""
    return (
        len(sink.messages) > received
        and run_messages(as_of).filter(status=Communication.Status.SENDING).exists()
    )


def assert_nothing_lost(sink: Sink, *, as_of: date, kills: int) -> None:
    communications = list(run_messages(as_of))
    assert len(communications) == CUSTOMERS
    assert {c.status for c in communications} == {Communication.Status.SENT}
    steps = DunningStep.objects.filter(fired_on=as_of)
    assert steps.count() == CUSTOMERS
    assert steps.values("invoice", "level").distinct().count() == CUSTOMERS
    assert (
        not DunningRunChunk.objects.filter(run__business_date=as_of)
        .exclude(status=DunningRunChunk.Status.DONE)
        .exists()
    )
    assert DunningRun.objects.get(business_date=as_of).status == DunningRun.Status.COMPLETED
    expected = {c.email_message_id for c in communications}
    received = Counter(found for found in sink.message_ids if found in expected)
    assert set(received) == expected  # none lost
    duplicates = sum(received.values()) - len(received)
    assert duplicates <= kills, f"{duplicates} duplicates for {kills} kills"


@pytest.fixture
def trial(tmp_path):
    """What the trials need: env for their processes, a private queue, the SMTP sink."""
    require_postgres()
    ensure_default_policy()

    class Trial:
        queue = f"kill-{uuid.uuid4().hex}"

        def __init__(self, stack: ExitStack, sink: Sink, port: int):
            self.stack = stack
            self.sink = sink
            self.env = child_env(
                EMAIL_URL=f"smtp://127.0.0.1:{port}",
                EMAIL_TIMEOUT="2",
                DJANGO_CONN_MAX_AGE="0",
                DUNNING_CHUNK_SIZE="3",
                DUNNING_LEASE_SECONDS=str(LEASE_SECONDS),
                DUNNING_SEND_EVERY_SECONDS="1",
                # far from now, so the beats never start a daily run on their own
                DUNNING_RUN_AT=time.strftime("%H:%M", time.localtime(time.time() + 6 * 3600)),
                CELERY_TASK_DEFAULT_QUEUE=self.queue,
            )

        def worker(self, redis_url: str):
            return self.stack.enter_context(
                celery_worker(
                    redis_url=redis_url,
                    queue=self.queue,
                    env=self.env,
                    pool=("--pool=prefork", "--concurrency=2"),
                )
            )

        def beats(self, redis_url: str) -> None:
            """Two beats at once, as a misconfigured deployment would run them."""
            for number in (1, 2):
                self.stack.enter_context(
                    beat(redis_url=redis_url, env=self.env, folder=tmp_path / f"beat-{number}")
                )

        def start_run(self, client, as_of: date) -> None:
            client.send_task(
                "dunning.tasks.dunning_run_task",
                kwargs={"as_of": as_of.isoformat()},
                queue=self.queue,
            )

    with ExitStack() as stack:
        sink, port = stack.enter_context(smtp_sink(sink=SlowSink()))
        yield Trial(stack, sink, port)


def state(as_of: date) -> str:
    """What the run looks like, for a failure message."""
    messages = Counter(run_messages(as_of).values_list("status", flat=True))
    chunks = Counter(
        DunningRunChunk.objects.filter(run__business_date=as_of).values_list("status", flat=True)
    )
    runs = list(DunningRun.objects.filter(business_date=as_of).values_list("status", flat=True))
    details = list(
        run_messages(as_of)
        .exclude(status=Communication.Status.SENT)
        .values_list("status", "attempts", "failure_detail", "next_attempt_at")
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 160),"
            " now() - xact_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        sessions = cursor.fetchall()
    return (
        f"messages {dict(messages)}, chunks {dict(chunks)}, run {runs}, unsent {details},"
        f" sessions {sessions}"
    )


def wait_recovered(as_of: date, *, since: float) -> None:
    deadline = since + RECOVERY_SECONDS
    while not run_done(as_of):
        assert time.monotonic() < deadline, f"not recovered in time: {state(as_of)}"
        time.sleep(0.2)


def test_worker_killed_mid_run_five_times_loses_nothing(trial):
    redis_url = require_redis()
    trial.beats(redis_url)
    client, worker = trial.worker(redis_url)
    for attempt in range(TRIALS):
        as_of = book(attempt)

        # When the run is under way (a chunk done, others pending), the
        # worker and its pool die at once
        trial.start_run(client, as_of)
        wait_until(partial(first_chunk_done, as_of), timeout=60, what="the first chunk")
        kill_worker(worker)

        # Then a new worker finishes everything, with at most one duplicate
        back = time.monotonic()
        client, worker = trial.worker(redis_url)
        wait_recovered(as_of, since=back)
        assert_nothing_lost(trial.sink, as_of=as_of, kills=1)


def test_pool_child_killed_mid_send_five_times_loses_nothing(trial):
    redis_url = require_redis()
    trial.beats(redis_url)
    client, worker = trial.worker(redis_url)
    for attempt in range(TRIALS):
        as_of = book(attempt)
        received = len(trial.sink.messages)

        trial.start_run(client, as_of)
        wait_until(
            partial(mid_send, trial.sink, received, as_of), timeout=60, what="a message mid-send"
        )
        children = pool_children(worker.pid)
        assert children
        os.kill(children[0], signal.SIGKILL)  # the main process starts another child

        wait_recovered(as_of, since=time.monotonic())
        assert_nothing_lost(trial.sink, as_of=as_of, kills=1)


def test_redis_restarted_without_its_data_mid_run_loses_nothing(trial, tmp_path):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    as_of = book(0)
    with private_redis(tmp_path, port) as server:
        trial.beats(redis_url)
        client, _worker = trial.worker(redis_url)
        trial.start_run(client, as_of)
        wait_until(lambda: first_chunk_done(as_of), timeout=60, what="the first chunk")
        # When Redis dies and comes back empty, the queued chunks and sends are gone
        server.kill()
        server.wait(timeout=10)
    with private_redis(tmp_path, port):
        # Then the database drives recovery: everything is sent, nothing twice
        wait_recovered(as_of, since=time.monotonic())
        assert_nothing_lost(trial.sink, as_of=as_of, kills=0)
        trial.stack.close()  # stop worker and beats while their Redis still answers
