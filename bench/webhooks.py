"""Webhook fan-out under load, with real Celery workers and a worker SIGKILLed mid-delivery.

    python -m bench.webhooks [--events 1000] [--subscribers 10] [--slow 2] [--failing 1]
                             [--slow-seconds 0.3] [--workers 4] [--no-kill]

Writes the events as committed outbox rows on PostgreSQL (`BENCH_DATABASE_URL`,
default postgres://postgres@127.0.0.1:5432/huikuan_hooks_bench, created and
migrated if missing), starts a prefork Celery worker on Redis
(`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/6, a private queue) and a
local receiver per subscriber (slow ones answer after `--slow-seconds`, the
failing one answers 500), and plays beat itself: the sweep every 5 seconds. Unless
`--no-kill`, once a third of the deliveries are in, the worker and its pool are
SIGKILLed and a new worker starts (its boot counts). It reports the time from
the events' commit, once the first worker answers a ping (its boot is
`boot_seconds`, apart), until every healthy subscriber had every event, the
duplicates (at least once), that none was lost, and a timeline of deliveries
in every 5 seconds.
"""

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/huikuan_hooks_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/6"


@dataclass
class Result:
    events: int
    subscribers: int
    slow: int
    failing: int
    killed: bool
    seconds: float = 0.0
    complete: bool = False
    lost: int = 0
    duplicates: int = 0
    failing_disabled: bool = False
    # CPU seconds the workers and this process (the receivers) used: on a loaded machine
    # the wall time measures the neighbours as much as the code.
    cpu_workers: float = 0.0
    cpu_receivers: float = 0.0
    load_average: float = 0.0
    per_subscriber: dict[str, int] = field(default_factory=dict)
    # Where the time goes: (seconds, deliveries in) every few seconds, and when the kill came.
    killed_at: float | None = None
    boot_seconds: float = 0.0
    timeline: list[tuple[float, int]] = field(default_factory=list)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _worker(
    *, database_url: str, redis_url: str, queue: str, workers: int, log
) -> subprocess.Popen:
    hostname = f"{queue}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--concurrency={workers}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            f"--queues={queue}",
            f"--hostname={hostname}",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "WEBHOOK_LEASE_SECONDS": "9",
            "WEBHOOK_RETRY_BASE_SECONDS": "2",
            "DJANGO_LOG_LEVEL": "WARNING",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.hostname = hostname
    return process


def _wait_ready(client, process: subprocess.Popen, *, timeout: float) -> float:
    """Wait until the worker answers a ping; the seconds it took to boot."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited while starting")
        if client.control.ping(destination=[process.hostname], timeout=1.0):
            return round(time.monotonic() - started, 1)
    raise RuntimeError(f"the Celery worker did not answer within {timeout:g} s")


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool at once, as a machine that dies."""
    children = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    for child in children:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    process.wait(timeout=30)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _kill(process)


def run(
    *,
    database_url: str,
    redis_url: str,
    events: int = 1000,
    subscribers: int = 10,
    slow: int = 2,
    failing: int = 1,
    slow_seconds: float = 0.3,
    workers: int = 4,
    kill: bool = True,
    sweep_seconds: float = 5,
    timeout: float = 180,
) -> Result:
    """Measure one fan-out (Django is set up on `database_url`, migrated)."""
    from celery import Celery

    from core.domain_events import EventType
    from integrations.models import OutboundEvent, WebhookDelivery, WebhookSubscription
    from integrations.signing import webhook_secret_new
    from tests.integrations.fake_servers import fake_server

    queue = f"bench-hooks-{uuid.uuid4().hex[:8]}"
    result = Result(
        events=events, subscribers=subscribers, slow=slow, failing=failing, killed=False
    )
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    with fake_server() as fake, tempfile.TemporaryFile() as log:
        paths = {}
        for index in range(subscribers):
            if index < failing:
                kind, options = "failing", {"status": 500}
            elif index < failing + slow:
                kind, options = "slow", {"delay": slow_seconds}
            else:
                kind, options = "fast", {}
            path = f"/{kind}-{index}"
            subscription = WebhookSubscription.objects.create(
                name=path,
                url=fake.route(path, kind="webhook", **options),
                event_types=[EventType.PAYMENT_RECORDED],
                secret=webhook_secret_new(),
            )
            fake.routes[path].secret = subscription.secret
            paths[path] = subscription
        healthy = [path for path in paths if not path.startswith("/failing")]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = (children.ru_utime + children.ru_stime, me.ru_utime + me.ru_stime)
        process = _worker(
            database_url=database_url, redis_url=redis_url, queue=queue, workers=workers, log=log
        )
        try:
            # A running system has its workers up when the events come: the clock starts once
            # the first one answers (its boot is reported apart). The worker started after the
            # kill boots inside the measurement, as after a machine that dies.
            result.boot_seconds = _wait_ready(client, process, timeout=timeout)
            started = time.monotonic()
            rows = OutboundEvent.objects.bulk_create(
                OutboundEvent(type=EventType.PAYMENT_RECORDED, params={"n": n})
                for n in range(events)
            )
            expected = {str(row.event_id) for row in rows}
            killed_once = not kill
            last_sweep = 0.0
            while time.monotonic() - started < timeout:
                if time.monotonic() - last_sweep >= sweep_seconds:
                    client.send_task("integrations.tasks.integrations_sweep_task", queue=queue)
                    last_sweep = time.monotonic()
                time.sleep(0.5)
                with fake.lock:
                    done = sum(len(set(fake.ids.get(path, ())) & expected) for path in healthy)
                now = round(time.monotonic() - started, 1)
                if not result.timeline or now - result.timeline[-1][0] >= 5:
                    result.timeline.append((now, done))
                if not killed_once and done >= len(healthy) * events / 3:
                    _kill(process)
                    result.killed = True
                    result.killed_at = round(time.monotonic() - started, 1)
                    killed_once = True
                    process = _worker(
                        database_url=database_url,
                        redis_url=redis_url,
                        queue=queue,
                        workers=workers,
                        log=log,
                    )
                if done == len(healthy) * events:
                    result.complete = True
                    break
            result.seconds = round(time.monotonic() - started, 1)
        finally:
            _stop(process)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        result.cpu_workers = round(children.ru_utime + children.ru_stime - cpu_before[0], 1)
        result.cpu_receivers = round(me.ru_utime + me.ru_stime - cpu_before[1], 1)
        result.load_average = round(os.getloadavg()[0], 1)
        for path in healthy:
            ids = list(fake.ids.get(path, ()))
            result.per_subscriber[path] = len(set(ids) & expected)
            result.lost += len(expected - set(ids))
            result.duplicates += len(ids) - len(set(ids))
        result.failing_disabled = all(
            not WebhookSubscription.objects.get(pk=paths[path].pk).is_active
            for path in paths
            if path.startswith("/failing")
        )
        # Leave the database as found for the next round
        WebhookDelivery.objects.filter(event__in=rows).delete()
        OutboundEvent.objects.filter(pk__in=[row.pk for row in rows]).delete()
        WebhookSubscription.objects.filter(pk__in=[s.pk for s in paths.values()]).delete()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--slow", type=int, default=2)
    parser.add_argument("--failing", type=int, default=1)
    parser.add_argument("--slow-seconds", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _ensure_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = run(
        database_url=database_url,
        redis_url=redis_url,
        events=args.events,
        subscribers=args.subscribers,
        slow=args.slow,
        failing=args.failing,
        slow_seconds=args.slow_seconds,
        workers=args.workers,
        kill=not args.no_kill,
    )
    print(json.dumps(asdict(result), indent=2))
    sys.exit(0 if result.complete and not result.lost else 1)


def _ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
