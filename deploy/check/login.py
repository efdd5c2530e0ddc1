"""Log a user in through the published web port, as a browser behind TLS would.

    python3 login.py BASE_URL HOST USERNAME PASSWORD

GETs the login page, takes the CSRF cookie and form token, POSTs the form,
and follows to the home page with the session. Requests carry the headers a
TLS-ending proxy adds (Host, X-Forwarded-Proto: https), so production
settings apply unchanged (secure cookies, SSL redirect, CSRF origin check).
Cookies are kept by hand because the client itself speaks plain HTTP.
Prints one line and exits 0 only when the home page greets the user.
"""

import http.client
import re
import sys
import urllib.parse

base_url, host, username, password = sys.argv[1:5]
address = urllib.parse.urlsplit(base_url)
origin = f"https://{host}"
cookies: dict[str, str] = {}


def request(method: str, path: str, body: str | None = None) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Host": host, "X-Forwarded-Proto": "https", "Accept-Language": "en"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Origin"] = origin
        headers["Referer"] = f"{origin}{path}"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
    text = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, dict(response.getheaders()), text


status, _, page = request("GET", "/accounts/login/")
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
if status != 200 or not token or "csrftoken" not in cookies:
    sys.exit(f"login page: status {status}, form token {bool(token)}, cookies {sorted(cookies)}")

form = urllib.parse.urlencode(
    {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
)
status, headers, _ = request("POST", "/accounts/login/", form)
if status != 302 or "sessionid" not in cookies:
    sys.exit(f"login POST: status {status}, cookies {sorted(cookies)} (expected 302 and a session)")
location = urllib.parse.urlsplit(headers.get("Location", "/")).path or "/"

status, _, home = request("GET", location)
if status != 200 or username not in home:
    sys.exit(f"home page {location}: status {status}, {username!r} shown: {username in home}")
sys.stdout.write(f"{username} logged in: POST /accounts/login/ -> 302 {location} -> 200\n")
