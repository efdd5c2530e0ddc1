# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.DEFAULT_GOAL := help
.PHONY: help run test lint format setup messages migrate seed bench backup restore clean container-check

help:
	@echo "make run   - set up, migrate, seed demo data, serve http://127.0.0.1:8000 with a Celery worker"
	@echo "make test  - set up and run lint, migration check and the whole test suite"
	@echo "make backup [BACKUP_DIR=var/backups]  - back up the database of DATABASE_URL, live"
	@echo "make restore BACKUP=FILE [REPLACE=1]  - restore a backup (stop web and workers first)"
	@echo "make container-check - build the image, start the compose stack with podman and check it (root)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed
	mkdir -p var/celery/queue var/celery/control var/celery/processed var/celery/results var/media

messages: setup
	$(MANAGE) compilemessages --ignore=.venv -v 0
	$(MANAGE) collectstatic --noinput -v 0

migrate: setup
	$(MANAGE) migrate --noinput -v 1

seed: migrate
	$(MANAGE) seed_demo

run: export DJANGO_DEBUG ?= True
run:
	scripts/system-deps.sh run
	$(MAKE) --no-print-directory messages seed
	scripts/run-dev.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test:
	scripts/system-deps.sh test
	$(MAKE) --no-print-directory messages lint
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest --durations=20 $(PYTEST_ARGS)

# Not part of `test`: builds images and runs the whole stack (minutes).
container-check:
	scripts/container-check.sh

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# The database of DATABASE_URL (default: the embedded SQLite file): pg_dump/pg_restore
# in custom format for PostgreSQL, the online backup API for SQLite (never a file copy).
BACKUP_DIR ?= var/backups
backup: setup
	$(MANAGE) backup_database --output-dir $(BACKUP_DIR)

restore: setup
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=FILE [REPLACE=1]"; exit 2; }
	$(MANAGE) restore_database --input $(BACKUP) $(if $(REPLACE),--replace)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
