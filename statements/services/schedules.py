"""The customer's statement schedule."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from receivables.models import Customer
from statements.models import StatementSchedule


@transaction.atomic
def statement_schedule_set(
    *,
    customer: Customer,
    frequency: str,
    working_day: int,
    send_at_zero_balance: bool,
    actor: AbstractBaseUser | None,
) -> StatementSchedule:
    """Set when the customer's finance contact receives statements (monthly on a working day,
    or off)."""
    schedule, _created = StatementSchedule.objects.select_for_update().get_or_create(
        customer=customer
    )
    schedule.frequency = frequency
    schedule.working_day = working_day
    schedule.send_at_zero_balance = send_at_zero_balance
    schedule.full_clean()
    schedule.save()
    return schedule
