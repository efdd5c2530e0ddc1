"""What autovacuum would have done by now, done on a server where it is off.

This machine's PostgreSQL runs without autovacuum, so the bench does its work when a
production server would have: after the runs, and between the first day and the next.
Only the tables autovacuum would pick, by its own rule: a table is vacuumed once its
dead rows pass `threshold + scale_factor * rows` (or its rows inserted since the last
vacuum pass the insert threshold), and analyzed once its rows changed since the last
analyze pass the analyze threshold; a table's storage parameters override the server's
settings. Vacuuming everything instead would hide what the thresholds decide: with the
defaults the invoices of a 1M book are not vacuumed after a first run, and the pages
read them through index-only scans that fetch the heap.
"""

from collections.abc import Iterable
from dataclasses import dataclass

SETTINGS = (
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
)

TABLE_ACTIVITY = """
SELECT c.relname, c.reltuples, coalesce(c.reloptions, '{}'), s.n_dead_tup,
       s.n_ins_since_vacuum, s.n_mod_since_analyze
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema()
ORDER BY c.relname
"""


@dataclass(frozen=True)
class TableActivity:
    name: str
    rows: float  # pg_class.reltuples: -1 before the first vacuum or analyze
    options: dict[str, str]
    dead: int
    inserted: int
    modified: int

    @classmethod
    def from_row(cls, name, rows, reloptions, dead, inserted, modified) -> "TableActivity":
        """From a row of `TABLE_ACTIVITY`."""
        return cls(name, rows, storage_options(reloptions), dead, inserted, modified)


@dataclass(frozen=True)
class Work:
    table: str
    vacuum: bool
    analyze: bool

    @property
    def sql(self) -> str:
        verbs = ["VACUUM"] * self.vacuum + ["ANALYZE"] * self.analyze
        return f'{" ".join(verbs)} "{self.table}"'


def storage_options(reloptions: Iterable[str]) -> dict[str, str]:
    """`{'autovacuum_vacuum_threshold=1000'}` as `{'autovacuum_vacuum_threshold': '1000'}`."""
    return dict(option.split("=", 1) for option in reloptions)


def _threshold(table: TableActivity, server: dict[str, str], kind: str) -> float:
    """Autovacuum's trigger for one kind of work: the table's parameters, else the server's."""
    base, scale = (
        float(table.options.get(name) or server[name])
        for name in (f"autovacuum_{kind}_threshold", f"autovacuum_{kind}_scale_factor")
    )
    if base < 0:  # -1 turns the insert threshold off
        return float("inf")
    return base + scale * max(table.rows, 0)


def autovacuum_work(tables: Iterable[TableActivity], server: dict[str, str]) -> list[Work]:
    """The tables autovacuum would vacuum or analyze now, by its thresholds."""
    work = []
    for table in tables:
        if table.options.get("autovacuum_enabled", "on").lower() in ("false", "off", "0"):
            continue
        dead = table.dead > _threshold(table, server, "vacuum")
        inserted = table.inserted > _threshold(table, server, "vacuum_insert")
        vacuum = dead or inserted
        analyze = table.modified > _threshold(table, server, "analyze")
        if vacuum or analyze:
            work.append(Work(table=table.name, vacuum=vacuum, analyze=analyze))
    return work


def catch_up(cursor) -> list[Work]:
    """Do on this connection what autovacuum would have done; say what."""
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in SETTINGS))
    server = dict(zip(SETTINGS, cursor.fetchone(), strict=True))
    cursor.execute(TABLE_ACTIVITY)
    tables = [TableActivity.from_row(*row) for row in cursor.fetchall()]
    work = autovacuum_work(tables, server)
    for item in work:
        cursor.execute(item.sql)
    return work
