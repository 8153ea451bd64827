"""Tenant and device isolation, black-box: device tokens on other devices' data, client ids of other identities,
sessions across tenants, the event log per tenant, and the empty password (CONNACK 5, not 4)."""

from __future__ import annotations

import base64
import http.client
import json
import queue
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform.conftest import wait_event
from tests.platform.support import WAIT, Cert, Device, Rest, make_ca
from tests.support import polling

FORBIDDEN = {"error": "security/Forbidden", "message": "Access is denied.",
             "info": "https://www.cumulocity.com/guides/reference-guide/#error_reporting"}
BASIC_CSV = b"ID;CREDENTIALS;AUTH_TYPE\nbasicdev;Secret123Secret123!;BASIC\n"
BASIC_PASSWORD = "Secret123Secret123!"
NOT_AUTHORIZED = 5


def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """The first truthy result of `check`, polled until a deadline."""
    return polling.until(check, what, timeout)


def other_tenant(rest: Rest, tenant: str = "t200") -> Rest:
    """A second tenant, created over REST, and a REST client logged in as its admin."""
    created = rest.call("POST", "/platform/tenants", {"id": tenant})
    assert created.status == 201, created.body
    other = Rest(0, rest.ca_path, f"{tenant}/admin", created.json["password"])
    other.base = rest.base
    return other


def mo_of(rest: Rest, serial: str) -> str:
    """The managed object id of a device, waiting for its first `s/us` to create it."""
    def found() -> str | None:
        answer = rest.call("GET", f"/identity/externalIds/c8y_Serial/{serial}")
        return answer.json["managedObject"]["id"] if answer.status == 200 else None
    return until(found, f"managed object of {serial}")


def online(rest: Rest, device_id: str) -> bool:
    """Whether the tenant of `rest` lists the device as connected."""
    devices = rest.call("GET", "/platform/devices").json["devices"]
    return any(d["deviceId"] == device_id and d["connected"] for d in devices)


class RawMqtt:
    """A raw MQTT 3.1.1 client on a socket (plain 1883, or TLS without a client certificate): CONNECT, CONNACK."""

    def __init__(self, port: int, ca_path: Path | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        if ca_path is not None:
            sock = ssl.create_default_context(cafile=str(ca_path)).wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock

    def connect(self, client_id: str, username: str | None, password: bytes | None) -> int:
        """Send CONNECT (clean session, keep-alive 60 s) and return the CONNACK return code."""
        flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
        body = _string(b"MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + _string(client_id.encode())
        if username is not None:
            body += _string(username.encode())
        if password is not None:
            body += _string(password)
        self.sock.sendall(bytes([0x10]) + _length(len(body)) + body)
        connack = self._read(4)
        assert connack[0] == 0x20, connack
        return connack[3]

    def alive(self) -> bool:
        """A PINGREQ answered with PINGRESP: the server still serves this connection."""
        try:
            self.sock.sendall(b"\xc0\x00")
            return self._read(2) == b"\xd0\x00"
        except (OSError, AssertionError):
            return False

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def _string(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def _length(value: int) -> bytes:
    out = b""
    while True:
        value, digit = divmod(value, 128)
        out += bytes([digit | (0x80 if value else 0)])
        if not value:
            return out


@pytest.fixture
def raw(local, ca_path: Path) -> Iterator[Callable[..., RawMqtt]]:
    """Factory of raw MQTT connections: `raw("mqtt")` plain, `raw("mqtts")` TLS without a client certificate."""
    made: list[RawMqtt] = []

    def make(listener: str = "mqtt") -> RawMqtt:
        client = RawMqtt(local.ports[listener], ca_path if listener == "mqtts" else None)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def started(device: Callable[..., Device], cert: Cert, client_id: str | None = None) -> Device:
    """A certificate device, connected, subscribed to `s/ds` and past the delivery gate (its MO exists)."""
    client = device(cert, client_id)
    assert client.connect() == 0
    client.subscribe("s/ds", 1)
    client.publish("s/us", "100", qos=1)
    return client


# --- 1. device tokens on other devices' data -------------------------------------------------------------------
def test_a_device_token_reaches_only_its_own_objects(local, rest: Rest, root: Cert, device) -> None:
    rest.upload(root)
    dev1, dev2 = started(device, root.issue("dev1")), started(device, root.issue("dev2"))
    assert device(root.issue("dev3")).connect() == 0  # registered (auto), no managed object yet
    mo1, mo2 = mo_of(rest, "dev1"), mo_of(rest, "dev2")
    token1, token2 = dev1.token(), dev2.token()
    dev2.publish("s/us", "101,dev2-child,Child of dev2,c8y_MQTTChildDevice", qos=1)
    child = until(lambda: [r["managedObject"]["id"] for r in rest.call("GET", f"/inventory/managedObjects/{mo2}").json
                           .get("childDevices", {}).get("references", [])], "dev2's child device")[0]
    alarm = rest.call("POST", "/alarm/alarms", {"source": {"id": mo1}, "type": "c8y_Door", "text": "open",
                                                "severity": "MAJOR"}).json["id"]
    measurement = rest.call("POST", "/measurement/measurements", {"source": {"id": mo1}, "type": "c8y_T",
                                                                  "c8y_T": {"T": {"value": 1, "unit": "C"}}})
    operation = rest.call("POST", "/devicecontrol/operations", {"deviceId": mo1, "c8y_Restart": {}}).json["id"]

    def as_dev2(method: str, path: str, body: Any = None) -> Any:
        return rest.call(method, path, body, token=token2)

    refused = {
        "PUT managed object": as_dev2("PUT", f"/inventory/managedObjects/{mo1}", {"name": "x"}),
        "DELETE managed object": as_dev2("DELETE", f"/inventory/managedObjects/{mo1}"),
        "GET managed object": as_dev2("GET", f"/inventory/managedObjects/{mo1}"),
        "list external ids": as_dev2("GET", f"/identity/globalIds/{mo1}/externalIds"),
        "bind external id": as_dev2("POST", f"/identity/globalIds/{mo1}/externalIds",
                                    {"type": "c8y_Other", "externalId": "stolen"}),
        "measurement": as_dev2("POST", "/measurement/measurements", {"source": {"id": mo1}, "type": "c8y_T",
                                                                     "c8y_T": {"T": {"value": 9, "unit": "C"}}}),
        "event": as_dev2("POST", "/event/events", {"source": {"id": mo1}, "type": "c8y_E", "text": "fake"}),
        "alarm": as_dev2("POST", "/alarm/alarms", {"source": {"id": mo1}, "type": "c8y_A", "text": "fake",
                                                   "severity": "MINOR"}),
        "update alarm": as_dev2("PUT", f"/alarm/alarms/{alarm}", {"status": "CLEARED"}),
        "read alarm": as_dev2("GET", f"/alarm/alarms/{alarm}"),
        "read measurement": as_dev2("GET", f"/measurement/measurements/{measurement.json['id']}"),
        "list by source": as_dev2("GET", f"/measurement/measurements?source={mo1}"),
        "read operation": as_dev2("GET", f"/devicecontrol/operations/{operation}"),
        "update operation": as_dev2("PUT", f"/devicecontrol/operations/{operation}", {"status": "FAILED"}),
        "list operations": as_dev2("GET", f"/devicecontrol/operations?deviceId={mo1}"),
        "create operation": as_dev2("POST", "/devicecontrol/operations", {"deviceId": mo1, "c8y_Restart": {}}),
        "options": as_dev2("POST", "/tenant/options", {"category": "c", "key": "k", "value": "v"}),
        "trusted certificates": as_dev2("GET", "/tenant/tenants/t100/trusted-certificates"),
    }
    for what, answer in refused.items():
        assert answer.status == 403, (what, answer.status, answer.body)
        assert answer.json["error"] == "security/Forbidden", (what, answer.body)
    assert refused["PUT managed object"].json == FORBIDDEN
    assert refused["PUT managed object"].headers["Content-Type"].startswith(
        "application/vnd.com.nsn.cumulocity.error+json")
    # binding another registered device's serial to an object of one's own would capture that device's data
    own = as_dev2("POST", "/inventory/managedObjects", {"name": "mine"}).json["id"]
    assert as_dev2("POST", f"/identity/globalIds/{own}/externalIds",
                   {"type": "c8y_Serial", "externalId": "dev3"}).status == 403
    # listings show only the device's own objects and data
    listed = {m["id"] for m in as_dev2("GET", "/inventory/managedObjects?pageSize=100").json["managedObjects"]}
    assert mo1 not in listed and {mo2, child, own} <= listed
    assert as_dev2("GET", "/alarm/alarms?pageSize=100").json["alarms"] == []
    assert as_dev2("GET", "/devicecontrol/operations?pageSize=100").json["operations"] == []
    # its own objects and its child devices stay writable
    assert as_dev2("PUT", f"/inventory/managedObjects/{mo2}", {"name": "dev2 renamed"}).status == 200
    assert as_dev2("PUT", f"/inventory/managedObjects/{child}", {"name": "child renamed"}).status == 200
    assert as_dev2("POST", "/event/events", {"source": {"id": child}, "type": "c8y_E", "text": "ok"}).status == 201
    assert as_dev2("POST", f"/identity/globalIds/{own}/externalIds",
                   {"type": "c8y_Serial", "externalId": "dev2-extra"}).status == 201
    # logging out revokes the caller's own token only
    assert as_dev2("POST", "/user/logout").status == 200
    assert rest.call("GET", "/user/currentUser", token=token1).status == 200
    assert rest.call("GET", "/user/currentUser", token=token2).status == 401
    # nothing of dev1 changed
    mo = rest.call("GET", f"/inventory/managedObjects/{mo1}").json
    assert mo["name"] == "MQTT Device dev1"
    assert rest.call("GET", f"/alarm/alarms/{alarm}").json["status"] == "ACTIVE"
    assert rest.call("GET", f"/devicecontrol/operations/{operation}").json["status"] == "PENDING"
    assert dev1.expect("s/ds") == "510,dev1"  # and the operation still reaches dev1


def test_another_tenants_admin_sees_nothing_of_this_tenant(local, rest: Rest, root: Cert, device) -> None:
    rest.upload(root)
    started(device, root.issue("dev1"))
    mo1 = mo_of(rest, "dev1")
    other = other_tenant(rest)
    assert other.call("GET", f"/inventory/managedObjects/{mo1}").status == 404
    assert other.call("PUT", f"/inventory/managedObjects/{mo1}", {"name": "x"}).status == 404
    assert other.call("GET", "/identity/externalIds/c8y_Serial/dev1").status == 404
    assert all(m["id"] != mo1 for m in other.call("GET", "/inventory/managedObjects").json["managedObjects"])
    assert other.call("GET", "/tenant/tenants/t100/trusted-certificates").status == 403
    # the chain check answers for the caller's tenant only
    chain = root.issue("dev-check").chain_pem()
    answer = other.multipart("/tenant/trusted-certificates/verify-cert-chain", "c.pem", chain, {"tenantId": "t100"})
    assert answer.status == 403 and answer.json["error"] == "security/Forbidden"
    assert other.multipart("/tenant/trusted-certificates/verify-cert-chain", "c.pem", chain).status == 401
    assert rest.multipart("/tenant/trusted-certificates/verify-cert-chain", "c.pem", chain).status == 200


# --- 2. client ids of certificate devices ----------------------------------------------------------------------
@pytest.mark.parametrize("listener", ["mqtts", "mqtt"])
def test_a_password_device_cannot_take_a_certificate_devices_client_id(local, rest: Rest, root: Cert, device, raw,
                                                                       listener: str) -> None:
    rest.upload(root)
    assert rest.multipart("/devicecontrol/bulkNewDeviceRequests", "d.csv", BASIC_CSV).json["numberOfCreated"] == 1
    dev3 = started(device, root.issue("dev3"))
    mo3 = mo_of(rest, "dev3")
    intruder = raw(listener)
    code = intruder.connect("d:dev3", "t100/device_basicdev", BASIC_PASSWORD.encode())
    assert code == NOT_AUTHORIZED
    wait_event(local, "refused", lambda e: "device_basicdev" in e["message"] and "'dev3'" in e["message"])
    assert raw(listener).connect("d:dev3:myTemplate", "t100/device_basicdev", BASIC_PASSWORD.encode()) == 5
    assert raw(listener).connect("d:dev3", "t100/admin", local.local.admin_password.encode()) == NOT_AUTHORIZED
    # dev3 keeps its session and gets its operation
    assert rest.call("POST", "/devicecontrol/operations", {"deviceId": mo3, "c8y_Restart": {}}).status == 201
    assert dev3.expect("s/ds") == "510,dev3"
    assert dev3.disconnects.empty() and online(rest, "dev3")
    # the password device still connects under its own id, with or without the prefix and a template
    for client_id in ("basicdev", "d:basicdev", "d:basicdev:myTemplate"):
        assert raw(listener).connect(client_id, "t100/device_basicdev", BASIC_PASSWORD.encode()) == 0
    # and the reverse: a certificate cannot become the password device
    assert device(root.issue("basicdev")).connect() == NOT_AUTHORIZED


# --- 3. sessions across tenants --------------------------------------------------------------------------------
def test_same_client_id_in_two_tenants_never_takes_over(local, rest: Rest, root: Cert, device, raw) -> None:
    rest.upload(root)
    dev1 = started(device, root.issue("dev1"))
    mo1 = mo_of(rest, "dev1")
    other = other_tenant(rest)
    other_root = make_ca("Tenant 200 Root")
    assert other.upload(other_root, tenant="t200").status == 201
    assert other.multipart("/devicecontrol/bulkNewDeviceRequests", "d.csv", BASIC_CSV).json["numberOfCreated"] == 1
    # t200's admin with t100's device id: a different tenant, a different session (dev1 is not a t200 device yet)
    admin200 = raw("mqtt")
    assert admin200.connect("d:dev1", "t200/admin", other.password.encode()) == 0
    # t200's own certificate device dev1, CN=dev1 under t200's CA
    twin = started(device, other_root.issue("dev1"))
    assert until(lambda: online(other, "dev1"), "t200's dev1 online")
    # t100's dev1 is still connected and served, while t200's dev1 is too
    assert rest.call("POST", "/devicecontrol/operations", {"deviceId": mo1, "c8y_Restart": {}}).status == 201
    assert dev1.expect("s/ds") == "510,dev1"
    assert dev1.disconnects.empty() and online(rest, "dev1") and admin200.alive()
    mo_twin = mo_of(other, "dev1")
    assert other.call("POST", "/devicecontrol/operations", {"deviceId": mo_twin, "c8y_Restart": {}}).status == 201
    assert twin.expect("s/ds") == "510,dev1"
    with pytest.raises(queue.Empty):  # t200's operation never reaches t100's dev1
        dev1.expect("s/ds", timeout=0.3)
    # t200's password device with that id: not its own id
    assert raw("mqtts").connect("d:dev1", "t200/device_basicdev", BASIC_PASSWORD.encode()) == NOT_AUTHORIZED
    assert dev1.disconnects.empty() and twin.disconnects.empty()
    # within one tenant the same identity still takes over (one connection per device id)
    again = device(root.issue("dev1"), "dev1")
    assert again.connect() == 0
    assert dev1.disconnects.get(timeout=WAIT) is not None
    assert twin.disconnects.empty()


# --- 4. the event log per tenant -------------------------------------------------------------------------------
def test_events_are_shown_per_tenant(local, rest: Rest) -> None:
    other = other_tenant(rest)
    connection, stream = _open_stream(other)
    try:
        assert rest.multipart("/devicecontrol/bulkNewDeviceRequests", "d.csv",
                              b"ID;CREDENTIALS;AUTH_TYPE\nt100dev;Secret123Secret123!;BASIC\n").status == 201
        assert other.multipart("/devicecontrol/bulkNewDeviceRequests", "d.csv", BASIC_CSV).status == 201
        seen = []
        while not seen or seen[-1]["kind"] != "bulk_registration":
            seen.append(_next_event(stream))
        assert {e["tenant"] for e in seen} == {"t200"}, seen
    finally:
        connection.close()
    wait_event(local, "bulk_registration", lambda e: e["tenant"] == "t200")
    mine = other.call("GET", "/platform/events/recent").json["events"]
    assert mine and {e["tenant"] for e in mine} == {"t200"}
    assert all(e["tenant"] == "t200" for e in _history(other))
    # the owner of the local platform (t100/admin) keeps the platform-wide view the workbench shows
    everything = rest.call("GET", "/platform/events/recent").json["events"]
    assert {"t100", "t200"} <= {e["tenant"] for e in everything}
    assert {"t100", "t200"} <= {e["tenant"] for e in _history(rest)}


def _open_stream(rest: Rest, history: bool = False) -> tuple[http.client.HTTPSConnection, http.client.HTTPResponse]:
    """An SSE connection to `/platform/events` as the admin of `rest` (close the connection when done)."""
    host, port = rest.base.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=rest.context(), timeout=WAIT)
    basic = base64.b64encode(f"{rest.user}:{rest.password}".encode()).decode()
    connection.request("GET", "/platform/events" + ("?history=true" if history else ""),
                       headers={"Authorization": f"Basic {basic}"})
    response = connection.getresponse()
    assert response.status == 200
    return connection, response


def _next_event(response: http.client.HTTPResponse) -> dict[str, Any]:
    while True:
        line = response.readline()
        assert line, "the event stream ended"
        if line.startswith(b"data: "):
            return json.loads(line[6:])


def _history(rest: Rest) -> list[dict[str, Any]]:
    """The replayed history of the stream, up to the event that marks its end (a fresh one of the caller's own)."""
    connection, response = _open_stream(rest, history=True)
    try:
        marker = rest.call("PUT", "/tenant/trusted-certificates/settings/crl",
                           {"crls": [{"serialNumberInHex": f"{time.monotonic_ns():x}"}]})
        assert marker.status == 204
        found = []
        while not found or found[-1]["kind"] != "crl_updated":
            found.append(_next_event(response))
        return found
    finally:
        connection.close()


# --- 5. the empty password -------------------------------------------------------------------------------------
@pytest.mark.parametrize("password", [b"", None], ids=["empty", "absent"])
def test_an_empty_password_is_not_authorized_rather_than_bad_credentials(local, raw, password) -> None:
    assert raw("mqtt").connect("d:nobody", "t100/admin", password) == NOT_AUTHORIZED
    wait_event(local, "refused", lambda e: "empty password" in e["message"])
    assert raw("mqtts").connect("d:nobody", "t100/admin", password) == NOT_AUTHORIZED
    assert raw("mqtt").connect("d:nobody", "t100/admin", b"wrong") == 4  # wrong credentials stay 4
