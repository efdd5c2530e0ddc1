"""Statement runs exactly once against PostgreSQL, with real concurrent processes."""

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from statements.models import Statement
from statements.services.runs import statement_run
from tests.dunning.processes import child_env, finish, manage, python
from tests.factories.statements import scheduled_customer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

RUN_DAY = "2026-12-01"
MESSAGE_ID = re.compile(r"^Message-ID: (<[^>]+>)", re.MULTILINE)


def message_ids(folder: Path) -> list[str]:
    found = []
    for path in folder.glob("*"):
        found.extend(MESSAGE_ID.findall(path.read_text(errors="replace")))
    return found


def test_four_runs_at_once_create_each_statement_once():
    # Given 30 committed customers on a monthly schedule, 3 of them at zero balance
    for number in range(30):
        balance = None if number < 3 else Decimal("100.00")
        scheduled_customer(code=f"K-{number:03d}", balance=balance)

    # When four processes run the same business date at the same moment, in chunks of 4
    processes = [
        manage("run_statements", "--as-of", RUN_DAY, "--no-send", "--chunk-size", "4")
        for _ in range(4)
    ]
    results = [json.loads(finish(process)[0]) for process in processes]

    # Then each customer that owes has exactly one statement, and the runs agree on it
    assert sum(result["created"] for result in results) == 27
    assert Statement.objects.count() == 27
    assert Statement.objects.values("customer").distinct().count() == 27
    # And a later run of the same period creates nothing
    assert statement_run(as_of=date.fromisoformat(RUN_DAY)).created == 0


def test_three_senders_at_once_send_every_statement_once(tmp_path):
    for number in range(12):
        scheduled_customer(code=f"K-{number:03d}")
    statement_run(as_of=date.fromisoformat(RUN_DAY))
    outbox = tmp_path / "outbox"
    env = child_env(EMAIL_URL=f"filemail:///{outbox}", DJANGO_MEDIA_ROOT=str(tmp_path / "media"))

    senders = [
        python(
            "from statements.services.runs import statements_send\n"
            "print(len(statements_send().sent))\n",
            env=env,
        )
        for _ in range(3)
    ]
    sent = [int(finish(sender)[0].strip()) for sender in senders]

    assert sum(sent) == 12
    ids = message_ids(outbox)
    assert len(ids) == 12
    statements = Statement.objects.all()
    assert set(ids) == {statement.email_message_id for statement in statements}
    assert set(statements.values_list("status", flat=True)) == {Statement.Status.SENT}
    assert set(statements.values_list("attempts", flat=True)) == {1}
