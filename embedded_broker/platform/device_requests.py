"""New device requests and bootstrap registration for password devices (platform reference §4.3 "Bootstrap").

The admin creates a request (`POST /devicecontrol/newDeviceRequests {"id": …}`: WAITING_FOR_CONNECTION); the device
connects with the bootstrap credentials (`management/devicebootstrap`) and publishes on `s/ucr` (PENDING_ACCEPTANCE);
the admin accepts (ACCEPTED); the next `s/ucr` creates the device user `device_<id>` with a new password, answers
`70,<tenant>,device_<id>,<password>` on `s/dcr` once, and removes the request, as the cloud does.

A request is a row of `device_requests` with its fixed columns and a JSON `extra` object for everything else, so a
later change can add fields such as `enrollmentToken` (the one-time password of EST enrolment, §8 / §3.2 / §3.4)
without a new table: `create` keeps known extra fields listed in `EXTRA_FIELDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embedded_broker.platform.accounts import generate_password
from embedded_broker.platform.errors import PlatformError, invalid, not_found
from embedded_broker.platform.formats import iso_ms
from embedded_broker.platform.key_vault import get_secret, set_secret
from embedded_broker.store import Store, dumps, loads

if TYPE_CHECKING:
    from embedded_broker.platform.core import Platform

BOOTSTRAP_TENANT = "management"
BOOTSTRAP_USER = "devicebootstrap"
BOOTSTRAP_LOGIN = f"{BOOTSTRAP_TENANT}/{BOOTSTRAP_USER}"
_SECRET = "bootstrap_password"
STATUSES = ("WAITING_FOR_CONNECTION", "PENDING_ACCEPTANCE", "ACCEPTED", "BLOCKED")
#: Fields of a request body kept besides `id` (add `enrollmentToken` here with its checks when EST arrives).
EXTRA_FIELDS: tuple[str, ...] = ("type", "groupId")
MEDIA = "application/vnd.com.nsn.cumulocity.newdevicerequest+json"
_ID = re.compile(r"[^:/+#\s]{1,128}")

_TABLE = """
CREATE TABLE IF NOT EXISTS device_requests (
    tenant TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, extra TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS device_requests_by_id ON device_requests (id);
"""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What `s/dcr` carries to an accepted device (the password exists in clear only here, once)."""

    tenant: str
    user: str
    password: str


class DeviceRequests:
    """The new device requests of every tenant, and the platform's bootstrap credential."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time, base_url: str = "") -> None:
        self.store = store
        self._clock = clock
        self.base_url = base_url
        with store.transaction():
            for statement in filter(str.strip, _TABLE.split(";")):
                store.execute(statement)

    # --- the bootstrap credential --------------------------------------------------------------------------
    def bootstrap_password(self) -> str:
        """The bootstrap password of this local platform (generated once, stored sealed)."""
        password = get_secret(self.store, _SECRET)
        if password is None:
            password = generate_password()
            with self.store.transaction():
                set_secret(self.store, _SECRET, password)
        return password

    def is_bootstrap(self, password: str) -> bool:
        """Whether a CONNECT password is the bootstrap password (constant time)."""
        expected = self.bootstrap_password()
        return hmac.compare_digest(hashlib.sha256(password.encode()).digest(),
                                   hashlib.sha256(expected.encode()).digest())

    # --- requests ------------------------------------------------------------------------------------------
    def _json(self, row: Any) -> dict[str, Any]:
        extra = loads(row["extra"])
        return {"id": row["id"], "status": row["status"], "tenantId": row["tenant"],
                "self": f"{self.base_url}/devicecontrol/newDeviceRequests/{row['id']}",
                "creationTime": iso_ms(row["created"]), **{k: extra[k] for k in EXTRA_FIELDS if k in extra}}

    def create(self, tenant: str, body: Any, registered: Callable[[str], bool]) -> dict[str, Any]:
        """A new request (`registered(id)`: whether that device has a user already).

        Raises:
            PlatformError: 422 for a missing or bad id, 409 for a request or device that exists.
        """
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
            raise invalid("devicecontrol", 'The body needs "id": the device id the device will connect with.')
        device_id = body["id"]
        if not _ID.fullmatch(device_id) or not device_id.isprintable():
            raise invalid("devicecontrol", "A device id is 1 to 128 printable characters without spaces, ':', '/', "
                                           "'+' or '#'.")
        extra = {k: body[k] for k in EXTRA_FIELDS if isinstance(body.get(k), str)}
        if body.get("enrollmentToken") is not None:  # EST (§8): kept as a digest, never shown again
            extra[OTP_FIELD] = otp_digest(check_otp(body["enrollmentToken"], "enrollmentToken"))
        with self.store.transaction():
            if self.store.one("SELECT 1 FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id)):
                raise PlatformError(409, "devicecontrol/Duplicate",
                                    f"A new device request for {device_id} exists already.")
            if registered(device_id):
                raise PlatformError(409, "devicecontrol/Duplicate",
                                    f"Device {device_id} is registered already (user device_{device_id}).")
            now = self._clock()
            self.store.execute("INSERT INTO device_requests (tenant, id, status, extra, created, updated) "
                               "VALUES (?, ?, 'WAITING_FOR_CONNECTION', ?, ?, ?)",
                               (tenant, device_id, dumps(extra), now, now))
        return self.get(tenant, device_id)

    def get(self, tenant: str, device_id: str) -> dict[str, Any]:
        """One request.

        Raises:
            PlatformError: 404.
        """
        row = self.store.one("SELECT * FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id))
        if row is None:
            raise not_found("devicecontrol", f"No new device request for {device_id[:60]!r}.")
        return self._json(row)

    def listing(self, tenant: str, status: str | None = None) -> list[dict[str, Any]]:
        """A tenant's requests, oldest first."""
        rows = self.store.all("SELECT * FROM device_requests WHERE tenant = ? ORDER BY created, id", (tenant,))
        found = [self._json(r) for r in rows]
        return [r for r in found if r["status"] == status.upper()] if status else found

    def set_status(self, tenant: str, device_id: str, status: Any) -> dict[str, Any]:
        """The admin's decision: ACCEPTED once the device asked (PENDING_ACCEPTANCE), or BLOCKED.

        Raises:
            PlatformError: 404, or 422 for another status or a device that has not connected yet.
        """
        current = self.get(tenant, device_id)
        wanted = str(status).upper() if isinstance(status, str) else ""
        if wanted not in ("ACCEPTED", "BLOCKED"):
            raise invalid("devicecontrol", 'status must be "ACCEPTED" (or "BLOCKED").')
        if wanted == "ACCEPTED" and current["status"] not in ("PENDING_ACCEPTANCE", "ACCEPTED"):
            raise invalid("devicecontrol", f"Device {device_id} has not connected yet (status "
                                           f"{current['status']}): it must publish on s/ucr with the bootstrap "
                                           "credentials before it can be accepted.")
        with self.store.transaction():
            self.store.execute("UPDATE device_requests SET status = ?, updated = ? WHERE tenant = ? AND id = ?",
                               (wanted, self._clock(), tenant, device_id))
        return self.get(tenant, device_id)

    def delete(self, tenant: str, device_id: str) -> None:
        """Remove a request.

        Raises:
            PlatformError: 404.
        """
        self.get(tenant, device_id)
        with self.store.transaction():
            self.store.execute("DELETE FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id))

    # --- one-time passwords of EST enrolment (platform reference §8, §3.4) ----------------------------------
    def add_enrollment(self, tenant: str, device_id: str, otp: str) -> None:
        """A request with an OTP, ACCEPTED at once, from a bulk CSV row's ENROLLMENT_OTP (inside its transaction).

        Raises:
            PlatformError: 422 for a bad OTP, 409 when the device has a request already (delete it first, as the
                cloud wants).
        """
        digest = otp_digest(check_otp(otp, "ENROLLMENT_OTP"))
        if self.store.one("SELECT 1 FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id)):
            raise PlatformError(409, "devicecontrol/Duplicate", f"A new device request for {device_id} exists "
                                "already; delete it (DELETE /devicecontrol/newDeviceRequests/<id>) to set a new "
                                "one-time password.")
        now = self._clock()
        self.store.execute("INSERT INTO device_requests (tenant, id, status, extra, created, updated) "
                           "VALUES (?, ?, 'ACCEPTED', ?, ?, ?)", (tenant, device_id, dumps({OTP_FIELD: digest}),
                                                                   now, now))

    def enrollment_rows(self, device_id: str) -> list[Any]:
        """Every tenant's request for this device that carries an OTP and is not BLOCKED."""
        rows = self.store.all("SELECT * FROM device_requests WHERE id = ? AND status != 'BLOCKED' ORDER BY tenant",
                              (device_id,))
        return [r for r in rows if OTP_FIELD in loads(r["extra"])]

    def consume(self, tenant: str, device_id: str) -> None:
        """Remove the request whose OTP was just used (inside the enrolment's transaction)."""
        self.store.execute("DELETE FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id))

    def tenants_of(self, device_id: str) -> list[str]:
        """The tenants with a request for this device id."""
        return [r["tenant"] for r in self.store.all("SELECT tenant FROM device_requests WHERE id = ?", (device_id,))]

    def poll(self, device_id: str, issue: Callable[[str, str, str], None]) -> tuple[str, Credentials | None]:
        """A device's `s/ucr`: (what happened, credentials when it is accepted).

        `issue(tenant, user, password)` creates the device user inside this transaction, so the credentials and the
        removal of the request count together (crash-safe: never a removed request without its user).
        """
        with self.store.transaction():
            rows = self.store.all("SELECT * FROM device_requests WHERE id = ?", (device_id,))
            if not rows:
                return "no new device request", None
            if len(rows) > 1:
                return f"new device requests in {len(rows)} tenants; delete all but one", None
            row = rows[0]
            tenant, status = row["tenant"], row["status"]
            if status == "WAITING_FOR_CONNECTION":
                self.store.execute("UPDATE device_requests SET status = 'PENDING_ACCEPTANCE', updated = ? WHERE "
                                   "tenant = ? AND id = ?", (self._clock(), tenant, device_id))
                return "PENDING_ACCEPTANCE", None
            if status != "ACCEPTED":
                return status, None
            credentials = Credentials(tenant, f"device_{device_id}", generate_password())
            issue(credentials.tenant, credentials.user, credentials.password)
            self.store.execute("DELETE FROM device_requests WHERE tenant = ? AND id = ?", (tenant, device_id))
        return "ACCEPTED", credentials


OTP_FIELD = "enrollmentTokenSha256"  # in `extra`: the digest of the one-time password (EST, §8)
MAX_OTP_CHARS = 128


def check_otp(value: Any, name: str) -> str:
    """A one-time password as given (1 to 128 printable characters without spaces or ':').

    Raises:
        PlatformError: 422 naming the field.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_OTP_CHARS or not value.isprintable() \
            or ":" in value or " " in value:
        raise invalid("devicecontrol", f"{name} must be 1 to {MAX_OTP_CHARS} printable characters without spaces "
                                       "or ':' (it is the password of Basic <id>:<OTP>).")
    return value


def otp_digest(otp: str) -> str:
    """The stored form of a one-time password (SHA-256 hex; the OTP itself is never stored)."""
    return hashlib.sha256(otp.encode()).hexdigest()


def otp_matches(row: Any, otp: str) -> bool:
    """Whether `otp` is the one-time password of a request row (constant time)."""
    stored = loads(row["extra"]).get(OTP_FIELD)
    return isinstance(stored, str) and hmac.compare_digest(stored, otp_digest(otp))


_BY_PLATFORM: weakref.WeakKeyDictionary[Platform, DeviceRequests] = weakref.WeakKeyDictionary()


def requests_of(platform: Platform) -> DeviceRequests:
    """The one `DeviceRequests` of a platform (shared by the MQTT rules and the REST routes), with its base URL."""
    found = _BY_PLATFORM.get(platform)
    if found is None:
        found = _BY_PLATFORM[platform] = DeviceRequests(platform.store, platform.clock, platform.base_url)
    found.base_url = platform.base_url
    return found
