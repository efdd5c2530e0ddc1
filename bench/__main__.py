"""Benchmarks on generated books, each figure beside its bare-SQL reference.

    python -m bench [--sizes 10k,100k,1m] [--only page,...] [--rebuild] [--repeat N]

For each size: build the book on PostgreSQL once (set-based SQL, reused while
its fingerprint holds; `--rebuild` forces it), copy it, then measure on the
copy the daily run (first run over all open items, same-day rerun, an
ordinary day), the pages (one logged-in user, p50/p95 and the statement
count), the ageing report, the monthly statement run (every customer
scheduled: create, send, rerun; `--only statement_run,statement_send,statement_rerun`),
and p95 with concurrent users (each reading a page for `--think` seconds on
average before the next) on a gunicorn this bench starts while the daily run
executes. Every measurement is capped and
reports "> cap" instead of hanging. The server is `BENCH_DATABASE_URL`
(default postgres://postgres@127.0.0.1:5432/huikuan_bench; each size gets its
own `huikuan_bench_<size>` database beside it).
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path

from bench import book, measure, report

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/huikuan_bench"


def _child_env(url: str, *, page_cap: float) -> dict[str, str]:
    """A production-like Django: DEBUG off, plain HTTP on loopback, statements capped."""
    timeout_ms = int(page_cap * 1000) + 5000
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PGOPTIONS": f"-c statement_timeout={timeout_ms}",
        "PYTHONUNBUFFERED": "1",
    }


def _django(migrate: bool = False) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _ensure_static() -> None:
    """DEBUG off serves pages through the static manifest; collect it once if missing."""
    if not (book.ROOT / "staticfiles" / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=book.ROOT,
            check=True,
            env={
                **os.environ,
                "DJANGO_DEBUG": "False",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            },
        )


def build_if_needed(url: str, size: book.Size, *, rebuild: bool, page_cap: float) -> date:
    if not rebuild and book.book_is_current(url, size):
        anchor = book.book_anchor(url, size)
        measure.log(f"{size.label}: reusing the book built for {anchor} ({size.book_name})")
        return anchor
    measure.log(
        f"{size.label}: building {size.invoices:,} invoices for {size.customers:,} customers "
        f"into {size.book_name} ..."
    )
    book.create_database(url, size.book_name)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench", "_build", size.label],
        cwd=book.ROOT,
        env=_child_env(book.server_url(url, size.book_name), page_cap=3600),
        check=True,
    )
    measure.log(f"{size.label}: built in {time.perf_counter() - started:.0f} s")
    return book.book_anchor(url, size)


def measure_size(url: str, size: book.Size, options: measure.Options) -> list[dict]:
    measure.log(f"{size.label}: copying the book to {size.work_name} ...")
    book.create_database(url, size.work_name, template=size.book_name)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "results.json"
        child = subprocess.run(
            [sys.executable, "-m", "bench", "_measure", json.dumps(asdict(options)), str(output)],
            cwd=book.ROOT,
            env=_child_env(book.server_url(url, size.work_name), page_cap=options.page_cap),
            check=False,
        )
        if child.returncode:
            measure.log(f"{size.label}: the measuring process failed; its results so far follow")
        results = json.loads(output.read_text()) if output.exists() else []
    for result in results:
        result["size"] = size.label
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k,100k,1m")
    parser.add_argument(
        "--only",
        default=",".join(measure.MEASUREMENTS),
        help="comma-separated, from: " + ",".join(measure.MEASUREMENTS),
    )
    parser.add_argument("--rebuild", action="store_true", help="build the books again")
    parser.add_argument("--repeat", type=int, default=10, help="requests per page (after warm-up)")
    parser.add_argument("--page-cap", type=float, default=60, help="seconds per request at most")
    parser.add_argument(
        "--page-budget", type=float, default=30, help="stop repeating a page after this (>= 3 runs)"
    )
    parser.add_argument("--run-cap", type=float, default=600, help="seconds per daily run at most")
    parser.add_argument("--users", type=int, default=20, help="concurrent users")
    parser.add_argument("--load-seconds", type=float, default=60, help="duration of the load")
    parser.add_argument("--load-requests", type=int, default=2000, help="requests at most")
    parser.add_argument("--load-timeout", type=float, default=30, help="seconds per request")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--think",
        type=float,
        default=7,
        help="mean seconds a loaded user reads a page before the next request (0: none)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    arguments = parser.parse_args()

    only = tuple(name.strip() for name in arguments.only.split(",") if name.strip())
    unknown = set(only) - set(measure.MEASUREMENTS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    options = measure.Options(
        only=only,
        repeat=arguments.repeat,
        page_cap=arguments.page_cap,
        page_budget=arguments.page_budget,
        run_cap=arguments.run_cap,
        users=arguments.users,
        load_seconds=arguments.load_seconds,
        load_requests=arguments.load_requests,
        load_timeout=arguments.load_timeout,
        workers=arguments.workers,
        think=arguments.think,
    )
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    sizes = [book.parse_size(text, url=url) for text in arguments.sizes.split(",") if text.strip()]
    _ensure_static()
    results: list[dict] = []
    for size in sizes:
        build_if_needed(url, size, rebuild=arguments.rebuild, page_cap=options.page_cap)
        results.extend(measure_size(url, size, options))
        if arguments.json:
            arguments.json.write_text(json.dumps(results, indent=1, default=str))
        report.print_size(results, size.label)
    report.print_summary(results, [size.label for size in sizes])


def _internal(command: str, args: list[str]) -> None:
    if command == "_build":
        _django(migrate=True)
        from django.utils import timezone

        # The book is spread around the business date of its build, as the pages see it.
        bench_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
        size, anchor = book.parse_size(args[0], url=bench_url), timezone.localdate()
        book.build(size, anchor=anchor, progress=measure.log)
        book.snapshots_take(anchor=anchor, progress=measure.log)
        book.mark_built(os.environ["DATABASE_URL"], size, anchor=anchor)
    elif command == "_measure":
        raw = json.loads(args[0])
        raw["only"] = tuple(raw["only"])
        options = measure.Options(**{f.name: raw[f.name] for f in fields(measure.Options)})
        _django()
        # As a gunicorn worker serving config.wsgi: what is loaded is frozen out of the GC.
        import config.wsgi  # noqa: F401

        results: list[dict] = []

        def emit(result: measure.Result) -> None:
            results.append(result.as_json())
            measure.log("    " + report.line(result.as_json()))
            Path(args[1]).write_text(json.dumps(results, default=str))

        measure.measure_size(options, emit=emit)
        Path(args[1]).write_text(json.dumps(results, default=str))
    elif command == "_cash":
        from bench import cash

        cash.child_main(int(args[0]), args[1])
    elif command == "_run":
        _django()
        measure.run_child_main(as_of=args[args.index("--as-of") + 1], output=args[-1])
    elif command == "_statements":
        _django()
        measure.statements_child_main(
            as_of=args[args.index("--as-of") + 1], output=args[-1], no_send="--no-send" in args
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        _internal(sys.argv[1], sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "cash":
        from bench import cash

        cash.main(sys.argv[2:])
    else:
        main()
