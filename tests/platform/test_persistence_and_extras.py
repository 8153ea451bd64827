"""A16 persistence across restarts, and the local extras: the live event stream, JWKS and health.

A16 is a decision of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
from pathlib import Path

from embedded_broker.local_platform import BackgroundLocalPlatform
from tests.platform.support import Device, Rest


def test_restart_keeps_tenants_certificates_devices_options_and_the_signing_key(settings, root, tmp_path) -> None:
    settings.data_dir = tmp_path / "lp"
    files = root.issue("dev-persist").write(tmp_path, "dev-persist")
    with BackgroundLocalPlatform(settings) as first:
        password = first.local.admin_password
        rest = Rest(first.ports["https"], first.local.server_ca_path, "t100/admin", password)
        fp = rest.upload(root).json["fingerprint"]
        rest.call("POST", "/tenant/options", {"category": "oauth.internal", "key": "device-token.lifespan.seconds",
                                              "value": "900"})
        client = Device(first.ports["mqtts"], first.local.server_ca_path, "d:dev-persist", files)
        assert client.connect() == 0
        token = client.token()
        client.publish("s/us", "100", qos=1)
        client.close()
        ca_pem = first.local.server_ca_path.read_bytes()
        jwks = rest.call("GET", "/.well-known/jwks.json", auth=False).json
    with BackgroundLocalPlatform(settings) as second:
        assert second.local.admin_password is None  # not a first start
        assert second.local.server_ca_path.read_bytes() == ca_pem  # truststores made before keep working
        rest = Rest(second.ports["https"], second.local.server_ca_path, "t100/admin", password)
        assert rest.call("GET", f"/tenant/tenants/t100/trusted-certificates/{fp}").status == 200
        assert rest.call("GET", "/tenant/options/oauth.internal/device-token.lifespan.seconds").json["value"] == "900"
        assert rest.call("GET", "/.well-known/jwks.json", auth=False).json == jwks
        assert rest.call("GET", "/user/currentUser", token=token).json["userName"] == "device_dev-persist"
        assert rest.call("GET", "/identity/externalIds/c8y_Serial/dev-persist").status == 200
        client = Device(second.ports["mqtts"], second.local.server_ca_path, "d:dev-persist", files)
        try:
            assert client.connect() == 0
            assert client.token() == token  # still before half-life: the same token, from the database
        finally:
            client.close()
        registered = second.call(lambda: second.platform.events.recent("registered"))
        assert registered == []  # the device user was already there


def test_event_stream_reports_uploads_and_refusals(local, rest: Rest, root, device, ca_path: Path) -> None:
    received: list[dict] = []
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        connection = http.client.HTTPSConnection("127.0.0.1", local.ports["https"], timeout=10,
                                                 context=ssl.create_default_context(cafile=str(ca_path)))
        auth = base64.b64encode(f"{rest.user}:{rest.password}".encode()).decode()
        connection.request("GET", "/platform/events", headers={"Authorization": f"Basic {auth}"})
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
        ready.set()
        while not done.is_set():
            line = response.readline().decode()
            if line.startswith("data: "):
                received.append(json.loads(line[6:]))
                if any(e["kind"] == "refused" for e in received):
                    done.set()
        connection.close()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    rest.upload(root, auto=False)
    assert device(root.issue("dev-sse")).connect() == 5
    assert done.wait(10)
    thread.join(10)
    kinds = [e["kind"] for e in received]
    assert "certificate_uploaded" in kinds and "refused" in kinds
    refused = next(e for e in received if e["kind"] == "refused")
    assert "auto-registration is off" in refused["message"] and refused["time"].endswith("Z")


def test_health_and_jwks_need_no_credentials(local, rest: Rest) -> None:
    health = rest.call("GET", "/health", auth=False).json
    assert health["status"] == "UP" and health["tenants"] == ["t100"] and health["ports"]["mqtts"] > 0
    key = rest.call("GET", "/.well-known/jwks.json", auth=False).json["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]


def test_a_busy_port_moves_to_the_next_free_one_and_says_so(settings) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        settings.mqtt_port = taken
        with BackgroundLocalPlatform(settings) as background:
            moved = background.ports["mqtt"]
            assert moved != taken and taken < moved < taken + 20
            assert f"port {taken} (mqtt) is busy; using {moved}" in background.local.summary()
