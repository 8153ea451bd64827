"""Shared ground of the fleet simulator tests: a store CA with a small issued fleet, a local platform, and the
simulator's target and tenant link for it (real TLS on 127.0.0.1, ports 0)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509

from embedded_broker import BackgroundLocalPlatform
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.profiles import root_ca_profile
from workbench.core.tls import server_context, trust_from_pem
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords
from workbench.services.fleet_simulator import Fleet, PlatformLink, Target, issue_from_store
from workbench.services.platform_http import PlatformCredentials

CA_PASSWORD = b"fleet-sim-ca-pw"
T = TypeVar("T")


def make_store_fleet(workspace: Path, out: Path, count: int, name: str = "Sim Root") -> Fleet:
    """A root CA in a fresh store and ``count`` devices issued from it through the store fleet."""
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    certificates.create_ca(workspace, certificates.NewCA(subject, KeySpec.EC_P256, root_ca_profile(), CA_PASSWORD,
                                                         name=name), CAPasswords.given(CA_PASSWORD))
    return issue_from_store(workspace, name, count, out, CAPasswords.given(CA_PASSWORD))


@dataclass
class PlatformSide:
    """What the simulator needs of a running local platform."""

    background: BackgroundLocalPlatform
    target: Target
    link: PlatformLink
    trust: tuple[x509.Certificate, ...]

    @property
    def https(self) -> int:
        return self.background.ports["https"]


def platform_side(background: BackgroundLocalPlatform) -> PlatformSide:
    """The MQTTS target and the admin link of an in-process platform."""
    local = background.local
    assert local is not None and local.server_ca_path is not None
    trust = trust_from_pem(local.server_ca_path.read_bytes())
    link = PlatformLink(f"https://localhost:{background.ports['https']}",
                        PlatformCredentials("admin", local.admin_password or "", "t100"), server_context(trust))
    return PlatformSide(background, Target("localhost", background.ports["mqtts"], server_trust=trust), link, trust)


@pytest.fixture
def side(platform: BackgroundLocalPlatform) -> PlatformSide:
    """The simulator's view of the clocked in-process platform (the `platform` fixture of onboarding_support)."""
    return platform_side(platform)


def run(coroutine: Awaitable[T]) -> T:
    """One test's asyncio run."""
    async def main() -> T:
        return await coroutine
    return asyncio.run(main())


async def wait_for(check: Callable[[], Any], what: str, seconds: float = 15.0) -> Any:
    """Await a condition on the running loop with a deadline (the simulator runs on the same loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = check()
        if result:
            return result
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def dump(summary: dict[str, Any]) -> str:
    """A summary for assertion messages."""
    return json.dumps(summary, indent=1)[:3000]
