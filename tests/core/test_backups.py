"""Backups of a live database: another process keeps recording payments while
`backup_database` runs; the backup restores into a fresh database whose ageing
reconciles to the cent with the payments it holds, which are exactly the first
ones the writer committed (a consistent snapshot, nothing torn)."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.core.backup_writer import INVOICE_AMOUNT, INVOICES, PAYMENT_AMOUNT
from tests.services import ROOT, require_postgres

AS_OF = "2026-06-30"
# Payments committed before the backup starts, and again after it ended.
BEFORE, AFTER = 20, 20


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "true"}


def _run(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    finished = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_env(url), capture_output=True, text=True
    )
    if ok:
        assert finished.returncode == 0, finished.stderr
    return finished


def manage(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    return _run(url, "manage.py", *args, ok=ok)


def writer(url: str, *args: str) -> str:
    return _run(url, "-m", "tests.core.backup_writer", *args).stdout


def _wait_for(progress: Path, count: int, process: subprocess.Popen) -> int:
    """Wait until the writer has committed `count` payments; return how many it has."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        committed = len(progress.read_text().split())
        if committed >= count:
            return committed
        assert process.poll() is None, "the writer stopped early"
        time.sleep(0.05)
    raise AssertionError(f"the writer committed fewer than {count} payments in 2 minutes")


def backup_while_writing(*, source: str, restored: str, backup: Path, tmp_path: Path) -> int:
    """Seed the source, back it up while payments go on, restore; return how many payments
    the restored database holds, after checking it against its ageing."""
    writer(source, "seed")
    stop = tmp_path / "stop"
    progress = tmp_path / "progress"
    with progress.open("w") as out, (tmp_path / "writer.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.core.backup_writer", "write", str(stop)],
            cwd=ROOT,
            env=_env(source),
            stdout=out,
            stderr=log,
        )
        try:
            _wait_for(progress, BEFORE, process)
            assert manage(source, "backup_database", "--output", str(backup)).stdout.strip() == (
                str(backup)
            )
            # The writer prints each payment once committed: all but at most one of those
            # in the backup are counted already. Wait for more, so the source goes on
            # past the backup.
            _wait_for(progress, len(progress.read_text().split()) + AFTER, process)
        finally:
            stop.touch()
            process.wait(timeout=120)
    assert process.returncode == 0, (tmp_path / "writer.log").read_text()
    written = len(json.loads(writer(source, "summary"))["references"])

    manage(restored, "restore_database", "--input", str(backup))

    summary = json.loads(writer(restored, "summary"))
    kept = len(summary["references"])
    # A consistent snapshot: the first `kept` payments, whole, and none after them.
    assert summary["references"] == [f"P-{number:05d}" for number in range(1, kept + 1)]
    assert BEFORE <= kept <= written - AFTER + 1
    paid = kept * PAYMENT_AMOUNT
    assert summary["payments"] == summary["allocated"] == f"{paid:.2f}"
    assert summary["invoiced"] == f"{INVOICES * INVOICE_AMOUNT:.2f}"
    assert summary["outstanding"] == f"{INVOICES * INVOICE_AMOUNT - paid:.2f}"
    ageing = json.loads(
        manage(restored, "aging_report", "--as-of", AS_OF, "--format", "json").stdout
    )
    assert ageing["totals"]["total"] == summary["outstanding"]
    assert sum(Decimal(ageing["totals"][key]) for key in ageing["totals"] if key != "total") == (
        INVOICES * INVOICE_AMOUNT - paid
    )
    return kept


# Transactional: the SQLite test database is copied from its connection, which must not
# be inside the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_of_a_live_wal_database_restores_reconciled_to_the_cent(tmp_path):
    source_file = tmp_path / "live.sqlite3"
    source = f"sqlite:///{source_file}"
    if connection.vendor == "sqlite":
        # The test database is migrated already: start from a copy of it.
        connection.ensure_connection()
        with sqlite3.connect(source_file) as copy:
            connection.connection.backup(copy)
        copy.close()
    else:
        manage(source, "migrate", "--noinput", "-v", "0")
    restored_file = tmp_path / "restored.sqlite3"
    restored = f"sqlite:///{restored_file}"
    backup = tmp_path / "backups" / "live.sqlite3"

    kept = backup_while_writing(source=source, restored=restored, backup=backup, tmp_path=tmp_path)

    # The source was written in WAL mode; the backup is one self-contained file.
    with sqlite3.connect(source_file) as live:
        assert live.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    live.close()
    assert not Path(f"{backup}-wal").exists()
    # A restore never overwrites data unless asked to.
    refused = manage(restored, "restore_database", "--input", str(backup), ok=False)
    assert refused.returncode == 1
    assert "holds data; restore into an empty database or pass --replace" in refused.stderr
    manage(restored, "restore_database", "--input", str(backup), "--replace")
    assert len(json.loads(writer(restored, "summary"))["references"]) == kept
    # A backup never overwrites a file either.
    again = manage(source, "backup_database", "--output", str(backup), ok=False)
    assert "exists already" in again.stderr


def _postgres_url(name: str) -> str:
    settings = connection.settings_dict
    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{name}"


@pytest.mark.django_db(transaction=True)
def test_postgres_backup_of_a_live_database_restores_reconciled_to_the_cent(tmp_path):
    require_postgres("needs PostgreSQL (pg_dump and pg_restore of a live database)")
    restored_name = f"{connection.settings_dict['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}"')
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
    try:
        backup_while_writing(
            source=_postgres_url(connection.settings_dict["NAME"]),
            restored=_postgres_url(restored_name),
            backup=tmp_path / "live.dump",
            tmp_path=tmp_path,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
