"""Benchmarks on realistic volumes, reported as ratios against bare SQL.

    python -m bench ageing --invoices 1000000 [--repeat 5]

Runs against PostgreSQL (`BENCH_DATABASE_URL`, default a `huikuan_bench`
database on 127.0.0.1, created if missing). The book is kept between runs and
rebuilt only when its size changes.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import psycopg

BATCH = 10_000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/huikuan_bench"


def _prepare_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    samples = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


BARE_AGEING_SQL = """
WITH paid AS (
    SELECT a.invoice_id, sum(a.amount) AS amount
    FROM receivables_paymentallocation a
    JOIN receivables_payment p ON p.id = a.payment_id
    WHERE p.status = 'posted' AND p.payment_date <= %(as_of)s
    GROUP BY a.invoice_id
), credited AS (
    SELECT invoice_id, sum(amount) AS amount FROM receivables_creditnote
    WHERE issue_date <= %(as_of)s GROUP BY invoice_id
), open AS (
    SELECT i.customer_id, i.due_date,
           i.amount - COALESCE(paid.amount, 0) - COALESCE(credited.amount, 0) AS amount
    FROM receivables_invoice i
    LEFT JOIN paid ON paid.invoice_id = i.id
    LEFT JOIN credited ON credited.invoice_id = i.id
    WHERE i.issue_date <= %(as_of)s AND i.currency = 'CNY' AND i.status <> 'cancelled'
)
SELECT c.code, c.name,
       sum(amount) FILTER (WHERE due_date >= %(as_of)s),
       sum(amount) FILTER (WHERE due_date < %(as_of)s AND due_date >= %(as_of)s - 30),
       sum(amount) FILTER (WHERE due_date < %(as_of)s - 30 AND due_date >= %(as_of)s - 60),
       sum(amount) FILTER (WHERE due_date < %(as_of)s - 60 AND due_date >= %(as_of)s - 90),
       sum(amount) FILTER (WHERE due_date < %(as_of)s - 90),
       sum(amount)
FROM open JOIN receivables_customer c ON c.id = open.customer_id
GROUP BY c.id HAVING sum(amount) >= 0.005 ORDER BY c.code
"""


def _load_book(*, invoices: int, customers: int) -> None:
    """A book of `invoices` invoices over 400 days of issue dates; every other one half paid.

    Built with the ORM's bulk_create, so the book follows the models as they change.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from receivables.models import (
        CreditNote,
        Customer,
        Invoice,
        Payment,
        PaymentAllocation,
    )

    print(f"loading {invoices:,} invoices for {customers:,} customers ...", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        for model in (PaymentAllocation, Payment, CreditNote, Invoice, Customer):
            model.objects.all()._raw_delete(model.objects.db)
        rep, _ = get_user_model().objects.get_or_create(username="bench-rep")
        Customer.objects.bulk_create(
            Customer(code=f"B-{n:07d}", name=f"Bench customer {n}", sales_rep=rep, is_new=False)
            for n in range(customers)
        )
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    end = date(2026, 6, 30).toordinal()
    for batch_start in range(0, invoices, BATCH):
        with transaction.atomic():
            batch = []
            for n in range(batch_start, min(invoices, batch_start + BATCH)):
                issued = date.fromordinal(end - n % 400)
                amount = Decimal(1000 + n % 9000) + Decimal("0.37")
                batch.append(
                    Invoice(
                        number=f"BI-{n:08d}",
                        customer_id=customer_ids[n % customers],
                        issue_date=issued,
                        due_date=date.fromordinal(issued.toordinal() + 30),
                        amount=amount,
                        outstanding=amount,
                        currency="CNY",
                    )
                )
            created = Invoice.objects.bulk_create(batch)
            paid = [invoice for invoice in created if invoice.pk % 2 == 0]
            payments = Payment.objects.bulk_create(
                Payment(
                    customer_id=invoice.customer_id,
                    payment_date=date.fromordinal(invoice.issue_date.toordinal() + 20),
                    amount=invoice.amount / 2,
                    currency="CNY",
                    reference=f"BP-{invoice.pk}",
                )
                for invoice in paid
            )
            PaymentAllocation.objects.bulk_create(
                PaymentAllocation(payment=payment, invoice=invoice, amount=payment.amount)
                for payment, invoice in zip(payments, paid, strict=True)
            )
            for invoice in paid:
                invoice.outstanding = invoice.amount - invoice.amount / 2
            Invoice.objects.bulk_update(paid, ["outstanding"])
        done = min(invoices, batch_start + BATCH)
        print(f"  {done:>10,} / {invoices:,} invoices", end="\r", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"\n  loaded in {time.perf_counter() - started:.1f} s", flush=True)


def bench_ageing(*, invoices: int, repeat: int, url: str) -> None:
    from django.db import connection

    from receivables.models import Invoice
    from receivables.selectors.ageing import ageing_report

    customers = max(1, invoices // 50)
    if Invoice.objects.count() != invoices:
        _load_book(invoices=invoices, customers=customers)

    as_of = date(2026, 6, 30)

    def orm() -> int:
        return len(ageing_report(as_of=as_of, currency="CNY").customers)

    def bare() -> int:
        with connection.cursor() as cursor:
            cursor.execute(BARE_AGEING_SQL, {"as_of": as_of})
            return len(cursor.fetchall())

    print(f"ageing as of {as_of}, {invoices:,} invoices, median of {repeat} runs", flush=True)
    bare_seconds, bare_rows = _timed(bare, repeat)
    orm_seconds, orm_rows = _timed(orm, repeat)
    if bare_rows != orm_rows:
        sys.exit(f"row counts differ: selector {orm_rows}, bare SQL {bare_rows}")
    print(f"  bare SQL        {bare_seconds * 1000:9.1f} ms  ({bare_rows:,} customers)")
    print(f"  ageing_report   {orm_seconds * 1000:9.1f} ms")
    print(f"  ratio           {orm_seconds / bare_seconds:9.2f} x bare SQL")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ageing = commands.add_parser("ageing", help="ageing report against the same bare SQL")
    ageing.add_argument("--invoices", type=int, default=100_000)
    ageing.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _prepare_database(url)
    _setup_django(url)
    if arguments.command == "ageing":
        bench_ageing(invoices=arguments.invoices, repeat=arguments.repeat, url=url)


if __name__ == "__main__":
    main()
