import os
import secrets
import subprocess
import sys
from pathlib import Path

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
