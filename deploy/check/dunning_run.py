"""Dunning run on the workers, for the container check (fed to `manage.py shell`).

The check prepends `AS_OF = "YYYY-MM-DD"` and `APPROVE = True|False`. This
dispatches `dunning_run_task` for that business date through the broker,
waits for its chunks to be processed by the workers, optionally approves the
date's demand letters as finance1 (so the workers render and send them too),
waits until no message of the date is pending or sending, and prints one
JSON line: the run, its chunk ids, the messages by status and the
X-Huikuan-Communication ids of those sent by email.
"""

import json
import time
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from dunning.models import Communication, DunningRunChunk
from dunning.models.policy import EMAIL_CHANNELS
from dunning.services.communications import communication_approve
from dunning.tasks import dunning_run_task

AS_OF = globals().get("AS_OF") or timezone.localdate().isoformat()
APPROVE = globals().get("APPROVE", False)
business_date = date.fromisoformat(AS_OF)
UNFINISHED = [Communication.Status.PENDING, Communication.Status.SENDING]


def wait(what: str, done, seconds: int = 300) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(1)


planned = dunning_run_task.delay(AS_OF).get(timeout=120)
run_id = planned["run_id"]
chunks = DunningRunChunk.objects.filter(run_id=run_id)
messages = Communication.objects.filter(business_date=business_date)
wait("the chunks", lambda: not chunks.filter(status=DunningRunChunk.Status.PENDING).exists())
approved = 0
if APPROVE:
    finance = get_user_model().objects.get(username="finance1")
    for communication in messages.filter(status=Communication.Status.AWAITING_APPROVAL):
        communication_approve(communication=communication, actor=finance)
        approved += 1
wait("the messages to be sent", lambda: not messages.filter(status__in=UNFINISHED).exists())

sent = messages.filter(status=Communication.Status.SENT)
emailed = [
    str(c.message_id)
    for c in sent
    if EMAIL_CHANNELS & set(c.channels) and c.recipient_email and c.sent_at
]
summary = {
    "as_of": AS_OF,
    "run_id": run_id,
    "chunk_ids": list(chunks.values_list("pk", flat=True)),
    "chunks_failed": chunks.filter(status=DunningRunChunk.Status.FAILED).count(),
    "approved": approved,
    "by_status": dict(messages.values_list("status").annotate(n=Count("pk")).order_by()),
    "letters": sent.exclude(letter_pdf="").count(),
    "emailed": emailed,
}
print(json.dumps(summary))  # noqa: T201
