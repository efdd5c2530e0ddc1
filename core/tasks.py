import os
import socket

from celery import shared_task


@shared_task(name="core.tasks.worker_ping")
def worker_ping(token: str) -> dict[str, object]:
    """Answer with the worker's identity, to prove a task crossed the broker."""
    return {"token": token, "pid": os.getpid(), "hostname": socket.gethostname()}
