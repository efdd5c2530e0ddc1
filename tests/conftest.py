import os
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.utils import translation

from config.celery import app as celery_app

# Playwright drives the browser from an event loop; the tests' own ORM calls
# are synchronous and safe there (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process; integration tests start a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


# Rows the data migrations write, which a transactional test's flush removes:
# (migration module, function, a model that is empty without them).
MIGRATED_ROWS = (
    ("core.migrations.0001_role_groups", "create_role_groups", "auth.Group"),
    (
        "receivables.migrations.0004_credit_policy_and_grade_defaults",
        "create_defaults",
        "receivables.CreditGrade",
    ),
    ("dunning.migrations.0002_default_policy", "create_default_policy", "dunning.DunningPolicy"),
)


@pytest.fixture(autouse=True)
def _migrated_rows(request):
    """Give transactional tests the rows the data migrations wrote.

    Their flush empties every table, and serialized rollback does not bring the
    rows back once a non-serialized transactional test has run in the session.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    for module, function, model in MIGRATED_ROWS:
        if not django_apps.get_model(model).objects.exists():
            getattr(import_module(module), function)(django_apps, None)


@pytest.fixture(autouse=True)
def _english_by_default():
    """Start every test in English; a request in Chinese must not leak into the next test."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


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
