"""A local stand-in for Amazon Marketing Cloud's reporting API (see AMC.md, DESIGN.md section 5).

Standard library HTTP plus DuckDB over a synthetic, seeded dataset; it imports nothing from
Django or the rest of the product. Start it with `SimulatorServer(...).start()`, the
`amc_simulator` management command, or `python -m recomamp.amc_simulator`.
"""

from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INSTANCES,
    DEMO_REFRESH_TOKEN,
    Faults,
    InstanceSettings,
    RuntimeSettings,
    SimulatorConfig,
)
from .server import SimulatorServer

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_INSTANCES",
    "DEMO_REFRESH_TOKEN",
    "Faults",
    "InstanceSettings",
    "RuntimeSettings",
    "SimulatorConfig",
    "SimulatorServer",
]
