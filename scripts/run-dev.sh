#!/usr/bin/env bash
# Start the web app and one Celery worker with embedded beat; Ctrl-C stops both
# within a few seconds.
#
# The worker and the web app run in process groups of their own, so the
# terminal's Ctrl-C reaches only this script, which then stops them itself:
# a warm shutdown (TERM) first, which lets a short task finish, and after
# RUN_WORKER_GRACE seconds (default 3) a cold one (QUIT), then KILL. Tasks are
# acknowledged late and rejected when their worker is lost, so a task cut
# short is redelivered on the next start. Mingle and gossip are off: a single
# development worker has nobody to talk to, and they slow start and stop.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bin
port=${RUN_PORT:-8000}
grace=${RUN_WORKER_GRACE:-3}
var_dir=${HUIKUAN_VAR_DIR:-var}
mkdir -p "$var_dir"

setsid "$venv/celery" -A config worker --beat --loglevel=INFO --concurrency=2 \
  --without-mingle --without-gossip --schedule="$var_dir/celerybeat-schedule" &
worker_pid=$!
web_pid=

stop() {
  trap - EXIT INT TERM
  # The web app's autoreloader runs the server in a child: stop its whole group.
  if [ -n "$web_pid" ]; then kill -TERM -- "-$web_pid" 2>/dev/null || true; fi
  # The worker leads its own process group: signal the group (pool children too).
  kill -TERM -- "-$worker_pid" 2>/dev/null || true
  for _ in $(seq $((grace * 10))); do
    kill -0 "$worker_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$worker_pid" 2>/dev/null; then
    echo "The worker is still finishing a task: stopping it now (the task is redelivered)."
    kill -QUIT -- "-$worker_pid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$worker_pid" 2>/dev/null || true
  fi
  wait "$worker_pid" 2>/dev/null || true
  if [ -n "$web_pid" ]; then
    # A web app still busy (a request, the reloader) after the worker's grace is killed.
    kill -0 "$web_pid" 2>/dev/null && kill -KILL -- "-$web_pid" 2>/dev/null || true
    wait "$web_pid" 2>/dev/null || true
  fi
  exit 0
}
trap stop EXIT INT TERM

echo
echo "Huikuan runs at http://127.0.0.1:$port/  (Ctrl-C stops the web app and the worker)"
echo
setsid "$venv/python" manage.py runserver "127.0.0.1:$port" &
web_pid=$!
# `wait` returns when a signal arrives, so the trap runs at once.
wait "$web_pid"
