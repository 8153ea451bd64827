"""Local platform fixtures: an ephemeral platform on 127.0.0.1 with every port 0, and clients for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings
from tests.platform.support import Cert, Device, Rest, make_ca


@pytest.fixture
def settings() -> PlatformSettings:
    """Tests may change these before the platform starts."""
    return PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)


@pytest.fixture
def local(settings: PlatformSettings) -> Iterator[BackgroundLocalPlatform]:
    background = BackgroundLocalPlatform(settings).start()
    yield background
    background.stop()


@pytest.fixture
def ca_path(local: BackgroundLocalPlatform) -> Path:
    assert local.local is not None and local.local.server_ca_path is not None
    return local.local.server_ca_path


@pytest.fixture
def rest(local: BackgroundLocalPlatform, ca_path: Path) -> Rest:
    assert local.local is not None and local.local.admin_password is not None
    return Rest(local.ports["https"], ca_path, "t100/admin", local.local.admin_password)


@pytest.fixture
def root() -> Cert:
    return make_ca()


@pytest.fixture
def device(local: BackgroundLocalPlatform, ca_path: Path, tmp_path: Path) -> Iterator[Callable[..., Device]]:
    """Factory: a device client for a certificate (the chain is sent), closed at teardown."""
    made: list[Device] = []

    def make(cert: Cert | None, client_id: str | None = None, leaf_only: bool = False, **options: Any) -> Device:
        files = cert.write(tmp_path, f"dev{len(made)}", leaf_only) if cert is not None else None
        cn = cert.cert.subject.rfc4514_string().removeprefix("CN=") if cert is not None else "nobody"
        client = Device(local.ports["mqtts"], ca_path, client_id or f"d:{cn}", files, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def certified_device(rest: Rest, root: Cert, device: Callable[..., Device]) -> Callable[..., Device]:
    """Factory: a connected certificate device of the uploaded `root` CA, subscribed to the given topics."""
    assert rest.upload(root).status == 201

    def make(cn: str, *topics: str) -> Device:
        client = device(root.issue(cn))
        assert client.connect() == 0
        for topic in topics:
            client.subscribe(topic)
        return client

    return make


def events(local: BackgroundLocalPlatform, kind: str | None = None) -> list[dict[str, Any]]:
    """The platform's event log (read on its loop)."""
    return local.call(lambda: local.platform.events.recent(kind))


def wait_event(local: BackgroundLocalPlatform, kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda e: True,
               timeout: float = 10.0) -> dict[str, Any]:
    """The first event of `kind` matching `predicate`, waiting for it (events arrive on the platform's loop)."""
    found: list[dict[str, Any]] = []
    done = threading.Event()

    def check(event: dict[str, Any]) -> None:
        if event["kind"] == kind and predicate(event) and not done.is_set():
            found.append(event)
            done.set()

    def install() -> None:
        for event in local.platform.events.recent(kind):
            check(event)
        local.platform.events.add_callback(check)

    local.call(install)
    assert done.wait(timeout), f"no {kind} event; saw {[e['message'] for e in events(local)]}"
    return found[0]
