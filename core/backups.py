"""Back up and restore the database of `DATABASE_URL`, while the application runs.

- PostgreSQL: `pg_dump --format=custom`, one consistent snapshot taken while
  others write; restored with `pg_restore` in a single transaction, so a
  restore that fails leaves the target as it was.
- SQLite: the sqlite3 online backup API, never a file copy. With WAL (the
  embedded default) a copy of the main file misses what is still in the
  `-wal` file and can be torn mid-write; the backup API copies one consistent
  snapshot, and writers go on meanwhile. The backup is a single file in
  rollback-journal mode, checked with `PRAGMA integrity_check`.

A backup is written beside its final name and renamed once complete, so a
crash never leaves a half backup under a real name. The connection settings
come from `settings.DATABASES["default"]` (that is, `DATABASE_URL`); the
PostgreSQL password goes to the tools through the environment, never the
command line.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
EXTENSIONS = {SQLITE: "sqlite3", POSTGRESQL: "dump"}
# How long SQLite waits for a writer's lock before giving up (seconds).
SQLITE_TIMEOUT = 60


class BackupError(Exception):
    """A backup or restore could not be made; the message says why."""


def _database() -> dict:
    return settings.DATABASES["default"]


def database_vendor() -> str:
    """Return "sqlite" or "postgresql", the vendor of the default database."""
    engine = _database()["ENGINE"]
    if engine.endswith("sqlite3"):
        return SQLITE
    if engine.endswith("postgresql"):
        return POSTGRESQL
    raise BackupError(f"backups support SQLite and PostgreSQL, not {engine}")


def backup_default_path(*, directory: Path) -> Path:
    """Return a new backup file name in the directory: vendor and UTC time."""
    vendor = database_vendor()
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return directory / f"huikuan-{vendor}-{stamp}.{EXTENSIONS[vendor]}"


def _pg_env() -> dict[str, str]:
    database = _database()
    env = {**os.environ, "PGDATABASE": str(database["NAME"])}
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if database.get(key):
            env[variable] = str(database[key])
    sslmode = database.get("OPTIONS", {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return env


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    finished = subprocess.run(command, env=_pg_env(), capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} failed: {finished.stderr.strip()}")


def _sqlite_path() -> Path:
    name = str(_database()["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(name)


def _sqlite_copy(*, source: Path, target: Path) -> None:
    """Copy one consistent snapshot of `source` into `target` with the backup API."""
    with (
        sqlite3.connect(source, timeout=SQLITE_TIMEOUT) as reader,
        sqlite3.connect(target, timeout=SQLITE_TIMEOUT) as writer,
    ):
        # All pages in one step: the reader holds one read transaction (a WAL
        # snapshot) for the whole copy, so writes made meanwhile are either all
        # in the copy or not at all.
        reader.backup(writer, pages=-1)
    # The `with` blocks commit but do not close.
    reader.close()
    writer.close()


def _sqlite_check(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{path} is not a sound SQLite database: {result}")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database: {error}") from None
    finally:
        connection.close()


def database_backup(*, path: Path) -> Path:
    """Back up the default database into `path` (a new file) while others go on writing."""
    vendor = database_vendor()
    if path.exists():
        raise BackupError(f"{path} exists already; a backup never overwrites one")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if vendor == SQLITE:
            source = _sqlite_path()
            if not source.is_file():
                raise BackupError(f"no SQLite database at {source}")
            _sqlite_copy(source=source, target=partial)
            connection = sqlite3.connect(partial)
            try:
                # One self-contained file, whatever mode the source was in.
                connection.execute("PRAGMA journal_mode=DELETE")
            finally:
                connection.close()
            _sqlite_check(partial)
        else:
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"]
            )
            # Readable to the end, or it is no backup.
            _run(["pg_restore", "--list", str(partial)])
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _postgres_is_empty() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        tables = cursor.fetchone()[0]
    connections["default"].close()
    return tables == 0


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    connection = sqlite3.connect(path, timeout=SQLITE_TIMEOUT)
    try:
        return not connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
    finally:
        connection.close()


def database_restore(*, path: Path, replace: bool = False) -> None:
    """Restore a backup into the default database: empty, or replaced when `replace`.

    Stop the web app and the workers first: what they write during a restore is lost.
    """
    vendor = database_vendor()
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    if vendor == SQLITE:
        target = _sqlite_path()
        _sqlite_check(path)
        if not replace and not _sqlite_is_empty(target):
            raise BackupError(
                f"{target} holds data; restore into an empty database or pass --replace"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Page by page into the live file, under its locks, WAL and all: never a
        # file copy over a database another connection may have open.
        _sqlite_copy(source=path, target=target)
        _sqlite_check(target)
        return
    empty = _postgres_is_empty()
    if not replace and not empty:
        raise BackupError(
            f"database {_database()['NAME']} holds data; restore into an empty database "
            "or pass --replace"
        )
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *([] if empty else ["--clean", "--if-exists"]),
            f"--dbname={_database()['NAME']}",
            str(path),
        ]
    )
