"""A local fake receiver: a real HTTP server in a thread that records every request.

It plays webhook receivers (checks `Huikuan-Signature`, answers 200, slowly,
or 500) and the three group-robot platforms (checks DingTalk's and
Feishu's signatures, enforces their documented limits on its own clock and
answers with their real error codes: DingTalk 130101, WeCom 45009, Feishu
9499).
"""

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integrations.signing import webhook_signature_valid


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float
    signature_ok: bool | None = None

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Route:
    """How the fake answers one path."""

    kind: str  # webhook, wecom, dingtalk, feishu
    secret: str = ""
    delay: float = 0.0
    status: int = 200
    # The platform's limits the fake enforces: (messages, seconds).
    limits: tuple[tuple[int, float], ...] = ()
    clock: Callable[[], float] = time.time
    sent_at: list[float] = field(default_factory=list)


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        # Event ids per path, parsed once on arrival (a bench polls these while it runs).
        self.ids: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, **kwargs) -> str:
        self.routes[path] = Route(**kwargs)
        return self.url + path

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.path == path]

    # --- answering ---------------------------------------------------------------

    def answer(self, received: Received) -> tuple[int, dict]:
        route = self.routes.get(received.path)
        if route is None:
            return 404, {"error": "no such route"}
        if route.delay:
            time.sleep(route.delay)
        if route.kind == "webhook":
            received.signature_ok = webhook_signature_valid(
                secret=route.secret,
                header=received.headers.get("huikuan-signature", ""),
                body=received.body,
                now=int(time.time()),
            )
            if not received.signature_ok:
                return 400, {"error": "bad signature"}
            return route.status, {"ok": route.status < 300}
        return self._robot(route, received)

    def _limited(self, route: Route) -> bool:
        now = route.clock()
        for limit, seconds in route.limits:
            if sum(1 for at in route.sent_at if at > now - seconds) >= limit:
                return True
        route.sent_at.append(now)
        return False

    def _robot(self, route: Route, received: Received) -> tuple[int, dict]:
        if route.status != 200:
            return route.status, {}
        body = received.json()
        if route.kind == "dingtalk":
            if route.secret:
                stamp = received.query.get("timestamp", "")
                to_sign = f"{stamp}\n{route.secret}".encode()
                expected = base64.b64encode(
                    hmac.new(route.secret.encode(), to_sign, hashlib.sha256).digest()
                ).decode()
                received.signature_ok = hmac.compare_digest(
                    expected, received.query.get("sign", "")
                )
                if not received.signature_ok:
                    return 200, {"errcode": 310000, "errmsg": "sign not match"}
            if self._limited(route):
                return 200, {
                    "errcode": 130101,
                    "errmsg": "send too fast, exceed 20 times per minute",
                }
            return 200, {"errcode": 0, "errmsg": "ok"}
        if route.kind == "wecom":
            if self._limited(route):
                return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        if route.secret:
            stamp = body.get("timestamp", "")
            key = f"{stamp}\n{route.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            received.signature_ok = hmac.compare_digest(expected, body.get("sign", ""))
            if not received.signature_ok:
                return 200, {"code": 19021, "msg": "sign match fail"}
        if self._limited(route):
            return 200, {"code": 9499, "msg": "too many request"}
        return 200, {"code": 0, "msg": "success", "data": {}}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that went away (a worker killed mid-request) is part of the play.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def fake_server() -> Iterator[FakeServer]:
    fake = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers
        # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
        # client's delayed ACK (40 ms a request on Linux), which no real receiver adds.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parsed = urllib.parse.urlsplit(self.path)
            received = Received(
                path=parsed.path,
                query=dict(urllib.parse.parse_qsl(parsed.query)),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length),
                at=time.time(),
            )
            status, answer = fake.answer(received)
            with fake.lock:
                fake.received.append(received)
                route = fake.routes.get(received.path)
                webhook = route is not None and route.kind == "webhook"
                if webhook and received.signature_ok and 200 <= status < 300:
                    fake.ids.setdefault(received.path, []).append(received.json()["id"])
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
