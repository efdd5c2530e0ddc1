"""Migration operations for what Django's schema has no words for."""

import re

from django.db import migrations


class SetStorageParameters(migrations.operations.base.Operation):
    """`ALTER TABLE … SET (name = value, …)` on PostgreSQL; nothing on other databases.

    For a table's autovacuum thresholds: PostgreSQL's defaults wait for a fifth of a table
    to change, which on a large table that is updated in place every day (the invoices)
    is never, and its index-only scans turn into heap fetches meanwhile. Backwards, the
    parameters are `RESET` to the server's defaults.
    """

    def __init__(self, model_name: str, parameters: dict[str, int | float]):
        for name, value in parameters.items():
            if not re.fullmatch(r"[a-z_]+", name) or not isinstance(value, int | float):
                raise ValueError(f"not a storage parameter: {name!r} = {value!r}")
        self.model_name = model_name
        self.parameters = parameters

    def state_forwards(self, app_label, state):
        pass  # storage only: the models do not change

    def _table(self, app_label, schema_editor, state):
        model = state.apps.get_model(app_label, self.model_name)
        return schema_editor.quote_name(model._meta.db_table)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        settings = ", ".join(f"{name} = {value!r}" for name, value in self.parameters.items())
        schema_editor.execute(
            f"ALTER TABLE {self._table(app_label, schema_editor, to_state)} SET ({settings})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        names = ", ".join(self.parameters)
        schema_editor.execute(
            f"ALTER TABLE {self._table(app_label, schema_editor, to_state)} RESET ({names})"
        )

    def describe(self):
        return f"Set storage parameters of {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"{self.model_name.lower()}_storage_parameters"
