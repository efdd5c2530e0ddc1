"""The active dunning policy and the values read from it: one home for each.

- `policy_active`: the one active policy (None when none is installed);
  `policy_active_or_default` stands in an unsaved policy with the model's
  defaults, so readers never spell a default twice.
- `letter_deadline`: a demand letter's final deadline, letter date plus the
  policy's days (default 7); `communication_letter_date` the date a message's
  letter goes out (re-dated on approval), and `communication_letter_deadline`
  the deadline it prints.
- The pre-due window: an item gets its pre-due reminder on the first run on or
  after the day N working days before its due date, and only while it is not
  yet due: on its due date it is due, so the window is as_of < due <= the
  last due date whose reminder day has come (`pre_due_q`).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Expression, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dunning.calendar import pre_due_last_due_date
from dunning.models import Communication, DunningPolicy
from receivables.selectors.balances import DEFAULT_TOLERANCE, MONEY_FIELD


def policy_active(*, with_levels: bool = False) -> DunningPolicy | None:
    """Return the active dunning policy, if one is installed."""
    queryset = DunningPolicy.objects.filter(is_active=True)
    if with_levels:
        queryset = queryset.prefetch_related("levels")
    return queryset.first()


def communication_policy(*, communication: Communication) -> DunningPolicy | None:
    """The policy a message was made under: its run's, else the active one."""
    if communication.run_id and communication.run.policy_id:
        return communication.run.policy
    return policy_active()


def policy_active_or_default() -> DunningPolicy:
    """The active policy, or an unsaved one with the defaults where none is installed."""
    return policy_active() or DunningPolicy(name="default")


def policy_tolerance(*, policy: DunningPolicy | None = None) -> Decimal:
    """Items owing less than this are not chased (the policy's tolerance, default 1.00)."""
    return (policy or policy_active_or_default()).tolerance


def policy_tolerance_expression() -> Expression:
    """The active policy's tolerance as an SQL expression (default 1.00): a query that tests
    the tolerance needs no query of its own to read the policy."""
    return Coalesce(
        Subquery(
            DunningPolicy.objects.filter(is_active=True).values("tolerance")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(DEFAULT_TOLERANCE, output_field=MONEY_FIELD),
    )


def policy_promise_grace_days(*, policy: DunningPolicy | None = None) -> int:
    """Days after a promised date that its items stay paused (default 3)."""
    return (policy or policy_active_or_default()).promise_grace_days


def policy_letter_deadline_days(*, policy: DunningPolicy | None = None) -> int:
    """Days from the letter date to a demand letter's final deadline (default 7)."""
    return (policy or policy_active_or_default()).letter_deadline_days


def letter_deadline(
    *, letter_date: date, policy: DunningPolicy | None = None, days: int | None = None
) -> date:
    """A demand letter's final deadline: the letter date plus the policy's (or the given) days."""
    if days is None:
        days = policy_letter_deadline_days(policy=policy)
    return letter_date + timedelta(days=days)


def communication_letter_date(*, communication: Communication) -> date:
    """Date a message's letter (and its email) on the business day it goes out.

    A message held for approval goes out when finance approves it, so it is
    re-dated to the approval's business date (never before its run's), and
    the customer gets the policy's full days from the day it leaves. Any other
    message goes out with the send sweep of its run's business date.
    """
    if communication.approved_at is not None:
        return max(communication.business_date, timezone.localdate(communication.approved_at))
    return communication.business_date


def communication_letter_deadline(
    *, communication: Communication, policy: DunningPolicy | None = None
) -> date:
    """The final deadline a message's letter and email print: its letter date plus the days."""
    if policy is None:
        policy = communication_policy(communication=communication)
    return letter_deadline(
        letter_date=communication_letter_date(communication=communication), policy=policy
    )


def pre_due_last_due(*, as_of: date, policy: DunningPolicy | None = None) -> date:
    """The last due date whose pre-due reminder day has come by as_of (as_of when none)."""
    policy = policy or policy_active_or_default()
    return pre_due_last_due_date(as_of=as_of, working_days=policy.pre_due_working_days)


def pre_due_q(
    *, as_of: date, policy: DunningPolicy | None = None, last_due: date | None = None
) -> Q:
    """Condition on `due_date`: in the pre-due window, not yet due (due today is due)."""
    if last_due is None:
        last_due = pre_due_last_due(as_of=as_of, policy=policy)
    return Q(due_date__gt=as_of, due_date__lte=last_due)
