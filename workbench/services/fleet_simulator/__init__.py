"""The fleet simulator: many certificate devices, each with its own identity, against the local platform, a tenant
or a standards broker (see engine.py); the package holds the fleet sources, the device task, the figures and the
Locust user."""

from __future__ import annotations

from pathlib import Path

from workbench.services.fleet_simulator.device import PATTERNS, Behaviour, Target
from workbench.services.fleet_simulator.engine import REGISTRATIONS, PlatformLink, RunOptions, Simulator
from workbench.services.fleet_simulator.figures import Figures, merge, one_line
from workbench.services.fleet_simulator.source import (
    Fleet,
    FleetDevice,
    enroll_over_est,
    fleet_from_csv,
    fleet_from_folder,
    fleet_from_ids,
    issue_from_store,
)

LOCUSTFILE = Path(__file__).with_name("locustfile.py")

__all__ = ["LOCUSTFILE", "PATTERNS", "REGISTRATIONS", "Behaviour", "Figures", "Fleet", "FleetDevice", "PlatformLink",
           "RunOptions", "Simulator", "Target", "enroll_over_est", "fleet_from_csv", "fleet_from_folder",
           "fleet_from_ids", "issue_from_store", "merge", "one_line"]
