"""Wait until the PostgreSQL database of DATABASE_URL accepts connections.

Gives up after HUIKUAN_WAIT_FOR_DB_SECONDS (default 90) with exit status 1.
Nothing to wait for without DATABASE_URL or with SQLite.
"""

import os
import sys
import time

import environ
import psycopg

url = os.environ.get("DATABASE_URL", "")
if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
    sys.exit(0)
config = environ.Env.db_url_config(url)
deadline = time.monotonic() + float(os.environ.get("HUIKUAN_WAIT_FOR_DB_SECONDS", "90"))
while True:
    try:
        psycopg.connect(
            dbname=config["NAME"],
            user=config["USER"],
            password=config["PASSWORD"],
            host=config["HOST"],
            port=config["PORT"] or 5432,
            connect_timeout=5,
        ).close()
        break
    except psycopg.OperationalError as error:
        if time.monotonic() > deadline:
            sys.exit(f"database {config['HOST']} not reachable: {error}")
        time.sleep(1)
