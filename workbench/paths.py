"""Where the app keeps its data, config and cache, and where bundled resources are, also inside a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "DeviceOnboardingWorkbench"
APP_AUTHOR = "Workbench"


def _override(var: str) -> Path | None:
    """Let tests and development point a directory elsewhere; read here only, never deep in the code."""
    value = os.environ.get(var)
    return Path(value) if value else None


def config_dir() -> Path:
    """Settings and connection profiles (JSON)."""
    return _override("WORKBENCH_CONFIG_DIR") or Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    """Workspaces (CA stores) and the local platform's data folder."""
    return _override("WORKBENCH_DATA_DIR") or Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def default_workspace() -> Path:
    """The CA store a user gets without choosing one."""
    return data_dir() / "workspaces" / "default"


def resource_path(*parts: str) -> Path:
    """Find a file under resources/, from a checkout or from inside a PyInstaller bundle."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    base = Path(bundle_root) if bundle_root else Path(__file__).resolve().parent.parent
    return base.joinpath("resources", *parts)
