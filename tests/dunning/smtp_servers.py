"""Real local SMTP servers for the sender's tests: one that delivers (aiosmtpd), and the
ways a mail server fails: refusing (421 at the greeting), dropping the connection,
never answering (a blackhole), absent (nothing listens on the port)."""

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    @property
    def message_ids(self) -> list[str]:
        return [message["Message-ID"] for message in self.messages]


@contextmanager
def smtp_sink(port: int | None = None, sink: Sink | None = None) -> Iterator[tuple[Sink, int]]:
    """A working SMTP server on the port (a free one by default); yields it and its port."""
    sink = sink or Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


class RawServer:
    """Accepts TCP connections and treats each the way `behaviour` says, in a thread."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                accepted, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(accepted)
            if self.behaviour == "refuse":
                accepted.sendall(b"421 4.3.2 Service not available, closing channel\r\n")
                accepted.close()
            elif self.behaviour == "drop":
                accepted.close()
            # "blackhole": keep the connection open and never say a word

    def close(self) -> None:
        for accepted in self.connections:
            accepted.close()
        self.socket.close()


@contextmanager
def raw_server(behaviour: str) -> Iterator[RawServer]:
    server = RawServer(behaviour)
    try:
        yield server
    finally:
        server.close()
