"""The PostgreSQL backend with a faster text dumper for the arrays of `bulk_create`.

Django 5.2 inserts many rows at once as one array per column (`INSERT … SELECT *
FROM UNNEST(%s::jsonb[], …)`), and psycopg dumps those lists in text format.
Its dumper escapes each quoted element with `re.sub` and a replacement template,
which costs about 15 µs per JSON document: 0.6 s for the 40,000 timeline rows
and tasks of the first daily run's chunks, more than the database spends
writing them. `bytes.replace` gives the same bytes some 30 times faster.
`tests/core/test_array_dumper.py` checks the output against psycopg's own
dumper. Settings select this backend for every PostgreSQL database.

With server-side binding (the settings' default) the arrays go as parameters, and
psycopg's binary list dumper, registered last so that `%s` takes it, sends each
element as its bytes with a length: no quoting or escaping at all (3 to 5 times faster than
the text dumper for text, numbers and dates; the same for JSON, which is mostly
`json.dumps`). The text dumper stays for statements with the parameters quoted
into their text (`DJANGO_DB_SERVER_SIDE_BINDING=False`, `mogrify`).
"""

import re
from functools import cache

from django.db.backends.postgresql import base
from psycopg.adapt import PyFormat
from psycopg.types.array import ListBinaryDumper, ListDumper


@cache
def _needs_quotes(delimiter: bytes) -> re.Pattern[bytes]:
    """When PostgreSQL's array input needs an element quoted (psycopg's rule): empty, the
    word NULL, a delimiter, brace, quote, backslash or white space, including the Unicode
    spaces some servers strip."""
    return re.compile(
        rb"""(?xi)
          ^$
        | ["{}%s\\\s]
        | ^null$
        | \xe1\x9a\x80
        | \xe2\x80[\x80-\x8a\xa8\xa9\xaf]
        | \xe2\x81\x9f
        | \xe3\x80\x80
        """
        % re.escape(delimiter)
    )


class ArrayTextDumper(ListDumper):
    """psycopg's text `ListDumper`, with the quoted elements escaped by `bytes.replace`."""

    def dump(self, obj: list) -> bytes:
        tokens: list[bytes] = []
        self._tokens(obj, tokens, _needs_quotes(bytes(self.delimiter)).search)
        return b"".join(tokens)

    def _tokens(self, obj: list, tokens: list[bytes], needs_quotes) -> None:
        if not obj:
            tokens.append(b"{}")
            return
        dump = self.sub_dumper.dump if self.sub_dumper else self._text_dump
        delimiter = bytes(self.delimiter)
        tokens.append(b"{")
        for item in obj:
            if item is None:
                tokens.append(b"NULL")
            elif isinstance(item, list):
                self._tokens(item, tokens, needs_quotes)
            elif (dumped := dump(item)) is None:
                tokens.append(b"NULL")
            else:
                dumped = bytes(dumped)
                if needs_quotes(dumped):
                    escaped = dumped.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                    dumped = b'"' + escaped + b'"'
                tokens.append(dumped)
            tokens.append(delimiter)
        tokens[-1] = b"}"

    def _text_dump(self, item: object) -> bytes | None:
        return self._tx.get_dumper(item, PyFormat.TEXT).dump(item)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.adapters.register_dumper(list, ArrayTextDumper)
        # Registered last, psycopg's binary dumper takes the `%s` parameters.
        connection.adapters.register_dumper(list, ListBinaryDumper)
        return connection
