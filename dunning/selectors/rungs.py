"""Ranks of the ladder's rungs, as SQL."""

from django.db.models import Case, IntegerField, Value, When

from dunning.models import RUNG_RANKS


def step_rank() -> Case:
    """Expression on a step: its rung's rank (1 to 4), None for the pre-due reminder."""
    return Case(
        *(When(level=level, then=Value(rank)) for level, rank in RUNG_RANKS.items()),
        output_field=IntegerField(),
    )
