"""The bench's generated book: consistent money, every ageing bucket, the shape the issue asks."""

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from bench import book as book_module
from bench.book import Size, build, fingerprint, parse_size
from bench.measure import percentile
from contracts.models import AgreementInstalment, SupplementaryAgreement
from dunning.models import Dispute, PromiseToPay
from receivables.models import CreditNote, Customer, Invoice, PaymentAllocation
from tests.services import require_postgres

ANCHOR = date(2026, 6, 30)


def test_sizes_read_as_invoice_counts():
    assert parse_size("10k") == Size(label="10k", invoices=10_000)
    assert parse_size("1M").invoices == 1_000_000
    assert parse_size("2500").invoices == 2_500
    assert parse_size("1m").customers == 20_000
    assert parse_size("10k").customers == 200


def test_a_book_is_rebuilt_when_its_size_changes():
    assert fingerprint(parse_size("10k")) == fingerprint(parse_size("10k"))
    assert fingerprint(parse_size("10k")) != fingerprint(parse_size("100k"))


def test_a_book_is_rebuilt_when_a_migration_is_added_or_edited(tmp_path, monkeypatch):
    monkeypatch.setattr(book_module, "ROOT", tmp_path)
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_initial.py").write_text("operations = []\n")
    size = parse_size("10k")
    first = fingerprint(size)
    assert fingerprint(size) == first
    (migrations / "0001_initial.py").write_text("operations = [AddIndex()]\n")
    edited = fingerprint(size)
    assert edited != first
    (migrations / "0002_more.py").write_text("operations = []\n")
    assert fingerprint(size) not in (first, edited)


def test_percentile_is_the_nearest_rank():
    samples = [float(n) for n in range(1, 21)]
    assert percentile(samples, 95) == 19.0
    assert percentile(samples, 50) == 10.0
    assert percentile([3.0], 95) == 3.0


@pytest.fixture
def book(db):
    require_postgres("the book is built with PostgreSQL's generate_series and hash functions")
    build(parse_size("2000"), anchor=ANCHOR, progress=lambda message: None, analyze=False)


def test_fifteen_percent_of_the_invoices_are_open_for_fifty_reps(book):
    assert Invoice.objects.count() == 2_000
    assert Invoice.objects.filter(status=Invoice.Status.OPEN).count() == 300
    assert Customer.objects.values("sales_rep").distinct().count() == 50
    largest = Invoice.objects.values("customer").annotate(n=Count("pk")).order_by("-n").first()
    assert largest["n"] > 2_000 / 200 * 5  # skewed: one customer much larger than the mean


def test_outstanding_is_amount_less_allocations_and_credit_notes(book):
    for invoice in Invoice.objects.all():
        allocated = PaymentAllocation.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))
        credited = CreditNote.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))
        expected = invoice.amount - (allocated["s"] or 0) - (credited["s"] or 0)
        assert invoice.outstanding == expected, invoice.number
        assert (invoice.status == Invoice.Status.PAID) == (invoice.outstanding == 0)
        assert invoice.issue_date <= ANCHOR


def test_every_ageing_bucket_has_open_money(book):
    out = io.StringIO()
    call_command("aging_report", as_of=ANCHOR.isoformat(), format="json", stdout=out)
    totals = json.loads(out.getvalue())["totals"]
    for bucket in ("current", "1-30", "31-60", "61-90", "90+"):
        assert Decimal(totals[bucket]) > 0, bucket
    open_total = Invoice.objects.filter(status=Invoice.Status.OPEN).aggregate(s=Sum("outstanding"))
    assert Decimal(totals["total"]) == open_total["s"]


def test_disputes_promises_and_agreements_cover_a_few_percent_of_overdue_items(book):
    overdue = Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=ANCHOR).count()
    for model in (Dispute, PromiseToPay, SupplementaryAgreement):
        assert 0 < model.objects.count() < overdue * 0.1, model.__name__
    for agreement in SupplementaryAgreement.objects.prefetch_related("invoices"):
        (invoice,) = agreement.invoices.all()
        scheduled = AgreementInstalment.objects.filter(agreement=agreement).aggregate(
            s=Sum("amount")
        )
        assert scheduled["s"] == invoice.outstanding


def test_the_runs_bare_reference_writes_what_the_run_writes(book):
    """`bare.RUN_WRITES` is the floor of the run's own writes: the same messages, tasks,
    cases and timeline rows, up to the instalments it leaves out (a few percent)."""
    from django.db import connection, transaction

    from bench import bare
    from bench.measure import context
    from dunning.calendar import pre_due_last_due_date
    from dunning.models import CaseEvent, CollectionCase, CollectionTask, Communication
    from dunning.services.run import run_dunning

    ctx = context()
    params = {
        "as_of": ANCHOR,
        "policy": ctx.policy_id,
        "pre_due_last": pre_due_last_due_date(as_of=ANCHOR, working_days=ctx.pre_due_days),
        "batch": "00000000-0000-0000-0000-000000000001",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in [bare.RUN_STEPS, bare.RUN_INSERT, *bare.RUN_WRITES]:
            cursor.execute(sql, params)
        cursor.execute(
            "SELECT (SELECT count(*) FROM bench_messages), (SELECT count(*) FROM bench_tasks),"
            " (SELECT count(*) FROM bench_cases), (SELECT count(*) FROM dunning_caseevent),"
            " (SELECT count(*) FROM receivables_invoice WHERE dunning_rung > 0)"
        )
        bare_counts = cursor.fetchone()
        transaction.set_rollback(True)

    run_dunning(as_of=ANCHOR)
    run_counts = (
        Communication.objects.count(),
        CollectionTask.objects.count(),
        CollectionCase.objects.count(),
        CaseEvent.objects.count(),
        Invoice.objects.filter(dunning_rung__gt=0).count(),
    )
    assert all(count > 0 for count in bare_counts), bare_counts
    for written, expected in zip(bare_counts, run_counts, strict=True):
        assert expected * 0.9 <= written <= expected, (bare_counts, run_counts)
