"""The image's health check: GET /healthz from inside the web container.

Asks with the first name of DJANGO_ALLOWED_HOSTS, as a proxy would, and exits
0 only on 200 (the database answers).
"""

import os
import sys
import urllib.request

host = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
if host in ("", "*"):
    host = "localhost"
request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    sys.exit(f"/healthz: {error}")
