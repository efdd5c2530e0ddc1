import functools
import os
import warnings
from collections.abc import Callable, Iterator

import pytest
from celery.result import _set_task_join_will_block
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django.test import override_settings
from django.utils import translation
from pytest_django.plugin import blocking_manager_key

from config.celery import app as celery_app
from tests.demo import SeededDemo, demo_dump, demo_load
from tests.services import require_postgres, require_redis

# Playwright drives the browser from an event loop; the tests' own ORM calls
# are synchronous and safe there (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/lib/chromium/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse `serialized_rollback`: a transactional test gets back the rows `migrate` wrote after
    every flush (below), which is all that serialized rollback would restore, while serializing
    the database at set-up costs seconds and restores it before its own test only."""
    flagged = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("serialized_rollback")
    ]
    if flagged:
        raise pytest.UsageError(
            "serialized_rollback is not used here (migrated rows are replayed after every "
            "flush): drop it from " + ", ".join(flagged)
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or fail, in CI) a test whose service is missing before any fixture runs, so a
    skipped transactional test neither sets up nor flushes the database."""
    postgres = item.get_closest_marker("postgres")
    if postgres is not None:
        require_postgres(*postgres.args, **postgres.kwargs)
    if item.get_closest_marker("redis") is not None:
        require_redis()


@functools.cache
def _data_migrations() -> list[Callable]:
    """The forward functions of this project's data migrations, in migration order."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan: list[tuple[str, str]] = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        plan.extend(key for key in loader.graph.forwards_plan(leaf) if key not in plan)
    base = str(django_settings.BASE_DIR)
    ours = {
        config.label
        for config in django_apps.get_app_configs()
        if config.path.startswith(base) and "site-packages" not in config.path
    }
    return [
        operation.code
        for key in plan
        if key[0] in ours
        for operation in loader.graph.nodes[key].operations
        if isinstance(operation, RunPython)
    ]


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django gives the test a TransactionTestCase, which flushes at the end."""
    marker = item.get_closest_marker("django_db")
    kwargs = marker.kwargs if marker is not None else {}
    fixtures = getattr(item, "fixturenames", ())
    return (
        bool(kwargs.get("transaction") or kwargs.get("reset_sequences"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


@pytest.hookimpl
def pytest_fixture_post_finalizer(fixturedef, request) -> None:
    """After a transactional test's flush, write back the rows the data migrations wrote.

    pytest-django's `_django_db_helper` flushes every table when a transactional test ends
    (its post_migrate signal brings back content types and permissions, not data). This
    hook runs after that fixture's teardown, so the next test, of whatever kind, starts
    from the database that `migrate` left.
    """
    if fixturedef.argname != "_django_db_helper" or fixturedef.cached_result is None:
        return
    if fixturedef.cached_result[2] is not None or not _transactional(request.node):
        return  # the database was not set up for this test, or it was rolled back
    # The functions get today's models, not the migration's: history must not record them.
    with (
        request.config.stash[blocking_manager_key].unblock(),
        override_settings(SIMPLE_HISTORY_ENABLED=False),
    ):
        for forwards in _data_migrations():
            forwards(django_apps, None)
        # Under Playwright's running event loop this hook gets a connection of its own
        # context, which nothing else closes: it would outlive the session and keep
        # PostgreSQL from dropping the test database.
        connection.close()


@pytest.fixture(scope="session", autouse=True)
def _stray_sessions_ended(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the PostgreSQL sessions a test left on it
    (a killed process's backend still waiting on a lock, a thread's connection), saying
    which: otherwise the drop fails and the database stays behind."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid), application_name, state, left(query, 200) "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        stray = cursor.fetchall()
    for _ended, application, state, query in stray:
        warnings.warn(
            f"a test left a session on the test database ({application or 'no name'}, "
            f"{state}): {query}",
            stacklevel=1,
        )


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Hash test passwords with MD5: PBKDF2's 10^6 rounds cost every user a quarter second
    and prove nothing here (Django's own advice for test settings)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process; integration tests start a real worker.

    Celery keeps "a result may not be awaited here" in one process-wide flag that an eager
    task sets while it runs; eager tasks run at once in several threads (the live server,
    delivery pools) can leave it set, and a later test that awaits a real worker's result
    would be refused. Every test starts with it clear."""
    _set_task_join_will_block(False)
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _english_by_default():
    """Start every test in English; a request in Chinese must not leak into the next test."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def _demo_dump(django_db_setup, django_db_blocker, tmp_path_factory) -> SeededDemo:
    with django_db_blocker.unblock():
        return demo_dump(media_root=tmp_path_factory.mktemp("demo-media"))


@pytest.fixture
def seeded_demo(_demo_dump, db, settings, _media_root) -> Iterator[SeededDemo]:
    """The database as `seed_demo` leaves it on an empty one, seeded once per session.

    A plain test gets it inside its transaction (rolled back afterwards), a transactional
    one gets it committed (flushed afterwards). Files go to this test's MEDIA_ROOT.
    """
    with demo_load(_demo_dump, media_root=settings.MEDIA_ROOT):
        yield _demo_dump


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Use Debian's Chromium; Playwright cannot download its own here."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
