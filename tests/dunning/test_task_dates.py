from datetime import date

import pytest
import time_machine

from dunning.tasks import dunning_run_task

pytestmark = pytest.mark.django_db


def test_dunning_run_task_runs_for_the_given_business_date():
    assert dunning_run_task.delay("2026-06-16").get()["as_of"] == "2026-06-16"


@time_machine.travel("2026-06-15T22:30:00Z", tick=False)
def test_dunning_run_task_defaults_to_the_local_business_date():
    # 22:30 UTC is already the 16th in Shanghai.
    assert dunning_run_task.delay().get()["as_of"] == date(2026, 6, 16).isoformat()


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_dunning_run_task_refuses_a_malformed_date(bad):
    with pytest.raises(ValueError, match=r"isoformat|month"):
        dunning_run_task.delay(bad).get()
