"""`SetStorageParameters`: a table's storage parameters on PostgreSQL, nothing elsewhere."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.state import ProjectState

from core.db.operations import SetStorageParameters
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


def _invoice_options() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = %s::regclass",
            ["receivables_invoice"],
        )
        (options,) = cursor.fetchone()
    return dict(option.split("=", 1) for option in options)


def _apply(operation: SetStorageParameters, *, backwards: bool = False) -> None:
    state = ProjectState.from_apps(apps)
    with connection.schema_editor() as editor:
        apply = operation.database_backwards if backwards else operation.database_forwards
        apply("receivables", editor, state, state)


def test_the_invoices_are_vacuumed_after_a_few_thousand_changes():
    require_postgres("reads the table's storage parameters from pg_class")
    migration = import_module("receivables.migrations.0014_invoice_autovacuum").Migration
    (operation,) = migration.operations
    assert _invoice_options() == {name: str(value) for name, value in operation.parameters.items()}
    assert float(_invoice_options()["autovacuum_vacuum_scale_factor"]) < 0.2  # the default


def test_parameters_are_set_and_reset_on_postgresql():
    require_postgres("reads the table's storage parameters from pg_class")
    operation = SetStorageParameters("invoice", {"autovacuum_vacuum_threshold": 1234})
    _apply(operation)
    assert _invoice_options()["autovacuum_vacuum_threshold"] == "1234"
    _apply(operation, backwards=True)
    assert "autovacuum_vacuum_threshold" not in _invoice_options()
    assert "autovacuum_vacuum_scale_factor" in _invoice_options()  # the others stay


def test_postgresql_alone_gets_an_alter_table():
    operation = SetStorageParameters(
        "invoice", {"autovacuum_vacuum_threshold": 1234, "autovacuum_vacuum_scale_factor": 0.01}
    )
    state = ProjectState.from_apps(apps)
    # Collecting, not executing: SQLite's schema editor is not entered in a transaction.
    forwards = connection.schema_editor(collect_sql=True)
    operation.database_forwards("receivables", forwards, state, state)
    backwards = connection.schema_editor(collect_sql=True)
    operation.database_backwards("receivables", backwards, state, state)
    if connection.vendor == "postgresql":
        assert forwards.collected_sql == [
            'ALTER TABLE "receivables_invoice" SET (autovacuum_vacuum_threshold = 1234, '
            "autovacuum_vacuum_scale_factor = 0.01);"
        ]
        assert backwards.collected_sql == [
            'ALTER TABLE "receivables_invoice" RESET (autovacuum_vacuum_threshold, '
            "autovacuum_vacuum_scale_factor);"
        ]
    else:  # SQLite has no storage parameters
        assert forwards.collected_sql == backwards.collected_sql == []


@pytest.mark.parametrize(
    "parameters",
    [{"fillfactor = 10); DROP TABLE x; --": 1}, {"fillfactor": "10"}, {"Fillfactor": 10}],
)
def test_only_plain_names_and_numbers_are_taken(parameters):
    with pytest.raises(ValueError, match="not a storage parameter"):
        SetStorageParameters("invoice", parameters)
