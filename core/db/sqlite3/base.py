"""The SQLite backend with the parameter limit of the SQLite it runs on.

Django 5.2 still assumes SQLite's old limit of 999 bound parameters per
statement, so a `bulk_create` of a few dozen wide rows is split into several
INSERTs. SQLite 3.32 and later bind up to 32,766; reading the real limit keeps
the set-based writes (the daily run's chunk) one statement each, as on
PostgreSQL. Settings select this backend for every SQLite database.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features

# Python 3.11 exposes the compiled limit only on a connection; ask a throwaway one.
_probe = sqlite3.connect(":memory:")
MAX_QUERY_PARAMS = _probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
_probe.close()


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_QUERY_PARAMS


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
