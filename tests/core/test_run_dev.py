"""`make run` stops within seconds of Ctrl-C: the real script, a real worker and web app."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_mentioning(marker: str) -> list[str]:
    """Processes whose command line names this test's own folder (its worker and web app)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in args or marker.encode() in environ:
            found.append(f"{entry.name}: {args}")
    return found


def _wait_until_up(*, port: int, log: Path, deadline: float) -> None:
    worker_ready = web_ready = False
    while time.monotonic() < deadline:
        worker_ready = worker_ready or "ready." in log.read_text(errors="replace")
        if not web_ready:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                web_ready = True
            except OSError as error:
                web_ready = getattr(error, "code", None) is not None
        if worker_ready and web_ready:
            return
        time.sleep(0.3)
    raise AssertionError(f"not up: worker={worker_ready} web={web_ready}\n{log.read_text()}")


@pytest.mark.parametrize(
    ("signal_number", "to_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm"],
)
def test_run_dev_stops_the_worker_and_the_web_app_within_seconds(tmp_path, signal_number, to_group):
    # Given `make run`'s script running with its own files, port and a Celery worker
    port = _free_port()
    log = tmp_path / "run.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "REDIS_", "DATABASE_", "PYTEST_"))
    }
    env.update(
        HUIKUAN_VAR_DIR=str(tmp_path / "var"),
        RUN_PORT=str(port),
        DJANGO_DEBUG="True",
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as output:
        # A terminal runs the job in a process group of its own and Ctrl-C signals that group.
        script = subprocess.Popen(
            ["scripts/run-dev.sh"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # As from a terminal: a shell started in the background (a CI job run with `&`)
            # inherits SIGINT ignored, and bash cannot trap a signal ignored on entry.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        _wait_until_up(port=port, log=log, deadline=time.monotonic() + 90)
        assert _processes_mentioning(str(tmp_path))

        # When the user presses Ctrl-C (or a supervisor sends SIGTERM)
        started = time.monotonic()
        if to_group:
            os.killpg(script.pid, signal_number)
        else:
            script.send_signal(signal_number)

        # Then the script, the worker and the web app are gone within seconds
        script.wait(timeout=STOP_WITHIN)
        while _processes_mentioning(str(tmp_path)) and time.monotonic() - started < STOP_WITHIN:
            time.sleep(0.2)
        assert time.monotonic() - started < STOP_WITHIN
        assert not _processes_mentioning(str(tmp_path)), log.read_text()
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        for line in _processes_mentioning(str(tmp_path)):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
