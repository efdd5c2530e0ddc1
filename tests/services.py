"""Real services some tests need: skipped with a reason on a developer's machine
without them, failed in CI (`CI` set), where they must run."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run it")
    pytest.skip(message)


def require_postgres(
    reason: str = "needs PostgreSQL (row locks, SKIP LOCKED, concurrent writers)",
) -> None:
    """Go on only when the test database is PostgreSQL."""
    if connection.vendor != "postgresql":
        _missing(f"{reason}: run with DATABASE_URL=postgres://...")


def require_redis() -> str:
    """Return REDIS_URL (default the local server) once Redis answers there."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        _missing(f"Redis does not answer at {url}")
    return url


@contextmanager
def celery_worker(
    *, redis_url: str, queue: str, env: dict[str, str], pool: tuple[str, ...] = ("--pool=solo",)
) -> Iterator[tuple[Celery, subprocess.Popen]]:
    """Run `celery worker` on a private queue (also its default queue, so the tasks it
    fans out come back to it); yield a client and the process, stop it afterwards.

    Its output goes to a file, not a pipe: a pipe nobody reads until the end
    fills up (64 KiB of log lines) and the worker then blocks on its next log line.
    """
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                *pool,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                f"--queues={queue}",
                f"--hostname={queue}@%h",
            ],
            cwd=ROOT,
            env={
                **env,
                "CELERY_BROKER_URL": redis_url,
                "CELERY_RESULT_BACKEND": redis_url,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "CELERY_TASK_DEFAULT_QUEUE": queue,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Not the current app: shared tasks would follow it and stop running eagerly in the
        # tests that come after this one (their .get() then waits for a worker forever).
        client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        client.conf.task_serializer = "json"
        try:
            yield client, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.seek(0)
            print(log.read()[-20000:])  # noqa: T201 - shown by pytest only when a test fails
