#!/bin/sh
# Entry point of the Huikuan image: wait until the database answers, then run
# the command (gunicorn, celery worker, celery beat, manage.py ...). Waiting
# here lets the services start in any order, also where compose cannot wait
# for a health check (podman before 4.6 ignores `condition: service_healthy`).
# HUIKUAN_WAIT_FOR_DB_SECONDS=0 skips the wait.
set -e
if [ "${HUIKUAN_WAIT_FOR_DB_SECONDS:-90}" != 0 ]; then
  python /app/deploy/wait_for_database.py
fi
exec "$@"
