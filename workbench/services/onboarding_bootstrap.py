"""The "password device with bootstrap registration" path of the onboarding (issue #19).

Why a sibling of `onboarding.py`: a password device has no certificate of its own. The admin creates a new device
request; the device logs in with the bootstrap credentials and asks on `s/ucr`; the admin accepts; the device's
next `s/ucr` is answered with `70,<tenant>,<user>,<password>` on `s/dcr`; then it connects as itself with those
credentials and sends its first measurement, read back over REST with the same Basic login (password devices get
no token on `s/uat`). The calls are the sans-IO requests of `core/platform_client/device_requests.py`.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from workbench.core.platform_client import device_requests as reg
from workbench.core.platform_client import requests as api
from workbench.core.tls import client_context
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services.measurement_readback import read_back_measurement
from workbench.services.token_flow import DeviceConnection, TokenFlowError

if TYPE_CHECKING:
    from workbench.services.onboarding import OnboardingOptions, OnboardingReport

WAIT = 15.0  # seconds for the request to change state and for the credentials to arrive
POLL = 0.5  # the device repeats `s/ucr` this often (the cloud's firmware does it every few seconds)


class BootstrapSteps:
    """Steps of the bootstrap path; Onboarding provides the options, the report and the connection fields."""

    o: OnboardingOptions
    report: OnboardingReport
    tenant: str
    connection: DeviceConnection | None
    received: reg.ReceivedCredentials | None
    _bootstrap_connection: DeviceConnection | None

    # --- 1. the new device request (admin) -----------------------------------------------------------------
    async def new_request(self) -> str:
        """The admin registers the device id (a stale request of an earlier run is replaced)."""
        http = self.o.http
        self.tenant = await http.tenant_id()
        device_id = self.o.device_id
        try:
            created = await http.json(reg.create(device_id))
            verb = "created"
        except PlatformRequestError as exc:
            if "409" not in exc.summary or "request" not in " ".join(exc.causes).lower():
                raise
            await http.send(reg.delete(device_id))
            created = await http.json(reg.create(device_id))
            verb = "replaced the earlier request;"
        self.report.created["device_request"] = {"id": device_id, "tenant": self.tenant}
        return f"{verb} new device request {device_id} in tenant {self.tenant}: {created.get('status', '?')}"

    # --- 2. the device asks with the bootstrap credentials -------------------------------------------------
    async def bootstrap_login(self) -> str:
        """Connect with the bootstrap login, subscribe `s/dcr`, publish `s/ucr`; the request becomes pending."""
        user, password = await self._bootstrap_credentials()
        context = client_context(trust=list(self.o.server_trust) or None)
        connection = DeviceConnection(self.o.mqtt_host, self.o.mqtt_port, f"d:{self.o.device_id}", context,
                                      username=user, password=password)
        self._bootstrap_connection = connection
        await asyncio.to_thread(connection.connect)
        connection.subscribe("s/dcr", "s/e")
        await asyncio.to_thread(connection.publish, "s/ucr", b"")
        status = await self._wait_status(("PENDING_ACCEPTANCE", "ACCEPTED"))
        return (f"connected as {user} (bootstrap login, server-authenticated TLS) and published s/ucr; the request "
                f"is {status}")

    async def _bootstrap_credentials(self) -> tuple[str, str]:
        if self.o.bootstrap_user:
            return self.o.bootstrap_user, self.o.bootstrap_password.decode()
        try:
            found = await self.o.http.json(reg.bootstrap_credentials())
        except PlatformRequestError as exc:
            raise InvalidInputError("No bootstrap credentials were given", (
                "Against a tenant, give the bootstrap user and password your platform's operator handed out.",
                *exc.causes)) from exc
        return str(found["username"]), str(found["password"])

    async def _wait_status(self, wanted: tuple[str, ...]) -> str:
        deadline = time.monotonic() + WAIT
        while True:
            status = str((await self.o.http.json(reg.read(self.o.device_id))).get("status", ""))
            if status in wanted:
                return status
            if time.monotonic() > deadline:
                raise PlatformRequestError(f"the new device request stayed {status} for {WAIT:g} s", (
                    *self._bootstrap_errors(),
                    "The device must publish on s/ucr with the bootstrap login and the client id of the request."))
            await asyncio.sleep(0.1)

    def _bootstrap_errors(self) -> list[str]:
        return [e.describe() for e in self._bootstrap_connection.errors] if self._bootstrap_connection else []

    # --- 3. the admin accepts ------------------------------------------------------------------------------
    async def accept_request(self) -> str:
        """`PUT {"status": "ACCEPTED"}` on the request."""
        answer = await self.o.http.json(reg.accept(self.o.device_id))
        return f"new device request {self.o.device_id} is {answer.get('status', '?')} (by the tenant's admin)"

    # --- 4. the credentials on s/dcr -----------------------------------------------------------------------
    async def receive_credentials(self) -> str:
        """The device repeats `s/ucr` until `70,<tenant>,<user>,<password>` arrives, then logs out."""
        connection = self._bootstrap_connection
        assert connection is not None
        deadline = time.monotonic() + WAIT
        try:
            while self.received is None:
                await asyncio.to_thread(connection.publish, "s/ucr", b"")
                line = await asyncio.to_thread(connection.wait_line, "s/dcr", POLL)
                self.received = reg.parse_credentials_line(line) if line else None
                if self.received is None and time.monotonic() > deadline:
                    raise TokenFlowError(f"no credentials arrived on s/dcr within {WAIT:g} s", (
                        *self._bootstrap_errors(), "The request must be ACCEPTED before s/ucr is answered."))
        finally:
            await asyncio.to_thread(connection.close)
            self._bootstrap_connection = None
        self.report.created.pop("device_request", None)  # the platform removed it when it answered
        self.report.created["device_user"] = {"tenant": self.received.tenant, "user": self.received.user}
        return (f"received 70,{self.received.tenant},{self.received.user},<password> on s/dcr "
                f"({len(self.received.password)} characters; the bootstrap login disconnected)")

    # --- 5. the first connection as itself -----------------------------------------------------------------
    async def connect_password(self) -> str:
        """MQTT over TLS with the received credentials (the server's certificate checked, no client certificate)."""
        assert self.received is not None
        context = client_context(trust=list(self.o.server_trust) or None)
        self.connection = DeviceConnection(self.o.mqtt_host, self.o.mqtt_port, f"d:{self.o.device_id}", context,
                                           username=self.received.login, password=self.received.password)
        started = time.monotonic()
        await asyncio.to_thread(self.connection.connect)
        return (f"connected to {self.o.mqtt_host}:{self.o.mqtt_port} as {self.received.login} (client id "
                f"d:{self.o.device_id}, password) ({(time.monotonic() - started) * 1000:.0f} ms to CONNACK 0)")

    # --- 6. REST with the device's own login ---------------------------------------------------------------
    async def current_user_basic(self) -> str:
        """`GET /user/currentUser` with Basic `<tenant>/<user>:<password>`."""
        assert self.received is not None
        me = await self.o.http.json(reg.as_device(api.current_user(), self.received))
        return f"GET /user/currentUser with the device's Basic login: {me.get('userName') or me.get('id')}"

    # --- 7. the first measurement --------------------------------------------------------------------------
    async def measurement_basic(self) -> str:
        """`100` creates the device (as firmware does first), `200` sends a temperature; both read back over REST."""
        assert self.connection is not None and self.received is not None
        value = 21.5
        await asyncio.to_thread(self.connection.publish, "s/us", f"100,{self.o.device_id},c8y_MQTTDevice")
        await asyncio.to_thread(self.connection.publish, "s/us", f"200,c8y_Temperature,T,{value},C")
        received = self.received
        measurement, source = await read_back_measurement(
            lambda request: self.o.http.json(reg.as_device(request, received)), self.o.device_id, value,
            self.connection)
        return (f"sent 100 and 200,c8y_Temperature,T,{value},C; read back measurement {measurement} of device "
                f"{source} with the device's login")
