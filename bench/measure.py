"""The measurements of one size, run in a Django process on a fresh copy of the book.

Pages go through Django's test client as one logged-in user; the daily run
runs in a child process (`manage.py run_dunning`, its peak memory read with
wait4); the concurrent load goes to a gunicorn on loopback that this module
starts and stops. Every measurement has a cap and reports `capped` instead
of hanging.
"""

import http.client
import json
import math
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from bench import autovacuum, bare
from bench.book import ROOT, working_day_after

PAGES = ("dashboard", "drilldown_90", "finance_desk", "rep_home", "customer_list", "customer_page")
API_LISTS = ("api_invoices", "api_invoices_open", "api_customers", "api_payments")
RUNS = ("run_first", "run_rerun", "run_day")
STATEMENT_RUNS = ("statement_run", "statement_send", "statement_rerun")
MEASUREMENTS = (*PAGES, *API_LISTS, "ageing", *RUNS, "load", *STATEMENT_RUNS)


@dataclass
class Result:
    key: str
    label: str
    samples: list[float] = field(default_factory=list)
    queries: int | None = None
    bare: float | None = None
    capped: bool = False
    errors: int = 0
    requests: int = 0
    peak_mb: float | None = None
    # The runs: the bare SQL of every row the run writes (bare.RUN_WRITES), beside the
    # issue's reference (`bare`, the steps' INSERT … SELECT alone).
    floor: float | None = None
    note: str = ""

    @property
    def p50(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95(self) -> float | None:
        return percentile(self.samples, 95) if self.samples else None

    def as_json(self) -> dict:
        return {**asdict(self), "p50": self.p50, "p95": self.p95}


def percentile(samples: list[float], rank: int) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


class CapExceededError(Exception):
    pass


@contextmanager
def wall_clock_cap(seconds: float):
    """Interrupt the block after `seconds` (the statement timeout backs it up inside queries).

    Yields a dict whose `fired` says whether it did: Django turns the exception
    raised inside a view into a 500 response, so the caller checks the flag.
    """
    state = {"fired": False}

    def expire(signum, frame):
        state["fired"] = True
        raise CapExceededError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def counted_queries():
    """Count the statements the default connection executes, without keeping them."""
    from django.db import connection

    counter = {"n": 0}

    def count(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def _reset_connection() -> None:
    """Drop a connection interrupted mid-statement: cancel the statement on the server, close."""
    from django.db import connection

    raw = connection.connection
    if raw is not None:
        with suppress(Exception):
            raw.cancel_safe(timeout=5)
        with suppress(Exception):
            raw.close()
    connection.connection = None
    connection.in_atomic_block = False
    connection.savepoint_ids = []
    connection.atomic_blocks = []
    connection.needs_rollback = False
    connection.closed_in_transaction = False


def log(message: str) -> None:
    print(message, flush=True)


# --- Context: the users and objects the pages are measured with ----------------


@dataclass
class Context:
    today: date
    manager_id: int
    finance_id: int
    rep_id: int
    customer_id: int
    policy_id: int
    pre_due_days: int
    country: str


def context() -> Context:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM auth_user WHERE username = 'bench-manager1'")
        manager_id = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM auth_user WHERE username = 'bench-finance1'")
        finance_id = cursor.fetchone()[0]
        # The largest customer: the most invoices ever issued.
        cursor.execute(
            "SELECT customer_id FROM receivables_invoice GROUP BY customer_id "
            "ORDER BY count(*) DESC, customer_id LIMIT 1"
        )
        customer_id = cursor.fetchone()[0]
        cursor.execute("SELECT sales_rep_id FROM receivables_customer WHERE id = %s", [customer_id])
        rep_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT id, pre_due_working_days FROM dunning_dunningpolicy WHERE is_active "
            "ORDER BY id LIMIT 1"
        )
        policy_id, pre_due_days = cursor.fetchone()
    return Context(
        today=timezone.localdate(),
        manager_id=manager_id,
        finance_id=finance_id,
        rep_id=rep_id,
        customer_id=customer_id,
        policy_id=policy_id,
        pre_due_days=pre_due_days,
        country=settings.BUSINESS_CALENDAR_COUNTRY,
    )


def page_requests(ctx: Context) -> dict[str, tuple[str, int]]:
    """Each page's URL and the user who opens it."""
    from django.urls import reverse

    return {
        "dashboard": (reverse("dashboards:dashboard"), ctx.manager_id),
        "drilldown_90": (reverse("dashboards:ageing_invoices") + "?bucket=90%2B", ctx.manager_id),
        "finance_desk": (reverse("dashboards:finance_desk"), ctx.finance_id),
        "rep_home": (reverse("dashboards:rep_home"), ctx.rep_id),
        "customer_list": (reverse("receivables:customer_list"), ctx.manager_id),
        "customer_page": (
            reverse("receivables:customer_detail", args=[ctx.customer_id]),
            ctx.manager_id,
        ),
    }


PAGE_LABELS = {
    "dashboard": "manager dashboard",
    "drilldown_90": "ageing drill-down 90+",
    "finance_desk": "finance desk",
    "rep_home": "rep home (rep of the largest customer)",
    "customer_list": "manager customer list",
    "customer_page": "customer page, largest customer",
    "api_invoices": "API invoices, pages of 100 (finance token)",
    "api_invoices_open": "API open invoices, pages of 100 (finance token)",
    "api_customers": "API customers, pages of 100 (finance token)",
    "api_payments": "API payments, pages of 100 (finance token)",
    "ageing": "ageing_report, all customers",
    "run_first": "daily run, first over all open items",
    "run_rerun": "daily run, same-day rerun",
    "run_day": "daily run, an ordinary day",
    "load": "20 users + daily run, p95",
    "statement_run": "monthly statement run, creating every customer's statement",
    "statement_send": "monthly statement run again: creates none, sends (render, store, email)",
    "statement_rerun": "monthly statement run a third time: creates and sends nothing",
}


# --- Timing helpers -------------------------------------------------------------


def timed_bare(statements: list[str], params: dict, *, repeat: int, cap: float) -> float | None:
    """Median seconds of the statements run back to back, rolled back; None when capped."""
    return timed_bare_rows(statements, params, repeat=repeat, cap=cap)[0]


def timed_bare_rows(
    statements: list[str], params: dict, *, repeat: int, cap: float
) -> tuple[float | None, list]:
    """The median seconds and the last statement's rows."""
    from django.db import connection, transaction

    samples = []
    rows: list = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            with wall_clock_cap(cap), transaction.atomic(), connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql, params)
                    if cursor.description:
                        rows = cursor.fetchall()
                transaction.set_rollback(True)
        except CapExceededError:
            _reset_connection()
            return None, []
        except Exception:  # the statement timeout ended it: as capped
            _reset_connection()
            return None, []
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), rows


def _timed_get(client, url: str, *, result: Result, cap: float):
    """One GET under the cap: (response, seconds, statements), or (None, 0, 0) once the
    result says it was capped or not 200."""
    started = time.perf_counter()
    try:
        with wall_clock_cap(cap) as alarm, counted_queries() as counter:
            response = client.get(url)
    except CapExceededError:
        alarm = {"fired": True}
    if alarm["fired"]:
        _reset_connection()
        result.capped = True
        result.note = f"> {cap:g} s cap"
        return None, 0.0, 0
    elapsed = time.perf_counter() - started
    result.requests += 1
    if response.status_code != 200:
        result.errors += 1
        result.note = f"HTTP {response.status_code}"
        return None, 0.0, 0
    return response, elapsed, counter["n"]


def measure_page(
    key: str, url: str, user_id: int, *, repeat: int, cap: float, budget: float
) -> Result:
    """p50/p95 over repeated requests after one warm-up; stop early past the budget."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    result = Result(key=key, label=PAGE_LABELS[key])
    client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(pk=user_id))
    spent = 0.0
    size = 0
    for attempt in range(repeat + 1):
        response, elapsed, statements = _timed_get(client, url, result=result, cap=cap)
        if response is None:
            break
        spent += elapsed
        size = len(response.content)
        if attempt == 0:
            continue  # warm-up: caches, connection, template compilation
        result.queries = statements if result.queries is None else result.queries
        result.samples.append(elapsed)
        if len(result.samples) >= 3 and spent > budget:
            break
    if size:
        result.note = (result.note + f" {size / 1024:,.0f} KiB").strip()
    return result


# --- API lists, with a token ----------------------------------------------------


API_PATHS = {
    "api_invoices": "/api/v1/invoices/?page_size=100",
    "api_invoices_open": "/api/v1/invoices/?status=open&page_size=100",
    "api_customers": "/api/v1/customers/?page_size=100",
    "api_payments": "/api/v1/payments/?page_size=100",
}


def measure_api_list(
    key: str, path: str, user_id: int, *, repeat: int, cap: float, budget: float
) -> Result:
    """p50/p95 of pages of 100 as an integration reads them: each request follows the previous
    page's cursor (`next`), the first page again at the end; statements per request."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from api.services import api_token_create

    user = get_user_model().objects.get(pk=user_id)
    _token, key_text = api_token_create(user=user, name=f"bench {key}")
    result = Result(key=key, label=PAGE_LABELS[key])
    client = Client(
        raise_request_exception=False, HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key_text}"
    )
    url = path
    spent = 0.0
    rows = 0
    queries: list[int] = []
    for attempt in range(repeat + 1):
        response, elapsed, statements = _timed_get(client, url, result=result, cap=cap)
        if response is None:
            break
        spent += elapsed
        body = response.json()
        url = body.get("next") or path
        if attempt == 0:
            continue  # warm-up
        rows = max(rows, len(body["results"]))
        queries.append(statements)
        result.samples.append(elapsed)
        if len(result.samples) >= 3 and spent > budget:
            break
    if queries:
        result.queries = max(queries)
        result.note = (result.note + f" {rows} rows a page, {len(queries)} pages walked").strip()
    return result


# --- The daily run, in a child process ------------------------------------------


def run_child_main(as_of: str, output: str) -> None:
    """Inside the child: run the command the beat task runs, count its statements."""
    from django.core.management import call_command
    from django.db import connection

    def steps() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM dunning_dunningstep")
            return cursor.fetchone()[0]

    before = steps()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as buffer:
        with counted_queries() as counter:
            call_command("run_dunning", as_of=as_of, output_format="json", stdout=buffer)
        seconds = time.perf_counter() - started
        queries = counter["n"]
        buffer.seek(0)
        communications = len(json.load(buffer)["communications"])
    Path(output).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "queries": queries,
                "steps": steps() - before,
                "communications": communications,
            }
        )
    )


def run_in_child(
    as_of: date,
    *,
    cap: float,
    command: str = "_run",
    arguments: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> dict:
    """Run the day in a child process; its time, statements, peak memory, or that it was capped."""
    application_name = f"huikuan-bench-{command[1:]}-{os.getpid()}-{as_of.isoformat()}"
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "run.json"
        started = time.perf_counter()
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench",
                command,
                "--as-of",
                as_of.isoformat(),
                *arguments,
                str(output),
            ],
            cwd=ROOT,
            # The run's own cap, not the pages' statement timeout, bounds its statements.
            env={
                **os.environ,
                **(env or {}),
                "PGOPTIONS": f"-c statement_timeout={int(cap * 1000) + 5000}",
                "PGAPPNAME": application_name,
            },
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        capped = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > cap:
                os.killpg(child.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(child.pid, 0)
                _terminate_backends(application_name)
                capped = True
                break
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        found = json.loads(output.read_text()) if output.exists() else {}
        return {
            **found,
            "wall": wall,
            "capped": capped,
            "failed": not capped and (child.returncode != 0 or not found),
            "peak_mb": usage.ru_maxrss / 1024,
        }


def _terminate_backends(application_name: str) -> None:
    """A killed child's statement would run on in the server; end it there too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )


def _checkpoint() -> None:
    """Write out what earlier steps left dirty (the 2 GB copy of the book, the previous
    run), so a run and its reference are not timed flushing another's pages. Needs a
    superuser or `pg_checkpoint`; without it the bench goes on and says so."""
    from django.db import connection
    from django.db.utils import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as error:
        log(f"  no CHECKPOINT before the run ({error}); its time includes earlier writes")


def _autovacuum_catch_up() -> None:
    """What autovacuum would have done by now on a production server (it is off on this
    machine's PostgreSQL), by its thresholds and the tables' own (`bench.autovacuum`)."""
    from django.db import connection

    with connection.cursor() as cursor:
        work = autovacuum.catch_up(cursor)
    done = ", ".join(item.sql for item in work) or "nothing"
    log(f"  autovacuum's work by now: {done}")


def run_result(
    key: str, as_of: date, *, cap: float, bare_seconds: float | None, bare_steps: int | None
) -> Result:
    log(f"  {PAGE_LABELS[key]} as of {as_of} ...")
    found = run_in_child(as_of, cap=cap)
    result = Result(key=key, label=PAGE_LABELS[key], bare=bare_seconds, peak_mb=found["peak_mb"])
    if found["capped"]:
        result.capped = True
        result.note = f"> {cap:g} s cap (killed)"
    elif found["failed"]:
        result.errors = 1
        result.note = "failed, see the output above"
    else:
        result.samples = [found["seconds"]]
        result.queries = found["queries"]
        result.note = f"{found['steps']:,} steps, {found['communications']:,} messages"
    if bare_steps is not None:
        result.note += f" (bare SQL: {bare_steps:,} invoice steps)"
    return result


def run_bare(
    ctx: Context, as_of: date, *, cap: float, vacuum_invoices: bool = True
) -> tuple[float | None, int | None, float | None]:
    """The steps' bare INSERT … SELECT (seconds, steps), and the bare SQL of every write."""
    from django.db import connection

    from dunning.calendar import pre_due_last_due_date

    params = {
        "as_of": as_of,
        "policy": ctx.policy_id,
        "pre_due_last": pre_due_last_due_date(as_of=as_of, working_days=ctx.pre_due_days),
        "batch": uuid.uuid4(),
    }
    seconds, rows = timed_bare_rows(
        [
            *(bare.CHECK_FOREIGN_KEYS, bare.RUN_STEPS, bare.RUN_INSERT, bare.RUN_MESSAGES),
            "SELECT count(*) FROM bench_steps",
        ],
        params,
        repeat=3,
        cap=cap,
    )
    floor = timed_bare(
        [bare.CHECK_FOREIGN_KEYS, bare.RUN_STEPS, bare.RUN_INSERT, *bare.RUN_WRITES],
        params,
        repeat=3,
        cap=cap,
    )
    # The rolled-back writes left dead rows in the tables and indexes: gone before the run,
    # as if the references had never been written. The invoices only where the reference
    # moved many rungs (a first run): vacuuming them would also clear the earlier runs'
    # updates, which autovacuum may not have reached (`_autovacuum_catch_up`).
    tables = [
        *(["receivables_invoice"] if vacuum_invoices else []),
        *("dunning_dunningstep", "dunning_communication", "dunning_collectioncase"),
        *("dunning_collectiontask", "dunning_caseevent"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM " + ", ".join(tables))
    return seconds, (rows[0][0] if rows else None), floor


# --- Concurrent users against gunicorn ------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session_cookie(user_id: int) -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def measure_load(
    ctx: Context,
    *,
    users: int,
    seconds: float,
    max_requests: int,
    timeout: float,
    run_date: date,
    run_cap: float,
    workers: int,
    think: float,
) -> Result:
    """`users` threads, each a logged-in user cycling through its pages, while the run executes.

    Between two requests a user reads the page for a pause drawn from an exponential
    distribution of mean `think` seconds, truncated at ten times the mean (TPC-W's browsing
    user, mean 7 s); the first pause is drawn too, so the users do not all start at once.
    `think` 0 sends each next request as soon as the last one answered: the server's
    throughput, not people.
    """
    from django.db import connection

    result = Result(key="load", label=PAGE_LABELS["load"].replace("20", str(users)))
    requests = page_requests(ctx)
    # A third managers, a sixth finance, the rest reps with their own largest customer.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.id, g.name FROM auth_user u JOIN auth_user_groups ug ON ug.user_id = u.id "
            "JOIN auth_group g ON g.id = ug.group_id WHERE u.username LIKE 'bench-%%' ORDER BY u.id"
        )
        by_role: dict[str, list[int]] = {}
        for user_id, role in cursor.fetchall():
            by_role.setdefault(role, []).append(user_id)
        cursor.execute(
            "SELECT DISTINCT ON (c.sales_rep_id) c.sales_rep_id, c.id FROM receivables_customer c "
            "JOIN receivables_invoice i ON i.customer_id = c.id "
            "GROUP BY c.sales_rep_id, c.id ORDER BY c.sales_rep_id, count(*) DESC"
        )
        rep_customer = dict(cursor.fetchall())
    from django.urls import reverse

    plans = []
    # Which page each path is, for the p95 of each (a rep's own customer page is one page).
    page_of = {url: PAGE_LABELS[key] for key, (url, _user) in requests.items()}
    for number in range(users):
        if number % 6 in (0, 3):
            user_id = by_role["manager"][number % len(by_role["manager"])]
            paths = [requests[key][0] for key in ("dashboard", "drilldown_90", "customer_list")]
            paths.append(requests["customer_page"][0])
        elif number % 6 == 1:
            user_id = by_role["finance"][number % len(by_role["finance"])]
            paths = [requests["finance_desk"][0]]
        else:
            user_id = by_role["sales_rep"][number % len(by_role["sales_rep"])]
            customer = reverse("receivables:customer_detail", args=[rep_customer[user_id]])
            page_of.setdefault(customer, "customer page, a rep's largest customer")
            paths = [requests["rep_home"][0], customer]
        plans.append((_session_cookie(user_id), paths))
    connection.close()

    port = _free_port()
    folder = tempfile.mkdtemp(prefix="huikuan-bench-")
    env = {
        **os.environ,
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    log(f"  starting gunicorn ({workers} workers) on 127.0.0.1:{port} ...")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--timeout={int(timeout) + 5}",
            "--graceful-timeout=5",
            f"--pid={folder}/gunicorn.pid",
            f"--error-logfile={folder}/gunicorn.log",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        _wait_for(port, deadline=time.monotonic() + 30)
        # Open each page once before the clock starts (templates, caches), within one timeout.
        warmed: set[str] = set()
        deadline = time.monotonic() + timeout
        for cookie, paths in plans:
            for path in paths:
                if path not in warmed and time.monotonic() < deadline:
                    warmed.add(path)
                    _get(port, path, cookie, timeout=max(1.0, deadline - time.monotonic()))
        samples: list[float] = []
        by_page: dict[str, list[float]] = {}
        errors: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        started = time.monotonic()

        def pause(pauses: random.Random) -> None:
            if think > 0:
                stop.wait(min(pauses.expovariate(1 / think), 10 * think))

        def user(number: int, cookie: str, paths: list[str]) -> None:
            position = 0
            pauses = random.Random(number)
            pause(pauses)
            while not stop.is_set() and time.monotonic() - started < seconds:
                with lock:
                    if len(samples) >= max_requests:
                        return
                path = paths[position % len(paths)]
                position += 1
                begun = time.perf_counter()
                outcome = _get(port, path, cookie, timeout=timeout)
                elapsed = time.perf_counter() - begun
                with lock:
                    # A failed request counts in the percentiles too (a timeout at its limit).
                    samples.append(elapsed)
                    by_page.setdefault(page_of[path], []).append(elapsed)
                    if outcome != 200:
                        errors.append(f"{path}: {outcome}")
                pause(pauses)

        threads = [
            threading.Thread(target=user, args=(number, *plan), daemon=True)
            for number, plan in enumerate(plans)
        ]
        for thread in threads:
            thread.start()
        # Daily runs of the following working days back to back, so a run executes
        # for the whole window; the one still going when it closes is stopped.
        runs = []
        day = run_date
        while (left := seconds - (time.monotonic() - started)) > 1:
            runs.append(run_in_child(day, cap=min(run_cap, left)))
            day = working_day_after(day, country=ctx.country)
        # The window is over: users in a pause stop, those waiting for an answer finish it.
        stop.set()
        for thread in threads:
            thread.join(timeout=timeout + 5)
        elapsed = time.monotonic() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    result.samples = samples
    result.errors = len(errors)
    result.requests = len(samples)
    finished = [run for run in runs if not run["capped"] and not run["failed"]]
    times = ", ".join(seconds_text(run["seconds"]) for run in finished)
    run_note = f"{len(finished)} daily run(s) finished in the window" + (
        f" ({times})" if finished else ""
    )
    if any(run["capped"] for run in runs):
        run_note += ", one stopped when it closed"
    if any(run["failed"] for run in runs):
        run_note += ", a run failed"
    user_model = f"think {think:g} s" if think > 0 else "no think time"
    result.note = (
        f"{user_model}; {result.requests:,} requests in {elapsed:.0f} s, "
        f"{len(errors)} errors; {run_note}"
    )
    if errors:
        kinds = sorted({error.split(": ", 1)[1] for error in errors})
        result.note += f" ({', '.join(kinds)[:80]})"
    # Which pages make the p95: each page's own, slowest first.
    pages = sorted(
        ((percentile(times, 95), label, len(times)) for label, times in by_page.items()),
        reverse=True,
    )
    result.note += "; p95 by page: " + ", ".join(
        f"{label} {seconds_text(p95)} ({count})" for p95, label, count in pages
    )
    return result


def seconds_text(value: float) -> str:
    """A duration as the report prints it: milliseconds under a second."""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def _wait_for(port: int, *, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _get(port: int, path: str, cookie: str, *, timeout: float) -> int | str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        return response.status
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


# --- One size -------------------------------------------------------------------


@dataclass
class Options:
    only: tuple[str, ...]
    repeat: int
    page_cap: float
    page_budget: float
    run_cap: float
    users: int
    load_seconds: float
    load_requests: int
    load_timeout: float
    workers: int
    think: float


def measure_size(options: Options, *, emit: Callable[[Result], None]) -> None:
    ctx = context()
    wanted = set(options.only)
    run_day = (
        ctx.today
        if _working(ctx.today, ctx.country)
        else working_day_after(ctx.today, country=ctx.country)
    )
    # The first run is the day the product starts: today, over every open item; the
    # ordinary day is the next working day, and the load runs the days after it.
    first_day = run_day
    next_day = working_day_after(run_day, country=ctx.country)
    load_day = working_day_after(next_day, country=ctx.country)
    bare_cap = max(options.page_cap, 60)

    # The runs first, so the pages see cases, tasks and messages as on a real morning.
    if "run_first" in wanted or "run_rerun" in wanted or "run_day" in wanted:
        for key, day in (("run_first", first_day), ("run_rerun", first_day), ("run_day", next_day)):
            # The first run always executes: the others start from the state it leaves.
            if key != "run_first" and key not in wanted:
                continue
            if key == "run_day":
                _autovacuum_catch_up()  # a night passes between the first day and the next
            _checkpoint()
            seconds, steps, floor = run_bare(
                ctx, day, cap=bare_cap, vacuum_invoices=key == "run_first"
            )
            _checkpoint()
            result = run_result(
                key, day, cap=options.run_cap, bare_seconds=seconds, bare_steps=steps
            )
            result.floor = floor
            if key in wanted:
                emit(result)
        _autovacuum_catch_up()

    params = {"today": ctx.today, "rep": ctx.rep_id, "customer": ctx.customer_id}
    for key, (url, user_id) in page_requests(ctx).items():
        if key not in wanted:
            continue
        log(f"  {PAGE_LABELS[key]}: GET {url} ...")
        result = measure_page(
            key,
            url,
            user_id,
            repeat=options.repeat,
            cap=options.page_cap,
            budget=options.page_budget,
        )
        result.bare = timed_bare(bare.PAGES[key], params, repeat=5, cap=bare_cap)
        emit(result)

    for key, path in API_PATHS.items():
        if key not in wanted:
            continue
        log(f"  {PAGE_LABELS[key]}: GET {path} ...")
        result = measure_api_list(
            key,
            path,
            ctx.finance_id,
            repeat=options.repeat,
            cap=options.page_cap,
            budget=options.page_budget,
        )
        result.bare = timed_bare(bare.API[key], params, repeat=5, cap=bare_cap)
        emit(result)

    if "ageing" in wanted:
        emit(measure_ageing(ctx, options))

    if wanted & set(STATEMENT_RUNS):
        # Last: the statements' events and links would change what the pages show.
        for result in measure_statement_runs(ctx, options, wanted=wanted):
            emit(result)

    if "load" in wanted:
        emit(
            measure_load(
                ctx,
                users=options.users,
                seconds=options.load_seconds,
                max_requests=options.load_requests,
                timeout=options.load_timeout,
                run_date=load_day,
                run_cap=options.run_cap,
                workers=options.workers,
                think=options.think,
            )
        )


# --- The monthly statement run ---------------------------------------------------

# Every customer gets a monthly statement on the first working day (set-based).
STATEMENT_SCHEDULES = """
INSERT INTO statements_statementschedule
    (customer_id, frequency, working_day, send_at_zero_balance, updated_at)
SELECT id, 'monthly', 1, false, now() FROM receivables_customer
ON CONFLICT (customer_id) DO UPDATE
SET frequency = 'monthly', working_day = 1, send_at_zero_balance = false, updated_at = now()
"""


def statement_run_day(ctx: Context) -> date:
    """The current month's first working day: the run for the month before is due."""
    from dunning.calendar import nth_working_day_of_month

    return nth_working_day_of_month(year=ctx.today.year, month=ctx.today.month, n=1)


def statements_child_main(as_of: str, output: str, *, no_send: bool) -> None:
    """Inside the child: the command the beat task's services run, its statements counted."""
    from django.core.management import call_command

    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as buffer:
        with counted_queries() as counter:
            call_command("run_statements", as_of=as_of, no_send=no_send, stdout=buffer)
        seconds = time.perf_counter() - started
        buffer.seek(0)
        found = json.load(buffer)
    phases = found.pop("seconds")
    Path(output).write_text(
        json.dumps(
            {**found, "seconds_by_phase": phases, "seconds": seconds, "queries": counter["n"]}
        )
    )


def _statement_counts(period_start: date) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE pdf <> ''), "
            "count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed') "
            "FROM statements_statement WHERE period_start = %s",
            [period_start],
        )
        rows, documents, sent, failed = cursor.fetchone()
    return {"rows": rows, "documents": documents, "sent": sent, "failed": failed}


def _together(children: list[dict]) -> dict:
    """Children run at once as one figure: the longest time, the highest peak, the sums."""
    if len(children) == 1:
        return children[0]
    done = [child for child in children if not child["capped"] and not child["failed"]]
    slowest = max(done, key=lambda child: child["seconds"]) if done else {}
    return {
        **slowest,
        "seconds": slowest.get("seconds"),
        "wall": max(child["wall"] for child in children),
        "capped": any(child["capped"] for child in children),
        "failed": any(child["failed"] for child in children),
        "peak_mb": max(child["peak_mb"] for child in children),
        "queries": sum(child.get("queries") or 0 for child in children),
        "sent_each": "/".join(str(child.get("sent", "?")) for child in children),
    }


def measure_statement_runs(ctx: Context, options: Options, *, wanted: set[str]) -> list[Result]:
    """Schedule every customer, then run `run_statements` three times for the same day:
    creating only (`--no-send` is how the beat task's first step runs), again (creates
    nothing, sends what is pending: the per-statement PDF and email), a third time
    (nothing at all). Emails go to Django's dummy backend: the cost measured is ours."""
    from django.conf import settings
    from django.db import connection

    from statements.services.runs import statement_period

    as_of = statement_run_day(ctx)
    period_start, period_end = statement_period(as_of=as_of)
    with connection.cursor() as cursor:
        cursor.execute(STATEMENT_SCHEDULES)
        scheduled = cursor.rowcount
    log(f"  statement runs as of {as_of} for {period_start}..{period_end}, {scheduled:,} schedules")
    bare_seconds, bare_rows = timed_bare_rows(
        [bare.STATEMENT_RUN, "SELECT count(*) FROM bench_statements"],
        {"as_of": as_of, "start": period_start, "end": period_end, "tz": settings.TIME_ZONE},
        repeat=3,
        cap=max(options.page_cap, 60),
    )
    bare_count = bare_rows[0][0] if bare_rows else None
    results = []
    env = {"EMAIL_URL": "dummymail://"}
    for key, arguments in (
        ("statement_run", ("--no-send",)),
        ("statement_send", ()),
        ("statement_rerun", ()),
    ):
        before = _statement_counts(period_start)
        # Sending runs as many commands at once as the beat task starts senders.
        senders = settings.STATEMENT_SENDERS if key == "statement_send" else 1
        log(f"  {PAGE_LABELS[key]} ({senders} at once) ...")
        with ThreadPoolExecutor(max_workers=senders) as pool:
            children = list(
                pool.map(
                    lambda _n, arguments=arguments: run_in_child(
                        as_of,
                        cap=options.run_cap,
                        command="_statements",
                        arguments=arguments,
                        env=env,
                    ),
                    range(senders),
                )
            )
        found = _together(children)
        after = _statement_counts(period_start)
        result = Result(key=key, label=PAGE_LABELS[key], peak_mb=found["peak_mb"])
        if key == "statement_run":
            result.bare = bare_seconds
        created = after["rows"] - before["rows"]
        documents = after["documents"] - before["documents"]
        sent = after["sent"] - before["sent"]
        note = f"{created:,} statements created, {documents:,} PDFs rendered, {sent:,} sent"
        if after["failed"] - before["failed"]:
            note += f", {after['failed'] - before['failed']:,} failed"
        if found["capped"]:
            result.capped = True
            note = f"> {options.run_cap:g} s cap (killed); " + note
        elif found["failed"]:
            result.errors = 1
            note = "failed, see the output above; " + note
        else:
            result.samples = [found["seconds"]]
            result.queries = found["queries"]
            phases = found.get("seconds_by_phase") or {}
            if phases:
                note += f" (create {phases['create']:.1f} s, send {phases['send']:.1f} s)"
            if senders > 1:
                note += f" by {senders} senders at once, {found['sent_each']} each"
        elapsed = found["seconds"] if found.get("seconds") else found["wall"]
        if sent:
            note += f"; {elapsed / sent * 1000:,.0f} ms a sent statement"
        if key == "statement_run" and bare_count is not None:
            note += f" (bare SQL: {bare_count:,} statements)"
        result.note = note
        results.append(result)
    return [result for result in results if result.key in wanted]


def measure_ageing(ctx: Context, options: Options) -> Result:
    from receivables.selectors.ageing import ageing_report

    log("  ageing_report ...")
    result = Result(key="ageing", label=PAGE_LABELS["ageing"])
    for _ in range(min(options.repeat, 5)):
        started = time.perf_counter()
        try:
            with wall_clock_cap(options.page_cap), counted_queries() as counter:
                ageing_report(as_of=ctx.today, currency="CNY")
        except CapExceededError:
            _reset_connection()
            result.capped = True
            result.note = f"> {options.page_cap:g} s cap"
            break
        result.samples.append(time.perf_counter() - started)
        result.queries = counter["n"]
    result.bare = timed_bare(
        [bare.AGEING], {"today": ctx.today}, repeat=3, cap=max(options.page_cap, 60)
    )
    return result


def _working(day: date, country: str) -> bool:
    import holidays

    return holidays.country_holidays(country).is_working_day(day)


def new_secret() -> str:
    return secrets.token_urlsafe(50)
