"""Demo dunning history: the ladder run over the demo book on a few past dates.

Idempotent: a date that already ran is not run again (replaying an older date
after later ones would reopen cases and add chunks), so running the seed again
the same day changes nothing. Messages go to a dummy mail backend
(demo data never mails anyone); older demand letters are approved by the
demo finance user so that letters, tasks and escalations appear at several
levels, and the most recent ones wait in the approval queue.
"""

from datetime import datetime, time, timedelta

from django.contrib.auth.models import AbstractUser
from django.core.mail import get_connection
from django.utils import timezone

from core.exceptions import BusinessRuleError
from dunning.models import Communication, DunningRun
from dunning.services.communications import communication_approve
from dunning.services.run import run_dunning
from dunning.services.send import communications_send

# Days before today on which the demo runs the ladder, oldest first.
RUN_DAYS_AGO = (75, 60, 45, 31, 17, 10, 3, 1, 0)
# Letters of runs at least this old are approved; newer ones wait for finance.
APPROVE_OLDER_THAN_DAYS = 5


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    today = timezone.localdate()
    connection = get_connection("django.core.mail.backends.dummy.EmailBackend")
    created = 0
    already_run = set(
        DunningRun.objects.filter(status=DunningRun.Status.COMPLETED).values_list(
            "business_date", flat=True
        )
    )
    for days_ago in RUN_DAYS_AGO:
        as_of = today - timedelta(days=days_ago)
        if as_of in already_run:
            continue
        try:
            result = run_dunning(as_of=as_of)
        except BusinessRuleError as error:
            stdout.write(f"  dunning skipped: {error.message}")
            return
        created += len(result.communications)
        waiting = Communication.objects.filter(
            status=Communication.Status.AWAITING_APPROVAL,
            business_date__lte=today - timedelta(days=APPROVE_OLDER_THAN_DAYS),
        )
        for communication in waiting:
            # Finance approved it the morning after its run: the letter is dated then.
            approved_at = timezone.make_aware(
                datetime.combine(communication.business_date + timedelta(days=1), time(9, 30))
            )
            communication_approve(
                communication=communication, actor=users["finance1"], approved_at=approved_at
            )
        communications_send(connection=connection)
    stdout.write(
        f"  dunning: {created} communications over {len(RUN_DAYS_AGO)} run dates, "
        f"{Communication.objects.filter(status=Communication.Status.AWAITING_APPROVAL).count()} "
        "awaiting approval"
    )
