#!/usr/bin/env bash
# Start the web app and one Celery worker with embedded beat; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bin

"$venv/celery" -A config worker --beat --loglevel=INFO --concurrency=2 \
  --schedule=var/celerybeat-schedule &
worker_pid=$!
trap 'kill -TERM "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null' EXIT INT TERM

echo
echo "Huikuan runs at http://127.0.0.1:8000/  (Ctrl-C stops the web app and the worker)"
echo
"$venv/python" manage.py runserver 127.0.0.1:8000
