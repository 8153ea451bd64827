"""Tenants, users and passwords: who may call the REST API and who a device is.

Passwords are stored as salted PBKDF2 hashes; a verified password is remembered in memory (as a digest) so
Basic auth stays cheap for a client that calls the API in a loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from embedded_broker.platform.errors import PlatformError, unauthorized
from embedded_broker.store import Store

DEFAULT_TENANT = "t100"
ADMIN_USER = "admin"
_ITERATIONS = 60_000
ADMIN_ROLES = ("ROLE_TENANT_ADMIN", "ROLE_TENANT_MANAGEMENT_ADMIN", "ROLE_OPTION_MANAGEMENT_ADMIN",
               "ROLE_DEVICE_CONTROL_ADMIN", "ROLE_INVENTORY_ADMIN", "ROLE_IDENTITY_ADMIN", "ROLE_MEASUREMENT_ADMIN",
               "ROLE_EVENT_ADMIN", "ROLE_ALARM_ADMIN", "ROLE_USER_MANAGEMENT_OWN_READ")
DEVICE_ROLES = ("ROLE_DEVICE", "ROLE_USER_MANAGEMENT_OWN_READ", "ROLE_INVENTORY_CREATE", "ROLE_IDENTITY_READ",
                "ROLE_MEASUREMENT_ADMIN", "ROLE_EVENT_ADMIN", "ROLE_ALARM_ADMIN")


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated caller: an administrator or a device user (`device_<id>`)."""

    tenant: str
    name: str
    kind: str  # "admin" | "device"
    auth_type: str = "BASIC"

    @property
    def roles(self) -> tuple[str, ...]:
        """The effective roles (fixed per kind in the local platform)."""
        return ADMIN_ROLES if self.kind == "admin" else DEVICE_ROLES

    @property
    def is_admin(self) -> bool:
        """True for tenant administrators."""
        return self.kind == "admin"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A PBKDF2-SHA256 hash string `pbkdf2$<iterations>$<salt hex>$<digest hex>`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2${_ITERATIONS}${salt.hex()}${digest.hex()}"


def _check(password: str, stored: str) -> bool:
    try:
        _scheme, iterations, salt, digest = stored.split("$")
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def generate_password() -> str:
    """A password people can type: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


class Accounts:
    """Tenants and users in the store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._verified: dict[tuple[str, str], bytes] = {}

    def tenant_domain(self, tenant: str) -> str:
        """`t100.localhost` for t100.

        Raises:
            PlatformError: 404 for an unknown tenant.
        """
        row = self.store.one("SELECT domain FROM tenants WHERE id = ?", (tenant,))
        if row is None:
            raise PlatformError(404, "tenants/Not Found", f"Tenant <'{tenant}'> does not exist.")
        return row["domain"]

    def tenants(self) -> list[str]:
        """Every tenant id, oldest first."""
        return [r["id"] for r in self.store.all("SELECT id FROM tenants ORDER BY created, id")]

    def create_tenant(self, tenant: str, admin_password: str | None = None) -> str:
        """Create a tenant and its admin user; returns the admin password (generated unless given).

        Raises:
            PlatformError: 409 when the tenant exists, 422 for an invalid id.
        """
        if not tenant or not tenant.isalnum() or not tenant.islower():
            raise PlatformError(422, "tenants/Unprocessable Entity",
                                f"Tenant id {tenant!r} must be lower-case letters and digits, like t100.")
        password = admin_password or generate_password()
        with self.store.transaction():
            if self.store.one("SELECT 1 FROM tenants WHERE id = ?", (tenant,)):
                raise PlatformError(409, "tenants/Duplicate", f"Tenant <'{tenant}'> already exists.")
            self.store.execute("INSERT INTO tenants (id, domain, created) VALUES (?, ?, ?)",
                               (tenant, f"{tenant}.localhost", self._clock()))
            self.add_user(tenant, ADMIN_USER, "admin", password=password)
        return password

    def add_user(self, tenant: str, name: str, kind: str, *, password: str | None = None,
                 auth_type: str = "BASIC") -> None:
        """Create or replace a user (inside the caller's transaction when there is one)."""
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO users (tenant, name, password_hash, kind, auth_type, created) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(tenant, name) DO UPDATE SET password_hash = excluded.password_hash, "
                "auth_type = excluded.auth_type",
                (tenant, name, hash_password(password) if password else None, kind, auth_type, self._clock()))
        self._verified.pop((tenant, name), None)

    def user(self, tenant: str, name: str) -> User | None:
        """A user, or None."""
        row = self.store.one("SELECT kind, auth_type FROM users WHERE tenant = ? AND name = ?", (tenant, name))
        return None if row is None else User(tenant, name, row["kind"], row["auth_type"])

    def check_password(self, tenant: str, name: str, password: str) -> User:
        """The user, if the password is right.

        Raises:
            PlatformError: 401 naming nothing secret.
        """
        row = self.store.one("SELECT kind, auth_type, password_hash FROM users WHERE tenant = ? AND name = ?",
                             (tenant, name))
        if row is None or not row["password_hash"]:
            raise unauthorized()
        key = (tenant, name)
        quick = hashlib.sha256(row["password_hash"].encode() + password.encode()).digest()
        cached = self._verified.get(key)
        if cached is None or not hmac.compare_digest(cached, quick):
            if not _check(password, row["password_hash"]):
                raise unauthorized()
            self._verified[key] = quick
        return User(tenant, name, row["kind"], row["auth_type"])

    def resolve_login(self, login: str, host: str | None = None) -> tuple[str, str]:
        """Split `t100/admin` (or a bare `admin` on a tenant's domain or the only tenant) into tenant and user."""
        if "/" in login:
            tenant, _, name = login.partition("/")
            return tenant, name
        if host:
            hostname = host.split(":")[0].lower()
            for tenant in self.tenants():
                if hostname == f"{tenant}.localhost":
                    return tenant, login
        return DEFAULT_TENANT, login
