import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DUNNING_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_in_production_with_the_development_secret():
    result = _manage("check", DJANGO_DEBUG="False")

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "x",
        "a-short-key-of-forty-nine-characters-is-not-safe",
        "ab" * 40,
        "django-insecure-" + "k" * 60,
    ],
)
def test_refuses_to_start_in_production_with_a_weak_secret(key):
    result = _manage("check", DJANGO_DEBUG="False", DJANGO_SECRET_KEY=key)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_production_alone_turns_on_hsts_and_secure_cookies():
    show = (
        "from django.conf import settings; "
        "print(getattr(settings, 'SECURE_HSTS_SECONDS', 0), settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE)"
    )
    production = _manage(
        "shell",
        "--no-imports",
        "-c",
        show,
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    development = _manage("shell", "--no-imports", "-c", show)

    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["31536000", "True", "True"]
    assert development.stdout.split() == ["0", "False", "False"]


def test_dunning_run_time_comes_from_the_environment():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE['dunning-daily-run']['schedule'])",
        DUNNING_RUN_AT="07:30",
    )

    assert result.returncode == 0, result.stderr
    assert "<crontab: 30 7 * * *" in result.stdout


def test_celery_is_configured_to_never_lose_a_task():
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit
    schedule = conf.beat_schedule["dunning-daily-run"]
    assert schedule["task"] == "dunning.tasks.dunning_run_task"
    assert schedule["schedule"] == crontab(hour=6, minute=0)
    visibility = conf.broker_transport_options.get("visibility_timeout")
    if visibility is not None:
        assert visibility > conf.task_time_limit * 2


def test_production_has_no_demo_creditor_or_bank_account():
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; "
        "print(repr(settings.CREDITOR_NAME), repr(settings.CREDITOR_BANK_ACCOUNT))",
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "''"]
