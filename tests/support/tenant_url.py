"""A local platform on loopback standing in for a tenant, as the `--url` options of a CLI command.

Why: the CLI tests of the commands that talk REST to a tenant (`est`, `smartrest template`) start it the same way:
ports 0, the admin's password in an environment variable (never argv), the server CA as `--server-ca`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings


@contextmanager
def local_tenant_url(monkeypatch: pytest.MonkeyPatch, password_env: str) -> Iterator[list[str]]:
    """Start the platform, put the admin's password into `password_env`; yields `--url ... --server-ca ...`."""
    background = BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0,
                                                          sys_interval=0)).start()
    try:
        assert background.local is not None and background.local.server_ca_path is not None
        monkeypatch.setenv(password_env, background.local.admin_password or "")
        yield ["--url", f"https://localhost:{background.ports['https']}", "--server-ca",
               str(background.local.server_ca_path)]
    finally:
        background.stop()
