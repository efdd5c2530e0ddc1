"""The beat task end to end: a real Celery worker process, Redis, and the PostgreSQL test database.

The worker gets the test database through DATABASE_URL and a private queue
(also its default queue, so the chunk and send tasks it fans out come back
to it); mail goes to files so the test can count what was sent.
"""

import re
import uuid
from datetime import date
from pathlib import Path

import pytest

from dunning.models import Communication, DunningRun, DunningStep, LevelCode
from tests.dunning.processes import child_env, wait_until
from tests.factories.dunning import due_invoice, dunning_customer
from tests.services import celery_worker, require_redis

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

MESSAGE_ID = re.compile(r"^Message-ID: (<[^>]+>)", re.MULTILINE)


@pytest.fixture
def redis_url():
    return require_redis()


@pytest.fixture
def worker(redis_url, tmp_path):
    """A prefork worker with two processes on a private queue, against the test database."""
    queue = f"test-dunning-{uuid.uuid4().hex}"
    outbox = tmp_path / "outbox"
    env = child_env(EMAIL_URL=f"filemail:///{outbox}", DJANGO_CONN_MAX_AGE="0")
    pool = ("--pool=prefork", "--concurrency=2")
    with celery_worker(redis_url=redis_url, queue=queue, env=env, pool=pool) as (client, _):
        yield client, queue, outbox


def message_ids(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return [
        found
        for path in folder.glob("*")
        for found in MESSAGE_ID.findall(path.read_text(errors="replace"))
    ]


def test_the_beat_task_runs_fans_out_and_sends_once_even_when_sent_twice(worker):
    client, queue, outbox = worker
    # Given ten customers with overdue invoices, on a committed database
    for number in range(10):
        customer = dunning_customer(code=f"W-{number:02d}")
        due_invoice(customer=customer, due=date(2026, 3, 2), number=f"W-{number:02d}-1")

    # When two beats send the daily task for the same business date
    results = [
        client.send_task(
            "dunning.tasks.dunning_run_task", kwargs={"as_of": "2026-03-03"}, queue=queue
        )
        for _ in range(2)
    ]
    answers = [result.get(timeout=120) for result in results]

    # Then the run fanned out, every chunk ran on the worker, and every
    # reminder was created once and sent once
    assert {answer["as_of"] for answer in answers} == {"2026-03-03"}
    wait_until(
        lambda: (
            Communication.objects.filter(status=Communication.Status.SENT).count() == 10
            and DunningRun.objects.get().status == DunningRun.Status.COMPLETED
        ),
        timeout=120,
        what="the worker to send ten reminders",
    )
    assert DunningRun.objects.count() == 1
    assert DunningStep.objects.filter(level=LevelCode.REMINDER).count() == 10
    assert Communication.objects.count() == 10
    ids = message_ids(outbox)
    assert sorted(ids) == sorted(c.email_message_id for c in Communication.objects.all())
