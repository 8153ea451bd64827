"""Fixtures the service tests share, defined once in their support modules: the fake clock, the in-process local
platform reading it, and the fleet simulator's view of that platform."""

from tests.services.fleet_sim_support import side  # noqa: F401  (fixture)
from tests.services.onboarding_support import clock, platform  # noqa: F401  (fixtures)
