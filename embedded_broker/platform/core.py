"""The emulated platform as one object: its parts share a store, a clock and an event log.

REST routes and the MQTT rules both call it, so a device authenticated over MQTT or over the device access
token API is judged by the same code and leaves the same events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509

from embedded_broker.platform.accounts import DEFAULT_TENANT, Accounts
from embedded_broker.platform.chains import ChainChecker, ChainMatch, ChainRefused, describe
from embedded_broker.platform.events import PlatformEvents
from embedded_broker.platform.inventory import Inventory
from embedded_broker.platform.options import Options
from embedded_broker.platform.sessions import DeviceSessions
from embedded_broker.platform.tokens import Tokens
from embedded_broker.platform.trust import TrustedCertificates
from embedded_broker.store import Store

SERIAL_TYPE = "c8y_Serial"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who a connected client is: a certificate device, or a user who logged in with a password."""

    tenant: str
    user: str
    device_id: str | None = None  # the CN (certificate) or the client id's deviceIdentifier
    anchor_fingerprint: str | None = None
    template: str | None = None
    listener: str = ""

    @property
    def by_certificate(self) -> bool:
        """True when the client authenticated with a certificate chain."""
        return self.anchor_fingerprint is not None


def device_user(device_id: str) -> str:
    """`device_<id>`: the cloud's user name of a registered device."""
    return f"device_{device_id}"


class Platform:
    """Tenants, trust, chains, tokens, options and inventory over one store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time, base_url: str = "",
                 max_chain: int = 10, strict_anchor_in_chain: bool = False) -> None:
        self.store = store
        self.clock = clock
        self.base_url = base_url
        self.events = PlatformEvents(clock)
        self.accounts = Accounts(store, clock)
        self.options = Options(store, base_url)
        self.trust = TrustedCertificates(store, clock, base_url, on_change=self._trust_changed)
        self.chains = ChainChecker(store, self.trust, self.options, clock, max_chain, strict_anchor_in_chain)
        self.tokens = Tokens(store, self.accounts, self.options, clock)
        self.inventory = Inventory(store, clock, base_url)
        self.sessions = DeviceSessions(clock)
        self.trust_listeners: list[Callable[[str, str, str], None]] = []
        self.operation_listeners: list[Callable[[str, dict], None]] = []

    def set_base_url(self, url: str) -> None:
        """The URL `self` links start with (known once the HTTPS port is bound)."""
        self.base_url = self.trust.base_url = self.options.base_url = self.inventory.base_url = url

    def bootstrap(self, admin_password: str | None = None) -> str | None:
        """Create tenant t100 and its admin on first start (password generated unless given); None if not first."""
        if self.accounts.tenants():
            return None
        password = self.accounts.create_tenant(DEFAULT_TENANT, admin_password)
        self.events.emit("tenant_created", f"tenant {DEFAULT_TENANT} created with user admin", tenant=DEFAULT_TENANT)
        return password

    def _trust_changed(self, tenant: str, fp: str, what: str) -> None:
        words = {"uploaded": "uploaded", "updated": "updated", "disabled": "disabled", "deleted": "deleted",
                 "pop": "proof of possession completed for"}[what]
        self.events.emit("certificate_" + what if what != "pop" else "pop_completed",
                         f"trusted certificate {fp} {words}" if what != "pop" else f"{words} certificate {fp}",
                         tenant=tenant, fingerprint=fp)
        for listener in tuple(self.trust_listeners):
            listener(tenant, fp, what)

    def operation_created(self, tenant: str, operation: dict) -> None:
        """Tell the MQTT side about a new operation, so a connected device gets it on `s/ds` at once."""
        self.events.emit("operation_created", f"operation {operation['id']} created for device "
                         f"{operation['deviceId']}", tenant=tenant, operation=operation["id"])
        for listener in tuple(self.operation_listeners):
            listener(tenant, operation)

    # --- certificate devices -------------------------------------------------------------------------------
    def authenticate_chain(self, chain: Sequence[x509.Certificate], device_id: str | None, *, via: str,
                           tenant: str | None = None) -> tuple[DeviceIdentity, ChainMatch]:
        """Judge a device chain and register the device when allowed (docs/platform-reference.md A4, A5, A9, A12).

        Raises:
            ChainRefused: with the sentence for the event log (also emitted here).
        """
        try:
            match = self.chains.check(chain, tenant)
            cn = match.leaf_cn
            if not cn:
                raise ChainRefused(f"{describe(chain[0])} has no CN; the CN is the device id")
            if ":" in cn:
                raise ChainRefused(f"certificate CN '{cn}' contains ':', which the platform does not allow in a "
                                   "device id")
            if device_id is not None and device_id != cn:
                raise ChainRefused(f"client id '{device_id}' does not match certificate CN '{cn}'")
            user = device_user(cn)
            self._ensure_user(match, cn, user, via)
        except ChainRefused as refusal:
            self.events.emit("refused", f"{via}: {refusal.reason}", device=device_id or "", via=via,
                             unknown_ca=refusal.unknown_ca)
            raise
        identity = DeviceIdentity(match.tenant, user, cn, match.anchor_fingerprint)
        return identity, match

    def _ensure_user(self, match: ChainMatch, cn: str, user: str, via: str) -> None:
        existing = self.accounts.user(match.tenant, user)
        if existing is not None:
            if existing.auth_type != "CERTIFICATES":
                raise ChainRefused(f"device '{cn}' is registered in tenant {match.tenant} with password "
                                   "authentication, not certificates")
            return
        if not match.anchor["auto_registration"]:
            raise ChainRefused(f"device '{cn}' is not registered and auto-registration is off for trusted "
                               f"certificate '{match.anchor['name']}' ({match.anchor_fingerprint}); enable "
                               "auto-registration or bulk-register the device with AUTH_TYPE=CERTIFICATES")
        self.accounts.add_user(match.tenant, user, "device", auth_type="CERTIFICATES")
        self.events.emit("registered", f"device user {user} auto-registered on first {via} connection",
                         tenant=match.tenant, device=cn, user=user, via=via)

    def device_object(self, tenant: str, device_id: str) -> str | None:
        """The managed object id of a device (by its c8y_Serial external id), or None before it exists."""
        return self.inventory.lookup(tenant, SERIAL_TYPE, device_id)

    def create_device(self, tenant: str, device_id: str, name: str | None = None, type_: str | None = None,
                      owner: str | None = None) -> str:
        """The device managed object plus its c8y_Serial external id (template 100 and automatic creation)."""
        with self.store.transaction():
            mo = self.inventory.create_object(tenant, {"name": name or f"MQTT Device {device_id}",
                                                       "type": type_ or "c8y_MQTTDevice", "c8y_IsDevice": {}},
                                              owner=owner)
            self.inventory.bind(tenant, mo["id"], SERIAL_TYPE, device_id)
        self.events.emit("device_created", f"device {device_id} created as managed object {mo['id']}",
                         tenant=tenant, device=device_id, managed_object=mo["id"])
        return mo["id"]

