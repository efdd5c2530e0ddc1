"""Real services some tests need: skipped with a reason on a developer's machine
without them, failed in CI (`CI` set), where they must run."""

import os

import pytest
import redis
from django.db import connection


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
