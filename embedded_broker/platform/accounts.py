"""Tenants, users and passwords: who may call the REST API and who a device is.

Passwords are stored as salted PBKDF2 hashes. A hash costs tens of milliseconds of CPU, so it never runs on the
event loop: checks and hashing go to a small thread pool (`hashing_pool`; hashlib releases the GIL) whose threads
run niced on Linux, so the loop thread still gets a core at once when it needs one. At most `MAX_PENDING_CHECKS`
checks wait or run at once (`MAX_PENDING_PER_USER` for one user); past that a login is answered "busy"
(`PasswordChecksBusy`: HTTP 503, CONNACK 3) at once instead of queueing, so a flood of wrong passwords costs a
bounded amount of CPU and stalls nobody. A verified password is remembered in memory (a keyed digest of the
stored credential and the password) so Basic auth stays cheap for a client that calls the API in a loop; a new
or changed credential never matches an old entry.

Bulk registration cannot afford a hash per row (nor tenant creation one on the loop), so they store the password
sealed (AES-256-GCM under the data key of `key_vault`, bound to the slot `password:<tenant>/<user>`) and
`sealed_passwords` turns each sealed credential into a PBKDF2 hash in the background. A login against a
still-sealed credential unseals it and compares in constant time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from sqlite3 import Row

from embedded_broker.errors import BrokerError
from embedded_broker.platform.errors import PlatformError, unauthorized
from embedded_broker.platform.key_vault import KeyVault, is_sealed, vault_for
from embedded_broker.store import Store
from embedded_broker.worker_threads import shared_pool

log = logging.getLogger("embedded_broker.platform")

DEFAULT_TENANT = "t100"
ADMIN_USER = "admin"
DOMAIN_SUFFIX = ".localhost"  # a tenant's domain is `<tenant>.localhost`
_ITERATIONS = 60_000
MAX_PENDING_CHECKS = 8  # PBKDF2 checks waiting or running at once (pool: one thread per CPU); more get "busy"
MAX_PENDING_PER_USER = 2  # of which for one user: a flood against one account leaves room for the others
SEALED_LIKE = "sealed:%"  # LIKE pattern of a credential sealed by key_vault (its `sealed:v1:` prefix)
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


def hashing_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The shared PBKDF2 pool: one niced thread per CPU, so bulk uploads use every core but never more than that."""
    return shared_pool("pbkdf2")


def _check(password: str, stored: str) -> bool:
    try:
        _scheme, iterations, salt, digest = stored.split("$")
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def password_slot(tenant: str, name: str) -> str:
    """The key-vault slot (associated data) of a user's sealed password: a sealed value fits no other user."""
    return f"password:{tenant}/{name}"


class PasswordChecksBusy(PlatformError):
    """Too many password checks are pending: the login is refused at once as "busy" (HTTP 503, CONNACK 3)."""

    def __init__(self) -> None:
        super().__init__(503, "security/Service Unavailable", "Too many logins are being checked at the moment; "
                         "retry in a second.")


def _keyed(key: bytes, stored: str, password: str) -> bytes:
    return hmac.new(key, stored.encode() + b"\0" + password.encode(), hashlib.sha256).digest()


def _rehash(vault: KeyVault, slot: str, stored: str, cache_key: bytes) -> tuple[str, bytes, bytes]:
    """On the pool: the PBKDF2 hash of a sealed password, and the cache digests of the old and the new credential."""
    password = vault.unseal(slot, stored)
    hashed = hash_password(password)
    return hashed, _keyed(cache_key, stored, password), _keyed(cache_key, hashed, password)


def generate_password() -> str:
    """A password people can type: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


class Accounts:
    """Tenants and users in the store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._verified: dict[tuple[str, str], bytes] = {}
        self._cache_key = secrets.token_bytes(32)  # the cache holds keyed digests, useless outside this process
        self._pending = 0
        self._pending_by_user: dict[tuple[str, str], int] = {}
        self._in_flight: dict[tuple[tuple[str, str], bytes], asyncio.Future[bool]] = {}
        self.on_sealed: Callable[[], None] | None = None  # set by the background hasher: a sealed password waits
        self._vault_failed = False

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
                               (tenant, f"{tenant}{DOMAIN_SUFFIX}", self._clock()))
            self.add_user(tenant, ADMIN_USER, "admin", sealed_password=password)  # hashed in the background
        return password

    def add_user(self, tenant: str, name: str, kind: str, *, password: str | None = None,
                 auth_type: str = "BASIC", sealed_password: str | None = None) -> None:
        """Create or replace a user (inside the caller's transaction when there is one).

        `password` is hashed here (tens of milliseconds: the owner's admin password reset at start-up only).
        `sealed_password` is stored sealed at once (microseconds) and hashed later by the background hasher: bulk
        registration and new tenants' admins.
        """
        if password:
            stored: str | None = hash_password(password)
        elif sealed_password:
            stored = vault_for(self.store).seal(password_slot(tenant, name), sealed_password)
        else:
            stored = None
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO users (tenant, name, password_hash, kind, auth_type, created) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(tenant, name) DO UPDATE SET password_hash = excluded.password_hash, "
                "auth_type = excluded.auth_type",
                (tenant, name, stored, kind, auth_type, self._clock()))
        self._verified.pop((tenant, name), None)
        if sealed_password and self.on_sealed is not None:
            self.on_sealed()

    def user(self, tenant: str, name: str) -> User | None:
        """A user, or None."""
        row = self.store.one("SELECT kind, auth_type FROM users WHERE tenant = ? AND name = ?", (tenant, name))
        return None if row is None else User(tenant, name, row["kind"], row["auth_type"])

    @property
    def pending_checks(self) -> int:
        """PBKDF2 checks waiting or running now (the background hasher gives way while there are any)."""
        return self._pending

    def _credential(self, tenant: str, name: str) -> Row | None:
        return self.store.one("SELECT kind, auth_type, password_hash FROM users WHERE tenant = ? AND name = ?",
                              (tenant, name))

    async def verify_password(self, tenant: str, name: str, password: str) -> User:
        """The user, if the password is right; the PBKDF2 work runs on the hashing pool, never on the loop.

        Raises:
            PlatformError: 401 naming nothing secret.
            PasswordChecksBusy: 503 when MAX_PENDING_CHECKS checks (or MAX_PENDING_PER_USER for this user) are
                pending already.
        """
        for _attempt in range(2):  # a credential replaced while it was being checked is checked once more
            row = self._credential(tenant, name)
            if row is None or not row["password_hash"]:
                raise unauthorized()
            stored = row["password_hash"]
            key = (tenant, name)
            digest = _keyed(self._cache_key, stored, password)
            cached = self._verified.get(key)
            if cached is not None and hmac.compare_digest(cached, digest):
                return User(tenant, name, row["kind"], row["auth_type"])
            if is_sealed(stored):
                right = self._check_sealed(tenant, name, password, stored)
            else:
                right = await self._check_hashed(key, digest, password, stored)
                row = self._credential(tenant, name)
                if row is None or row["password_hash"] != stored:
                    continue
            if not right:
                raise unauthorized()
            self._verified[key] = digest
            return User(tenant, name, row["kind"], row["auth_type"])
        raise unauthorized()

    def _check_sealed(self, tenant: str, name: str, password: str, stored: str) -> bool:
        """Unseal (microseconds, on the loop) and compare in constant time (digests: the length stays hidden)."""
        try:
            clear = vault_for(self.store).unseal(password_slot(tenant, name), stored)
        except (BrokerError, ValueError) as exc:  # the data key does not fit, or a damaged value
            self._vault_trouble(exc)
            return False
        return hmac.compare_digest(hashlib.sha256(clear.encode()).digest(), hashlib.sha256(password.encode()).digest())

    async def _check_hashed(self, key: tuple[str, str], digest: bytes, password: str, stored: str) -> bool:
        """PBKDF2 on the pool; the slot is freed when the work ends, even if the caller went away before.

        Concurrent logins with the same credentials (a client's parallel first requests) share one check, so they
        never count against the bound; only different passwords do.
        """
        same = self._in_flight.get((key, digest))
        if same is not None:
            return await asyncio.shield(same)
        if self._pending >= MAX_PENDING_CHECKS or self._pending_by_user.get(key, 0) >= MAX_PENDING_PER_USER:
            raise PasswordChecksBusy()
        self._pending += 1
        self._pending_by_user[key] = self._pending_by_user.get(key, 0) + 1
        future = asyncio.wrap_future(hashing_pool().submit(_check, password, stored))
        self._in_flight[(key, digest)] = future
        future.add_done_callback(lambda _done: self._release(key, digest))
        return await asyncio.shield(future)

    def _release(self, key: tuple[str, str], digest: bytes) -> None:
        self._in_flight.pop((key, digest), None)
        self._pending -= 1
        left = self._pending_by_user.get(key, 1) - 1
        if left:
            self._pending_by_user[key] = left
        else:
            self._pending_by_user.pop(key, None)

    def _vault_trouble(self, exc: Exception) -> None:
        if not self._vault_failed:  # one line, not one per login
            self._vault_failed = True
            log.error("sealed passwords cannot be opened: %s", exc)

    async def hash_sealed(self, tenant: str, name: str, stored: str) -> bool:
        """Replace one sealed credential by its PBKDF2 hash (hashed on the pool, written in its own transaction).

        Only if the credential is still `stored` when the hash is ready (a newer registration wins); a cached
        login of that password stays cached. Returns whether the row was rewritten.
        """
        job = hashing_pool().submit(_rehash, vault_for(self.store), password_slot(tenant, name), stored,
                                    self._cache_key)
        try:
            hashed, old_digest, new_digest = await asyncio.wrap_future(job)
        except (BrokerError, ValueError) as exc:  # left sealed (and refused at login) rather than lost
            self._vault_trouble(exc)
            return False
        with self.store.transaction():
            changed = self.store.execute("UPDATE users SET password_hash = ? WHERE tenant = ? AND name = ? AND "
                                         "password_hash = ?", (hashed, tenant, name, stored)).rowcount
        key = (tenant, name)
        cached = self._verified.get(key)
        if changed and cached is not None and hmac.compare_digest(cached, old_digest):
            self._verified[key] = new_digest
        return bool(changed)

    def resolve_login(self, login: str, host: str | None = None) -> tuple[str, str]:
        """Split `t100/admin` (or a bare `admin` on a tenant's domain or the only tenant) into tenant and user."""
        if "/" in login:
            tenant, _, name = login.partition("/")
            return tenant, name
        return (self.domain_tenant(host.split(":")[0]) if host else None) or DEFAULT_TENANT, login

    def domain_tenant(self, name: str | None) -> str | None:
        """The tenant whose domain `name` is (`t200.localhost` → t200), or None for any other name.

        The one parser of tenant domains, for the Host header, the REST SNI and the MQTT SNI alike.
        """
        host = (name or "").lower().rstrip(".")
        tenant = host.removesuffix(DOMAIN_SUFFIX)
        if tenant == host or not tenant or "." in tenant:
            return None
        return tenant if tenant in self.tenants() else None
