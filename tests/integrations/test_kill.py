"""At least once for real: a Celery worker SIGKILLed mid-delivery loses no webhook event."""

import os

import pytest

from bench.webhooks import run
from tests.dunning.processes import test_database_url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres("worker processes share the test database"),
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_killed_mid_delivery_loses_no_event():
    # Given subscribers, one slow and one failing, and a worker that dies a third of the way
    result = run(
        database_url=test_database_url(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"),
        events=200,
        subscribers=4,
        slow=1,
        failing=1,
        slow_seconds=0.2,
        workers=2,
        kill=True,
        sweep_seconds=2,
        timeout=240,
    )

    # Then every healthy subscriber got every event, some perhaps twice (they dedupe on the id)
    assert result.killed
    assert result.complete, result
    assert result.lost == 0
    assert set(result.per_subscriber.values()) == {200}
    assert result.failing_disabled
