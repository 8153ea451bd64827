"""Sans-IO calls of the bootstrap registration of password devices (platform reference §4.3 "Bootstrap"): the new
device request, its status, the admin's acceptance, and the `70,<tenant>,<user>,<password>` line on `s/dcr`.

Why here: the onboarding's third path sends the same calls to the local platform and to a tenant; the services
send them, this module only builds requests and reads lines (no sockets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from workbench.core.platform_client.requests import ApiRequest, basic_authorization
from workbench.core.platform_client.smartrest import parse_line

MEDIA = "application/vnd.com.nsn.cumulocity.newdevicerequest+json"
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


@dataclass(frozen=True)
class ReceivedCredentials:
    """What `70,<tenant>,<user>,<password>` hands to an accepted device (the password exists only here)."""

    tenant: str
    user: str
    password: str = field(repr=False)

    @property
    def login(self) -> str:
        """The MQTT user name and Basic login: `<tenant>/<user>`."""
        return f"{self.tenant}/{self.user}"


def create(device_id: str) -> ApiRequest:
    """A new device request (status WAITING_FOR_CONNECTION until the device publishes on `s/ucr`)."""
    return ApiRequest("POST", "/devicecontrol/newDeviceRequests", json={"id": device_id}, headers=dict(_JSON),
                      what=f"create the new device request of {device_id}")


def read(device_id: str) -> ApiRequest:
    """One request, for its status."""
    return ApiRequest("GET", f"/devicecontrol/newDeviceRequests/{quote(device_id, safe='')}",
                      headers={"Accept": "application/json"}, what=f"read the new device request of {device_id}")


def accept(device_id: str) -> ApiRequest:
    """The admin's acceptance (the device must have asked on `s/ucr` first: PENDING_ACCEPTANCE)."""
    return ApiRequest("PUT", f"/devicecontrol/newDeviceRequests/{quote(device_id, safe='')}",
                      json={"status": "ACCEPTED"}, headers=dict(_JSON),
                      what=f"accept the new device request of {device_id}")


def delete(device_id: str) -> ApiRequest:
    """Remove a request (a rerun for the same id starts over)."""
    return ApiRequest("DELETE", f"/devicecontrol/newDeviceRequests/{quote(device_id, safe='')}",
                      what=f"delete the new device request of {device_id}")


def bootstrap_credentials() -> ApiRequest:
    """Local platform only: the bootstrap login to put into firmware (a tenant's operator hands it out instead)."""
    return ApiRequest("GET", "/platform/bootstrapCredentials", headers={"Accept": "application/json"},
                      what="read the local platform's bootstrap credentials")


def as_device(request: ApiRequest, credentials: ReceivedCredentials) -> ApiRequest:
    """The same call with the device's own Basic login instead of the admin's."""
    headers = dict(request.headers)
    headers["Authorization"] = basic_authorization(credentials.tenant, credentials.user, credentials.password)
    return ApiRequest(request.method, request.path, auth="none", json=request.json, headers=headers,
                      what=request.what, body=request.body)


def parse_credentials_line(line: str) -> ReceivedCredentials | None:
    """`70,<tenant>,<user>,<password>` (CSV quoting as SmartREST sends it); None for any other line."""
    fields = parse_line(line)
    if len(fields) != 4 or fields[0] != "70" or not all(fields[1:]):
        return None
    return ReceivedCredentials(fields[1], fields[2], fields[3])
