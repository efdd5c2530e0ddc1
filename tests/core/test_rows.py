"""`rows_insert` writes what `bulk_create` writes, on either database."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db.models.signals import pre_init
from django.utils import timezone

from core.db.rows import rows_insert
from dunning.models import CaseEvent, Communication
from tests.factories.cases import CollectionCaseFactory
from tests.factories.customers import CustomerFactory
from tests.services import require_postgres

pytestmark = pytest.mark.django_db

EVENT_COLUMNS = ("customer_id", "case_id", "kind", "text", "data")
DOCUMENTS = [
    {"items": ['INV-"1"', "C:\\path\\", "{a,b}", "NULL", "", " \u3000"], "n": 1},
    {"note": '回款 "quoted" \\ back\nline', "nested": {"list": [None, True, 1.5]}},
    {},
]
TEXTS = ['say "hi", {now}', "", "NULL"]


def _stored(model, pks: list[int]) -> list[dict]:
    """The rows as stored, without what differs between two writes (keys, times, uuids)."""
    varying = {"id", "created_at", "updated_at", "message_id"}
    rows = {row["id"]: row for row in model.objects.filter(pk__in=pks).values()}
    return [{k: v for k, v in rows[pk].items() if k not in varying} for pk in pks]


def test_rows_are_stored_as_bulk_create_stores_them():
    customer = CustomerFactory()
    case = CollectionCaseFactory(customer=customer)
    kinds = [CaseEvent.Kind.COMMUNICATION_QUEUED, CaseEvent.Kind.NOTE, "task_created"]
    rows = [
        (customer.pk, case_id, kind, text, document)
        for case_id, kind, text, document in zip(
            [case.pk, None, case.pk], kinds, TEXTS, DOCUMENTS, strict=True
        )
    ]
    before = timezone.now()

    written = rows_insert(CaseEvent, EVENT_COLUMNS, rows)
    created = CaseEvent.objects.bulk_create(
        CaseEvent(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows
    )

    assert len(written) == 3
    assert written == sorted(written)
    assert _stored(CaseEvent, written) == _stored(CaseEvent, [event.pk for event in created])
    assert [event.data for event in CaseEvent.objects.filter(pk__in=written).order_by("pk")] == (
        DOCUMENTS
    )
    assert all(
        before <= event.created_at <= timezone.now()
        for event in CaseEvent.objects.filter(pk__in=written)
    )


def test_columns_not_given_take_their_defaults_and_each_row_its_own_uuid():
    customer = CustomerFactory()
    columns = ("business_date", "customer_id", "level", "currency", "total_amount")
    row = (date(2026, 12, 2), customer.pk, "reminder", "CNY", Decimal("1234.56"))

    (first, _second) = rows_insert(Communication, columns, [row, row])
    (reference,) = Communication.objects.bulk_create(
        [Communication(**dict(zip(columns, row, strict=True)))]
    )

    assert _stored(Communication, [first]) == _stored(Communication, [reference.pk])
    stored = Communication.objects.get(pk=first)
    assert stored.channels == []
    assert stored.status == Communication.Status.PENDING
    assert stored.total_amount == Decimal("1234.56")
    assert stored.letter_pdf.name == ""
    assert stored.created_at is not None
    assert stored.updated_at is not None
    uuids = set(Communication.objects.values_list("message_id", flat=True))
    assert len(uuids) == 3
    assert all(isinstance(value, uuid.UUID) for value in uuids)


def test_keys_come_back_in_the_order_of_the_rows():
    customer = CustomerFactory()
    kinds = [CaseEvent.Kind.NOTE, CaseEvent.Kind.CASE_OPENED, CaseEvent.Kind.NOTE] * 5
    rows = [(customer.pk, None, kind, "", {"n": n}) for n, kind in enumerate(kinds)]

    written = rows_insert(CaseEvent, EVENT_COLUMNS, rows)

    stored = dict(CaseEvent.objects.filter(pk__in=written).values_list("pk", "data"))
    assert [stored[pk]["n"] for pk in written] == list(range(len(rows)))


def test_nothing_to_write_asks_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert rows_insert(CaseEvent, EVENT_COLUMNS, []) == []


def test_on_postgresql_many_rows_are_one_statement_and_no_instance(django_assert_num_queries):
    require_postgres("the rows are written without instances on PostgreSQL only")
    customer = CustomerFactory()
    rows = [(customer.pk, None, CaseEvent.Kind.NOTE, "", {"n": n}) for n in range(500)]
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    pre_init.connect(count, sender=CaseEvent)
    try:
        with django_assert_num_queries(1):
            rows_insert(CaseEvent, EVENT_COLUMNS, rows)
    finally:
        pre_init.disconnect(count, sender=CaseEvent)

    assert built == []
    assert CaseEvent.objects.filter(customer=customer).count() == 500


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (("customer_id", "kind", "colour"), "not the columns of CaseEvent"),
        (("customer_id", "kind", "kind"), "not the columns of CaseEvent"),
        (("customer", "kind", "data"), "not the columns of CaseEvent"),
    ],
)
def test_columns_must_be_the_models_own_once_each(columns, message):
    with pytest.raises(ValueError, match=message):
        rows_insert(CaseEvent, columns, [(1, "note", {})])


def test_a_row_of_the_wrong_length_is_refused_before_anything_is_written():
    customer = CustomerFactory()
    rows = [(customer.pk, None, CaseEvent.Kind.NOTE, "", {}), (customer.pk, None)]
    with pytest.raises(ValueError, match="each row needs 5 values"):
        rows_insert(CaseEvent, EVENT_COLUMNS, rows)
    assert not CaseEvent.objects.exists()
