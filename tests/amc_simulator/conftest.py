"""The simulator's fixtures; harmless once tests/conftest.py registers the plugin too."""

from tests.fixtures.simulator import (  # noqa: F401
    amc_headers,
    amc_sim,
    amc_simulator,
    make_amc_instance,
)
