"""The bench does autovacuum's work by autovacuum's rule, the tables' parameters first."""

from importlib import import_module

import pytest
from django.db import connection

from bench.autovacuum import TableActivity, Work, autovacuum_work, catch_up
from tests.services import require_postgres

# PostgreSQL 15's defaults.
SERVER = {
    "autovacuum_vacuum_threshold": "50",
    "autovacuum_vacuum_scale_factor": "0.2",
    "autovacuum_vacuum_insert_threshold": "1000",
    "autovacuum_vacuum_insert_scale_factor": "0.2",
    "autovacuum_analyze_threshold": "50",
    "autovacuum_analyze_scale_factor": "0.1",
}


def table(name="t", *, rows=1_000_000.0, options=(), dead=0, inserted=0, modified=0):
    return TableActivity.from_row(name, rows, options, dead, inserted, modified)


def invoice_options() -> list[str]:
    migration = import_module("receivables.migrations.0014_invoice_autovacuum").Migration
    (operation,) = migration.operations
    return [f"{name}={value}" for name, value in operation.parameters.items()]


def test_a_first_run_leaves_the_invoices_unvacuumed_by_the_defaults():
    first_run = table("receivables_invoice", dead=76_319, modified=76_319)
    assert autovacuum_work([first_run], SERVER) == []


def test_the_invoices_own_thresholds_vacuum_and_analyze_them_after_a_first_run():
    first_run = table(
        "receivables_invoice", options=invoice_options(), dead=76_319, modified=76_319
    )
    assert autovacuum_work([first_run], SERVER) == [Work("receivables_invoice", True, True)]


def test_an_ordinary_day_of_a_few_thousand_changes_waits_for_the_next():
    day = table("receivables_invoice", options=invoice_options(), dead=3_000, modified=3_000)
    assert autovacuum_work([day], SERVER) == []


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        # 50 + 0.2 x 1,000 = 250 dead rows; 50 + 0.1 x 1,000 = 150 changed rows.
        ({"dead": 250, "modified": 150}, []),
        ({"dead": 251}, [Work("t", True, False)]),
        ({"modified": 151}, [Work("t", False, True)]),
        # 1,000 + 0.2 x 1,000 inserted since the last vacuum.
        ({"inserted": 1_201, "modified": 151}, [Work("t", True, True)]),
    ],
)
def test_the_server_thresholds_grow_with_the_table(activity, expected):
    assert autovacuum_work([table(rows=1_000, **activity)], SERVER) == expected


def test_a_table_never_vacuumed_counts_as_empty():
    assert autovacuum_work([table(rows=-1, dead=51)], SERVER) == [Work("t", True, False)]


def test_a_table_with_autovacuum_off_is_left_alone():
    off = table(options=["autovacuum_enabled=false"], dead=10**7, modified=10**7)
    assert autovacuum_work([off], SERVER) == []


def test_an_insert_threshold_of_minus_one_turns_inserts_off():
    server = {**SERVER, "autovacuum_vacuum_insert_threshold": "-1"}
    assert autovacuum_work([table(rows=0, inserted=10**7)], server) == []


def test_the_work_reads_as_sql():
    assert Work("receivables_invoice", True, True).sql == 'VACUUM ANALYZE "receivables_invoice"'
    assert Work("t", True, False).sql == 'VACUUM "t"'
    assert Work("t", False, True).sql == 'ANALYZE "t"'


@pytest.mark.django_db(transaction=True)
def test_catching_up_on_the_server_vacuums_what_it_names():
    require_postgres("reads pg_stat_user_tables and vacuums")
    with connection.cursor() as cursor:
        work = catch_up(cursor)
        again = catch_up(cursor)
    assert all(isinstance(item, Work) for item in work)
    # What it vacuumed and analyzed is below the thresholds now.
    assert not {item.table for item in work} & {item.table for item in again}
