import pytest

from tests.factories.dunning import ensure_default_policy
from tests.integrations.fake_servers import fake_server


@pytest.fixture(autouse=True)
def _policy():
    ensure_default_policy()


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server
