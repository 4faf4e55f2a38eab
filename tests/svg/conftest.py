import pytest

from rlrf.config import RenderConfig
from rlrf.svg.pool import RenderPool

# Static limits relaxed so the dynamic limits (timeout, memory) are what gets exercised.
HOSTILE_LIMITS = RenderConfig(
    timeout_s=2.0, memory_mb=1024, workers=2, max_elements=10**6, max_input_chars=10**8
)


@pytest.fixture(scope="session")
def hostile_pool():
    with RenderPool(HOSTILE_LIMITS) as pool:
        yield pool


@pytest.fixture(scope="session")
def pool():
    with RenderPool(RenderConfig(timeout_s=2.0, workers=2)) as pool:
        yield pool
