"""The PostgreSQL backend's array dumper writes what psycopg's own writes, only faster."""

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListBinaryDumper, ListDumper
from psycopg.types.json import Jsonb

from core.db.postgresql.base import ArrayTextDumper
from dunning.models import CaseEvent
from tests.factories.customers import CustomerFactory
from tests.services import require_postgres

# Text that needs quoting and escaping in an array: quotes, backslashes, braces,
# the delimiter, white space (Unicode's too), the word NULL, the empty string.
awkward = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "{", "}", ",", " ", "\t", "\u3000", "\u2028", "a", "\u56de"]
    )
) | st.sampled_from(["", "NULL", "null", "plain"])
elements = awkward | st.none()
lists = st.lists(elements, max_size=8) | st.lists(
    st.lists(awkward, min_size=2, max_size=2), min_size=1, max_size=3
)


def _dumped(dumper_class: type[ListDumper], value: list) -> bytes:
    dumper = dumper_class(list, Transformer()).upgrade(value, PyFormat.AUTO)
    return bytes(dumper.dump(value))


@given(lists)
def test_text_arrays_are_dumped_as_psycopg_dumps_them(value):
    assert _dumped(ArrayTextDumper, value) == _dumped(ListDumper, value)


@given(st.lists(st.dictionaries(awkward, awkward | st.integers()), min_size=1, max_size=5))
def test_json_arrays_are_dumped_as_psycopg_dumps_them(documents):
    value = [Jsonb(document) for document in documents]
    assert _dumped(ArrayTextDumper, value) == _dumped(ListDumper, value)


@pytest.mark.django_db
def test_a_bulk_insert_of_awkward_text_and_json_reads_back_unchanged():
    """Through Django's `bulk_create` (one array per column on PostgreSQL) and back."""
    customer = CustomerFactory()
    data = [
        {"items": ['INV-"1"', "C:\\path\\", "{a,b}", "NULL", "", " \u3000"], "n": 1},
        {"note": '回款 "quoted" \\ back', "nested": {"list": [None, True, 1.5]}},
        {},
    ]
    texts = ['say "hi", {now}', "", "NULL"]
    CaseEvent.objects.bulk_create(
        CaseEvent(
            customer=customer, kind=CaseEvent.Kind.COMMUNICATION_QUEUED, text=text, data=document
        )
        for text, document in zip(texts, data, strict=True)
    )
    stored = list(
        CaseEvent.objects.filter(customer=customer).order_by("pk").values_list("text", "data")
    )
    assert stored == list(zip(texts, data, strict=True))


@pytest.mark.django_db
def test_on_postgresql_parameters_take_the_binary_dumper_and_literals_the_fast_text_one():
    require_postgres("needs PostgreSQL (psycopg's dumpers)")
    connection.ensure_connection()
    adapters = connection.connection.adapters
    assert issubclass(adapters.get_dumper(list, PyFormat.AUTO), ListBinaryDumper)
    assert adapters.get_dumper(list, PyFormat.TEXT) is ArrayTextDumper
