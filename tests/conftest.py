"""Suite-wide setup: Qt offscreen before any QApplication, an in-memory keyring, Hypothesis profiles, markers."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Iterator

# Must happen before PySide6 creates a QApplication: with no display Qt aborts the process (docs/platform-notes.md).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
# The OS keyring is one of the two things we fake (the clock is the other).
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.support.memory_keyring.MemoryKeyring"

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-bundle", action="store_true", help="skip the PyInstaller bundle build test")
    parser.addoption("--skip-slow", action="store_true", help="skip tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skips = {
        "bundle": (config.getoption("--skip-bundle"), "--skip-bundle given"),
        "slow": (config.getoption("--skip-slow"), "--skip-slow given"),
    }
    for item in items:
        for marker, (active, reason) in skips.items():
            if active and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real user's config, data, cache and log folders."""
    root = tmp_path_factory.mktemp("home")
    for var in ("WORKBENCH_CONFIG_DIR", "WORKBENCH_DATA_DIR", "WORKBENCH_CACHE_DIR", "WORKBENCH_LOG_DIR"):
        monkeypatch.setenv(var, str(root / var.lower()))


@pytest.fixture(autouse=True)
def _umask_restored() -> Iterator[None]:
    """A test that runs `embedded-broker`'s main in this process gets its umask 077; the next tests keep theirs."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(autouse=True)
def _main_thread_collects() -> Iterator[None]:
    """Once the GUI tests turned automatic collection off (workbench/ui/gui_thread.py: never on a worker thread), the
    main thread collects after each test, so tests that never spin the Qt loop do not pile up garbage."""
    yield
    if not gc.isenabled() and "workbench.ui.gui_thread" in sys.modules:
        sys.modules["workbench.ui.gui_thread"].collect_due()


@pytest.fixture(autouse=True)
def _qt_loop_stays_out_of_other_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """The GUI tests' session qasync loop is marked running; a later test's asyncio.run must not see it, and the
    GUI tests after it must get it back (whatever order the tests run in)."""
    running = asyncio.events._get_running_loop()
    if running is None or "tests/ui/" in str(request.node.fspath):
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(running)
        asyncio.set_event_loop(running)
