"""Generated books on PostgreSQL, built set-based and kept between runs.

Each size has a database of its own (`huikuan_bench_10k`, ...). Its comment
holds the fingerprint it was built with (bench book version, size, the
migrations on disk); a book whose fingerprint differs is rebuilt. Measurements
never touch the book: they run on a fresh copy (`CREATE DATABASE … TEMPLATE`).

Everything is one `INSERT … SELECT … generate_series` per table. Rows are
spread by a hash of their number, so a book is the same every time it is
built, relative to the day it was built (its anchor).
"""

import hashlib
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

# Bump when the shape of the generated data changes.
BOOK_VERSION = "4"  # 4: month-end snapshots taken, as after `snapshot_receivables`
REPS = 50
MANAGERS = 5
FINANCE = 5
BENCH_PASSWORD = "bench-password"  # generated users, throw-away database
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    label: str
    invoices: int
    # The books' names start with the database name of BENCH_DATABASE_URL, so two
    # benches on one server (two worktrees) never share a book or a copy.
    prefix: str = "huikuan_bench"

    @property
    def customers(self) -> int:
        # 20,000 customers at a million invoices, the book; 50 invoices each.
        return max(200, self.invoices // 50)

    @property
    def book_name(self) -> str:
        return f"{self.prefix}_{self.label}"

    @property
    def work_name(self) -> str:
        return f"{self.prefix}_{self.label}_work"


def parse_size(text: str, *, url: str | None = None) -> Size:
    """`10k`, `100k`, `1m` or a plain number of invoices; `url`: the bench server."""
    label = text.strip().lower()
    multiplier = {"k": 1_000, "m": 1_000_000}.get(label[-1:], 1)
    digits = label[:-1] if multiplier > 1 else label
    prefix = url.rsplit("/", 1)[-1] if url else "huikuan_bench"
    return Size(label=label, invoices=int(digits) * multiplier, prefix=prefix)


def fingerprint(size: Size) -> str:
    """What a built book depends on: its version, its size and every migration on disk,
    by name and contents (a migration edited in place changes the schema too)."""
    migrations = sorted(
        f"{path.relative_to(ROOT)} {hashlib.sha256(path.read_bytes()).hexdigest()}"
        for path in ROOT.glob("*/migrations/0*.py")
        if ".venv" not in path.parts
    )
    digest = hashlib.sha256("\n".join([BOOK_VERSION, str(size.invoices), *migrations]).encode())
    return digest.hexdigest()[:16]


def server_url(base_url: str, name: str) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + name


def admin_connect(base_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url(base_url, "postgres"), autocommit=True)


def book_comment(base_url: str, name: str) -> str | None:
    with admin_connect(base_url) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return None if row is None else (row[0] or "")


def book_is_current(base_url: str, size: Size) -> bool:
    comment = book_comment(base_url, size.book_name)
    return bool(comment) and comment.split(" ")[0] == fingerprint(size)


def book_anchor(base_url: str, size: Size) -> date:
    """The day the book was built for; its due dates are spread around it."""
    comment = book_comment(base_url, size.book_name) or ""
    return date.fromisoformat(comment.split(" ")[1])


def drop_database(base_url: str, name: str) -> None:
    with admin_connect(base_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(base_url: str, name: str, *, template: str | None = None) -> None:
    drop_database(base_url, name)
    with admin_connect(base_url) as connection:
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(f'CREATE DATABASE "{name}"{suffix}')


def mark_built(base_url: str, size: Size, *, anchor: date) -> None:
    with admin_connect(base_url) as connection:
        comment = f"{fingerprint(size)} {anchor.isoformat()}"
        connection.execute(f"COMMENT ON DATABASE \"{size.book_name}\" IS '{comment}'")


# --- Building, inside a Django process connected to the book's database --------


def _column_defaults(model, given: set[str]) -> tuple[list[str], list[str], list[object]]:
    """Columns the generator leaves out, filled the way the model would fill them.

    So a field another branch adds (with a default, or nullable) does not break
    the book; a field the bench cannot fill stops the build with its name.
    """
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expression, value = "now()", None
        elif field.null and not field.has_default():
            continue
        elif field.has_default() or field.empty_strings_allowed:
            expression = "%s"
            value = field.get_db_prep_save(field.get_default(), connection)
        else:
            raise RuntimeError(
                f"bench/book.py does not know how to fill {model.__name__}.{field.name}"
            )
        columns.append(field.column)
        expressions.append(expression)
        if expression == "%s":
            params.append(value)
    return columns, expressions, params


def insert_select(model, columns: dict[str, str], source: str, params: dict | None = None) -> int:
    """INSERT INTO the model's table the given column expressions FROM source; return the rows."""
    from django.db import connection

    extra_columns, extra_expressions, extra_params = _column_defaults(model, set(columns))
    names = [*columns, *extra_columns]
    # Django's cursor takes either positional or named parameters; name the defaults.
    named = dict(params or {})
    expressions = list(columns.values())
    for position, expression in enumerate(extra_expressions):
        if expression == "%s":
            key = f"default_{position}"
            named[key] = extra_params.pop(0)
            expression = f"%({key})s"
        expressions.append(expression)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) "
        f"SELECT {', '.join(expressions)} FROM {source}"
    )
    # The generator writes SQL's modulo as ` % `; parameters are named, so double it.
    sql = sql.replace(" % ", " %% ")
    with connection.cursor() as cursor:
        cursor.execute(sql, named)
        return cursor.rowcount


# A uniform number in [0, 1) from a row number and a salt: the same every build.
def uniform(expression: str, salt: int) -> str:
    value = f"abs(hashint8extended(({expression})::bigint, {salt})::numeric)"
    return f"least({value} / 9223372036854775808, 0.999999)"


def build(size: Size, *, anchor: date, progress, analyze: bool = True) -> None:
    """Fill the migrated, empty book database (the Django default connection)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from contracts.models import AgreementInstalment, SupplementaryAgreement
    from dunning.models import Dispute, PromiseToPay
    from receivables.models import (
        Contact,
        CreditNote,
        Customer,
        Invoice,
        Payment,
        PaymentAllocation,
    )

    n, customers = size.invoices, size.customers
    params = {"n": n, "customers": customers, "anchor": anchor}
    started = time.perf_counter()

    def step(label: str, rows: int) -> None:
        progress(f"  {label:<28} {rows:>12,} rows  {time.perf_counter() - started:7.1f} s")

    User = get_user_model()
    password = make_password(BENCH_PASSWORD)
    with transaction.atomic():
        groups = {group.name: group for group in Group.objects.all()}
        roles = [("sales_rep", REPS), ("manager", MANAGERS), ("finance", FINANCE)]
        users = User.objects.bulk_create(
            User(
                username=f"bench-{role.replace('_', '')}{number}",
                first_name=role.replace("_", " ").title(),
                last_name=str(number),
                email=f"bench-{role.replace('_', '')}{number}@example.com",
                password=password,
            )
            for role, count in roles
            for number in range(1, count + 1)
        )
        roles_of_users = [role for role, count in roles for _ in range(count)]
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=user.pk, group_id=groups[role].pk)
            for user, role in zip(users, roles_of_users, strict=True)
        )
        rep_ids = [user.pk for user in users[:REPS]]
        step("users", len(users))

    with transaction.atomic():
        # Customer k belongs to rep k mod 50; 1 % are on credit hold.
        rep_array = "ARRAY[" + ",".join(str(pk) for pk in rep_ids) + "]"
        rows = insert_select(
            Customer,
            {
                "id": "g",
                "code": "'BC-' || lpad(g::text, 6, '0')",
                "name": "'Bench customer ' || g",
                "industry": "'Manufacturing'",
                "currency": "'CNY'",
                "language": "'zh-hans'",
                "credit_limit": "5000000",
                "payment_terms_days": "30",
                "credit_status": "CASE WHEN g % 100 = 7 THEN 'on_hold' ELSE 'active' END",
                "is_new": "false",
                "sales_rep_id": f"({rep_array})[1 + g % {len(rep_ids)}]",
            },
            "generate_series(1, %(customers)s::int) AS g",
            params,
        )
        step("customers", rows)
        rows = insert_select(
            Contact,
            {
                "customer_id": "g",
                "name": "'Finance ' || g",
                "role": "'finance'",
                "email": "'finance' || g || '@customer.example.com'",
                "phone": "'+86 21 5555 ' || lpad(g::text, 4, '0')",
            },
            "generate_series(1, %(customers)s::int) AS g",
            params,
        )
        step("finance contacts", rows)

    # Invoices. Invoice g is open when g % 20 < 3 (15 %). Open ones are spread
    # over the ageing buckets by days past due; the rest were issued over the
    # last two years and paid. Customers are skewed: customer 1 is the largest.
    dpd = (
        "CASE WHEN u < 0.45 THEN -1 - floor(u / 0.45 * 29)::int"  # not due, up to 29 days ahead
        " WHEN u < 0.65 THEN 1 + floor((u - 0.45) / 0.20 * 30)::int"  # 1-30
        " WHEN u < 0.77 THEN 31 + floor((u - 0.65) / 0.12 * 30)::int"  # 31-60
        " WHEN u < 0.85 THEN 61 + floor((u - 0.77) / 0.08 * 30)::int"  # 61-90
        " ELSE 91 + floor((u - 0.85) / 0.15 * 640)::int END"  # 90+, up to ~two years
    )
    with transaction.atomic():
        source = f"""(
            SELECT g, g % 20 < 3 AS is_open,
                   1 + floor({customers} * power({uniform("g", 1)}, 2))::int AS customer_id,
                   (ARRAY[30, 30, 45, 60, 90])[1 + g % 5] AS terms,
                   {uniform("g", 2)} AS u,
                   {uniform("g", 3)} AS v,
                   (500 + floor({uniform("g", 4)} * 199500))::numeric + (g % 100) / 100.0 AS amount
            FROM generate_series(1, %(n)s::int) AS g
        ) AS base,
        LATERAL (SELECT CASE WHEN is_open THEN %(anchor)s::date - ({dpd})
                             ELSE %(anchor)s::date - 30 - floor(v * 700)::int + terms END
                        AS due_date) AS due"""
        rows = insert_select(
            Invoice,
            {
                "id": "g",
                "number": "'BI-' || lpad(g::text, 8, '0')",
                "customer_id": "customer_id",
                "issue_date": "due_date - terms",
                "due_date": "due_date",
                "amount": "amount",
                "outstanding": "CASE WHEN is_open THEN amount ELSE 0 END",
                "currency": "'CNY'",
                "status": "CASE WHEN is_open THEN 'open' ELSE 'paid' END",
                "delivery_method": "'courier'",
                "tracking_number": "CASE WHEN g % 10 = 9 THEN '' ELSE 'SF' || g END",
                "delivered_at": "CASE WHEN g % 10 = 9 THEN NULL"
                " ELSE (due_date - terms + 2)::timestamp AT TIME ZONE 'Asia/Shanghai' END",
                "receipt_confirmed_by": "CASE WHEN g % 10 >= 8 THEN '' ELSE 'Receiving desk' END",
                "receipt_confirmed_at": "CASE WHEN g % 10 >= 8 THEN NULL"
                " ELSE (due_date - terms + 4)::timestamp AT TIME ZONE 'Asia/Shanghai' END",
                "created_at": "(due_date - terms)::timestamp AT TIME ZONE 'Asia/Shanghai'",
            },
            source,
            params,
        )
        step("invoices", rows)

        # One payment per paid invoice, in full, between issue and 60 days after due,
        # before the anchor; a third of the open ones are half paid.
        rows = insert_select(
            Payment,
            {
                "id": "i.id",
                "customer_id": "i.customer_id",
                "payment_date": "i.issue_date + ((i.id * 7919) % greatest(1, "
                "least(i.due_date - i.issue_date + 60, %(anchor)s::date - i.issue_date)))::int",
                "amount": "CASE WHEN i.status = 'paid' THEN i.amount"
                " ELSE round(i.amount / 2, 2) END",
                # Each is allocated whole to its invoice (the next step).
                "allocated_amount": "CASE WHEN i.status = 'paid' THEN i.amount"
                " ELSE round(i.amount / 2, 2) END",
                "currency": "i.currency",
                "reference": "'BP-' || i.id",
                "status": "'posted'",
                "created_at": "now()",
            },
            "receivables_invoice i WHERE i.status = 'paid' OR i.id % 20 = 1",
            params,
        )
        step("payments", rows)
        rows = insert_select(
            PaymentAllocation,
            {"id": "p.id", "payment_id": "p.id", "invoice_id": "p.id", "amount": "p.amount"},
            "receivables_payment p",
            params,
        )
        step("allocations", rows)
        # Customer credit: every 50th customer has a payment not yet allocated.
        rows = insert_select(
            Payment,
            {
                "id": "%(n)s + g",
                "customer_id": "g",
                "payment_date": "%(anchor)s::date - 1 - g % 20",
                "amount": "1000 + g % 1000",
                "allocated_amount": "0",
                "currency": "'CNY'",
                "reference": "'BU-' || g",
                "status": "'posted'",
                "created_at": "now()",
            },
            "generate_series(1, %(customers)s::int) AS g WHERE g % 50 = 3",
            params,
        )
        step("unallocated payments", rows)
        # Credit notes on about 2 % of the open invoices, a tenth of the amount.
        rows = insert_select(
            CreditNote,
            {
                "invoice_id": "i.id",
                "number": "'BCN-' || i.id",
                "issue_date": "greatest(i.issue_date, %(anchor)s::date - 5)",
                "amount": "round(i.amount / 10, 2)",
                "reason": "'Price adjustment'",
                "created_at": "now()",
            },
            "receivables_invoice i WHERE i.status = 'open' AND i.id % 300 = 40",
            params,
        )
        step("credit notes", rows)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE receivables_invoice i
                SET outstanding = i.amount - settled.amount
                FROM (
                    SELECT invoice_id, sum(amount) AS amount FROM (
                        SELECT invoice_id, amount FROM receivables_paymentallocation
                        UNION ALL SELECT invoice_id, amount FROM receivables_creditnote
                    ) AS rows GROUP BY invoice_id
                ) AS settled
                WHERE settled.invoice_id = i.id AND i.status = 'open'
                """
            )
            step("outstanding", cursor.rowcount)

        # Disputes (2 %, a third of them resolved), promises (4 %) and agreements
        # (2 %, a quarter still proposed) of the overdue open invoices, on disjoint ones.
        overdue = "receivables_invoice i WHERE i.status = 'open' AND i.due_date < %(anchor)s"
        rows = insert_select(
            Dispute,
            {
                "id": "i.id",
                "customer_id": "i.customer_id",
                "status": "CASE WHEN (i.id / 300) % 3 = 0 THEN 'valid' ELSE 'open' END",
                "reason": "'Goods damaged in transit'",
                "opened_on": "least(%(anchor)s::date, i.due_date + 5)",
                "resolved_at": "CASE WHEN (i.id / 300) % 3 = 0 THEN now() END",
                "created_at": "now()",
            },
            f"{overdue} AND i.id % 300 = 1",
            params,
        )
        insert_select(
            Dispute.invoices.through,
            {"dispute_id": "d.id", "invoice_id": "d.id"},
            "dunning_dispute d",
        )
        step("disputes", rows)
        rows = insert_select(
            PromiseToPay,
            {
                "id": "i.id",
                "customer_id": "i.customer_id",
                "amount": "i.outstanding",
                "currency": "i.currency",
                "promised_date": "%(anchor)s::date - 10 + (i.id % 25)::int",
                "status": "'open'",
                "note": "'Promised on the phone'",
                "created_at": "now()",
            },
            f"{overdue} AND i.id % 300 IN (21, 41) AND i.outstanding > 0",
            params,
        )
        insert_select(
            PromiseToPay.invoices.through,
            {"promisetopay_id": "p.id", "invoice_id": "p.id"},
            "dunning_promisetopay p",
        )
        step("promises", rows)
        manager = users[REPS].pk
        rows = insert_select(
            SupplementaryAgreement,
            {
                "id": "i.id",
                "customer_id": "i.customer_id",
                "number": "'BSA-' || i.id",
                "kind": "'instalment_plan'",
                "status": "CASE WHEN i.id % 1200 = 2 THEN 'proposed' ELSE 'approved' END",
                "reason": "'Cash-flow trouble'",
                "decided_at": "CASE WHEN i.id % 1200 = 2 THEN NULL ELSE now() END",
                "decided_by_id": f"CASE WHEN i.id % 1200 = 2 THEN NULL ELSE {manager} END",
                "created_at": "now()",
            },
            f"{overdue} AND i.id % 300 = 2 AND i.outstanding >= 3",
            params,
        )
        insert_select(
            SupplementaryAgreement.invoices.through,
            {"supplementaryagreement_id": "a.id", "invoice_id": "a.id"},
            "contracts_supplementaryagreement a",
        )
        # Three instalments: a month ago, in ten days, in forty; the last one takes the cents.
        rows_instalments = insert_select(
            AgreementInstalment,
            {
                "agreement_id": "a.id",
                "sequence": "s",
                "due_date": "%(anchor)s::date + (ARRAY[-30, 10, 40])[s]",
                "amount": "CASE WHEN s < 3 THEN round(i.outstanding / 3, 2)"
                " ELSE i.outstanding - 2 * round(i.outstanding / 3, 2) END",
                # Nothing paid since the plan: each instalment still asks for all of it.
                "outstanding": "CASE WHEN s < 3 THEN round(i.outstanding / 3, 2)"
                " ELSE i.outstanding - 2 * round(i.outstanding / 3, 2) END",
                "currency": "i.currency",
            },
            "contracts_supplementaryagreement a JOIN receivables_invoice i ON i.id = a.id"
            " CROSS JOIN generate_series(1, 3) AS s",
            params,
        )
        step("agreements", rows)
        step("instalments", rows_instalments)

        with connection.cursor() as cursor:
            for model in (
                Customer,
                Contact,
                Invoice,
                Payment,
                PaymentAllocation,
                CreditNote,
                Dispute,
                PromiseToPay,
                SupplementaryAgreement,
                AgreementInstalment,
            ):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
    if analyze:  # not inside a transaction (tests build inside one)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        step("vacuum analyze", 0)


def working_day_after(day: date, *, country: str) -> date:
    import holidays

    calendar = holidays.country_holidays(country)
    day += timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def snapshots_take(*, anchor: date, progress) -> None:
    """Take the month-end receivables snapshots the dashboard's trends read (12 months and the
    countback's look-back before them), as an installation does once with
    `snapshot_receivables`; the dashboard then computes only today from the open book."""
    from dashboards.selectors.common import previous_month_end
    from dashboards.selectors.kpis import DSO_LOOKBACK_MONTHS
    from dashboards.services import receivables_snapshot_take

    started = time.perf_counter()
    day = previous_month_end(anchor)
    days = []
    for _ in range(DSO_LOOKBACK_MONTHS + 13):
        days.append(day)
        day = previous_month_end(day)
    for day in sorted(days):
        receivables_snapshot_take(business_date=day)
    seconds = time.perf_counter() - started
    progress(f"  {'month-end snapshots':<28} {len(days):>12,} days  {seconds:7.1f} s")
