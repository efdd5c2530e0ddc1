"""The seeded demo for tests: `seed_demo` runs once per session, every test that asks for
it gets the same rows and files (see the `seeded_demo` fixture in tests/conftest.py)."""

import io
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Model
from django.test import override_settings
from django.utils import timezone, translation

from config.celery import app as celery_app

DEMO_PASSWORD = "demo-pass-for-tests"


@dataclass(frozen=True)
class SeededDemo:
    password: str
    output: str  # what seed_demo printed
    rows: str  # every row of the seeded database, serialized
    media: Path  # the files it wrote
    seeded_at: datetime  # when it ran: its dates follow that day


def demo_dump(*, media_root: Path) -> SeededDemo:
    """Run `seed_demo` on the migrated, empty test database, keep its rows and files,
    and roll the database back."""
    output = io.StringIO()
    seeded_at = timezone.now()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with (
            override_settings(MEDIA_ROOT=media_root),
            translation.override("en"),
            transaction.atomic(),
        ):
            call_command("seed_demo", "--password", DEMO_PASSWORD, stdout=output)
            rows = connection.creation.serialize_db_to_string()
            transaction.set_rollback(True)
    finally:
        celery_app.conf.task_always_eager = eager
        ContentType.objects.clear_cache()
    return SeededDemo(
        password=DEMO_PASSWORD,
        output=output.getvalue(),
        rows=rows,
        media=media_root,
        seeded_at=seeded_at,
    )


@contextmanager
def demo_load(demo: SeededDemo, *, media_root: Path) -> Iterator[None]:
    """Replace every row of the test database by the demo's and copy its files."""
    # Sequences keep counting: the demo's ids were taken from them, new rows must not reuse one.
    call_command(
        "flush", interactive=False, inhibit_post_migrate=True, reset_sequences=False, verbosity=0
    )
    _rows_insert(demo.rows)
    ContentType.objects.clear_cache()
    shutil.copytree(demo.media, media_root, dirs_exist_ok=True)
    try:
        yield
    finally:
        # The content types' ids were the demo's; the next test's may differ.
        ContentType.objects.clear_cache()


def _rows_insert(rows: str) -> None:
    """Insert serialized rows a model at a time (Django's deserialize_db_from_string saves
    them one by one, several times slower). Foreign keys are checked at the end of the
    transaction, so the order of the models does not matter."""
    objects = list(serializers.deserialize("json", rows))
    by_model: dict[type[Model], list[Model]] = defaultdict(list)
    links: dict[type[Model], list[Model]] = defaultdict(list)
    for deserialized in objects:
        instance = deserialized.object
        by_model[type(instance)].append(instance)
        for name, targets in (deserialized.m2m_data or {}).items():
            field = instance._meta.get_field(name)
            through = field.remote_field.through
            source = field.m2m_field_name() + "_id"
            target = field.m2m_reverse_field_name() + "_id"
            links[through].extend(through(**{source: instance.pk, target: pk}) for pk in targets)
    with transaction.atomic():
        for model, instances in (*by_model.items(), *links.items()):
            model._base_manager.bulk_create(instances)
