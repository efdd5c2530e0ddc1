"""`any_of` finds what `in` finds, with the values as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import AgreementInstalment
from receivables.models import Customer, Invoice
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


def _same_rows(queryset_in, queryset_any) -> list[int]:
    found = sorted(queryset_any.values_list("pk", flat=True))
    assert found == sorted(queryset_in.values_list("pk", flat=True))
    return found


def test_any_of_finds_what_in_finds_on_keys_foreign_keys_and_joins():
    customers = CustomerFactory.create_batch(4)
    invoices = [InvoiceFactory(customer=customer) for customer in customers for _ in range(2)]
    wanted = [customers[0].pk, customers[2].pk]

    assert _same_rows(
        Customer.objects.filter(pk__in=wanted), Customer.objects.filter(pk__any_of=wanted)
    ) == sorted(wanted)
    expected = sorted(invoice.pk for invoice in invoices if invoice.customer_id in wanted)
    for lookup in ("customer_id", "customer", "customer__pk"):
        assert (
            _same_rows(
                Invoice.objects.filter(**{f"{lookup}__in": wanted}),
                Invoice.objects.filter(**{f"{lookup}__any_of": wanted}),
            )
            == expected
        )
    _same_rows(
        AgreementInstalment.objects.filter(agreement__customer_id__in=wanted),
        AgreementInstalment.objects.filter(agreement__customer_id__any_of=wanted),
    )


def test_any_of_ignores_none_and_repeats_and_matches_nothing_when_empty(
    django_assert_num_queries,
):
    customer = CustomerFactory()
    CustomerFactory()
    assert list(
        Customer.objects.filter(pk__any_of={customer.pk, None}).values_list("pk", flat=True)
    ) == [customer.pk]
    assert Customer.objects.filter(pk__any_of=[customer.pk, customer.pk]).count() == 1
    with django_assert_num_queries(0):
        assert list(Customer.objects.filter(pk__any_of=[])) == []
    assert Customer.objects.exclude(pk__any_of=[customer.pk]).count() == 1


def test_on_postgresql_the_values_are_one_parameter():
    require_postgres("needs PostgreSQL (elsewhere any_of is in)")
    customers = CustomerFactory.create_batch(3)
    ids = [customer.pk for customer in customers]
    queryset = Customer.objects.filter(pk__any_of=ids)
    sql, params = queryset.query.sql_with_params()
    assert "= ANY(%s)" in sql
    assert list(params) == [ids]
    with CaptureQueriesContext(connection) as captured:
        assert queryset.count() == 3
    assert "ANY(" in captured.captured_queries[0]["sql"]
