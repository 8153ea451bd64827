"""The platform's 8883 under sockets that never speak: a certificate device still onboards at once, sockets beyond
the documented pending-handshake bound are closed at accept, and an unknown CA gets a TLS alert the device can read."""

from __future__ import annotations

import ssl
import time
from contextlib import ExitStack

import pytest

from embedded_broker import Limits
from tests.broker import wire
from tests.platform.conftest import wait_event
from tests.platform.support import Rest, make_ca


def test_silent_sockets_do_not_delay_a_certificate_device(local, rest: Rest, root, device) -> None:
    """20 sockets that connect and say nothing (the old gate admitted 4 handshakes at a time, for 10 s each)."""
    rest.upload(root)
    client = device(root.issue("dev-fair"))
    with ExitStack() as stack:
        wire.silent_sockets(local.ports["mqtts"], 20, stack)
        started = time.monotonic()
        assert client.connect() == 0
        assert client.token().count(".") == 2
        assert time.monotonic() - started < 2.0


def test_sockets_above_the_pending_bound_are_refused_and_the_platform_stays_responsive(local, rest: Rest, root,
                                                                                      device, tmp_path) -> None:
    rest.upload(root)
    watcher = device(root.issue("dev-watch"))
    assert watcher.connect() == 0
    limit = Limits().max_pending_handshakes
    with ExitStack() as stack:
        sockets = wire.silent_sockets(local.ports["mqtts"], limit + 5, stack)
        closed = wire.closed_within(sockets, 2.0)
        assert len(closed) == 5
        assert local.call(lambda: local.local.broker.stats["refused"]) == 5
        assert rest.call("GET", "/health").status == 200
        assert watcher.token().count(".") == 2  # a connected device is served while the bound is full
        next(s for s in sockets if s not in closed).close()  # a slot frees up: the next device gets in
        # a plain ssl client: paho's select() cannot watch the high descriptor numbers this test now uses
        ctx = rest.context(root.issue("dev-new").write(tmp_path, "dev-new"))
        deadline = time.monotonic() + 5
        while True:
            try:
                assert wire.tls_connack(local.ports["mqtts"], ctx, "d:dev-new") == b"\x20\x02\x00\x00"
                break
            except (ssl.SSLError, ConnectionError):
                assert time.monotonic() < deadline, "no slot freed up"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_an_unknown_ca_gets_a_tls_alert(local, rest: Rest, root, tmp_path, version) -> None:
    rest.upload(root)
    ctx = rest.context(make_ca("Stranger CA").issue("dev-x").write(tmp_path, "stranger"))
    ctx.maximum_version = version
    with pytest.raises(ssl.SSLError) as caught:
        wire.tls_connack(local.ports["mqtts"], ctx, "d:dev-x")
    reason = str(caught.value.reason)
    assert "ALERT" in reason and ("UNKNOWN_CA" in reason or "CERTIFICATE_UNKNOWN" in reason), reason
    assert "does not reach any trusted CA" in wait_event(local, "tls_failed")["message"]
