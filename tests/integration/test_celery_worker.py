"""A real task crosses Redis to a real Celery worker process that the test starts."""

import os
import uuid

import pytest
from django.db import connection

from tests.services import celery_worker, require_redis

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.fixture(scope="module")
def redis_url():
    return require_redis()


@pytest.fixture(scope="module")
def worker(redis_url, django_db_setup):
    """Start `celery worker` on a queue of its own; stop it after the module.

    On PostgreSQL the worker uses the test database (never the development
    one), and the private queue is its default queue too, so tasks it fans
    out come back to it.
    """
    queue = f"test-{uuid.uuid4().hex}"
    env = dict(os.environ)
    if connection.vendor == "postgresql":
        from tests.dunning.processes import test_database_url

        env["DATABASE_URL"] = test_database_url()
    with celery_worker(redis_url=redis_url, queue=queue, env=env) as (client, process):
        yield client, queue, process


def test_task_crosses_redis_to_a_worker_process(worker):
    client, queue, process = worker
    token = uuid.uuid4().hex

    result = client.send_task("core.tasks.worker_ping", args=[token], queue=queue)
    answer = result.get(timeout=60)

    assert answer["token"] == token
    assert answer["pid"] == process.pid
    assert answer["pid"] != os.getpid()


@pytest.mark.postgres("the worker cannot share SQLite's in-memory test database")
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_scheduled_dunning_task(worker):
    # The task reads and writes the database the worker shares with the test.
    client, queue, _ = worker

    result = client.send_task(
        "dunning.tasks.dunning_run_task", kwargs={"as_of": "2026-06-16"}, queue=queue
    )

    assert result.get(timeout=60)["as_of"] == "2026-06-16"
