"""The local platform's read-only overviews for the workbench: its tenants, and each tenant's devices with their
managed object, external id, issuing CA, last seen time and connected state."""

from __future__ import annotations

from tests.platform.conftest import wait_event
from tests.platform.support import Rest


def test_tenants_are_listed_for_an_admin(rest: Rest) -> None:
    rest.call("POST", "/platform/tenants", {"id": "t200"})
    tenants = rest.call("GET", "/platform/tenants").json["tenants"]
    assert [t["id"] for t in tenants] == ["t100", "t200"]
    assert tenants[0] == {"id": "t100", "domain": "t100.localhost", "current": True}
    assert rest.call("GET", "/platform/tenants", auth=False).status == 401


def test_devices_follow_registration_data_and_connections(local, rest: Rest, root, device) -> None:
    assert rest.call("GET", "/platform/devices").json == {"devices": []}
    fp = rest.upload(root, name="Overview CA").json["fingerprint"]
    client = device(root.issue("dev-overview"))
    assert client.connect() == 0
    client.publish("s/us", "200,c8y_Temperature,T,21.5", qos=1)
    wait_event(local, "device_created")
    found = rest.call("GET", "/platform/devices").json["devices"]
    assert len(found) == 1
    entry = found[0]
    assert entry["deviceId"] == "dev-overview" and entry["user"] == "device_dev-overview"
    assert entry["authType"] == "CERTIFICATES" and entry["connected"] is True
    assert entry["clientId"] == "d:dev-overview"
    assert entry["managedObject"]["name"] == "MQTT Device dev-overview"
    assert entry["externalIds"] == [{"type": "c8y_Serial", "externalId": "dev-overview"}]
    assert entry["certificate"] == {"cn": "dev-overview", "issuerFingerprint": fp, "issuerName": "Overview CA"}
    assert entry["lastSeen"] and entry["lastSeen"].endswith("Z")
    client.close()
    wait_event(local, "disconnected")
    assert rest.call("GET", "/platform/devices").json["devices"][0]["connected"] is False


def test_devices_need_an_admin(rest: Rest, root, device, local) -> None:
    rest.upload(root)
    client = device(root.issue("dev-token"))
    assert client.connect() == 0
    token = client.token()
    assert rest.call("GET", "/platform/devices", token=token).status == 403
