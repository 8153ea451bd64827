"""The platform's MQTT rules (§4, A2, A4, A8, A11): who may connect, which topics exist, and what `s/uat`/`s/us` do.

It plugs into the standards engine through the BrokerExtension hooks only; downstream messages go to one
client at a time with `Broker.send_to_client`, never through shared topics, so devices never see each other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from embedded_broker.mqtt.extension import Action, AuthResult, ClientInfo
from embedded_broker.platform.chains import ChainRefused
from embedded_broker.platform.core import DeviceIdentity, Platform
from embedded_broker.platform.errors import PlatformError
from embedded_broker.platform.operations_wire import operation_lines
from embedded_broker.platform.smartrest_apply import SmartRestApplier

if TYPE_CHECKING:
    from embedded_broker.mqtt.codec.packets import Connect
    from embedded_broker.server import Broker
    from embedded_broker.tls import TlsPeer

log = logging.getLogger("embedded_broker.platform")
UNSUPPORTED_VERSION = 0x84
IDENTIFIER_REJECTED = 0x85
BAD_CREDENTIALS = 0x86
NOT_AUTHORIZED = 0x87
_DOWNSTREAM = {"s/ds", "s/dat", "s/e", "s/dcr", "s/dd", "s/dt", "error", "devicecontrol/notifications"}
_UPSTREAM_SMARTREST = {"s/us", "t/us", "q/us", "c/us"}


def parse_client_id(client_id: str) -> tuple[str, str | None]:
    """`[d:]id[:template]` → (device id, default template id).

    Raises:
        ValueError: a client id the platform rejects, with the reason.
    """
    parts = client_id.split(":")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if parts[0] == "d" and len(parts) in (2, 3) and parts[1]:
        return parts[1], (parts[2] or None) if len(parts) == 3 else None
    raise ValueError(f"client id '{client_id}' is not of the form [d:]<device id>[:<template id>]")


def is_downstream(topic: str) -> bool:
    """Topics a device may subscribe to (and nobody may publish to)."""
    return topic in _DOWNSTREAM or topic.startswith(("s/dc/", "s/ds/"))


def _matches(topic_filter: str, topic: str) -> bool:
    filter_parts, topic_parts = topic_filter.split("/"), topic.split("/")
    for index, part in enumerate(filter_parts):
        if part == "#":
            return True
        if index >= len(topic_parts) or (part != "+" and part != topic_parts[index]):
            return False
    return len(filter_parts) == len(topic_parts)


class PlatformMqtt:
    """The BrokerExtension of the platform listeners."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.broker: Broker | None = None
        self._subscriptions: dict[str, dict[str, int]] = {}
        self._released: set[str] = set()
        self._identities: dict[str, DeviceIdentity] = {}
        self.smartrest = SmartRestApplier(platform)
        self.smartrest.on_pending = self._redeliver
        platform.trust_listeners.append(self._trust_changed)
        platform.operation_listeners.append(self._operation_created)

    def attach(self, broker: Broker) -> None:
        """Remember the broker the downstream messages go through."""
        self.broker = broker

    # --- connect --------------------------------------------------------------------------------------------
    async def authenticate(self, connect: Connect, tls_peer: TlsPeer | None, listener: str) -> AuthResult:
        """A4: certificate first, else tenant/user and password; every refusal is an event with the reason."""
        if connect.protocol_version not in (3, 4):
            return self._refuse(connect.client_id, UNSUPPORTED_VERSION,
                                f"client '{connect.client_id}' uses MQTT 5; the platform speaks MQTT 3.1 and 3.1.1 "
                                "only (use the sandbox listener for MQTT 5)")
        try:
            device_id, template = parse_client_id(connect.client_id)
        except ValueError as exc:
            return self._refuse(connect.client_id, IDENTIFIER_REJECTED, str(exc))
        if tls_peer is not None and tls_peer.chain_der:
            try:
                identity, _match = self.platform.authenticate_chain(tls_peer.chain(), device_id, via="MQTT")
            except ChainRefused as refusal:
                return AuthResult.refuse(NOT_AUTHORIZED, refusal.reason)  # the event is already written
            return self._accept(DeviceIdentity(identity.tenant, identity.user, device_id,
                                               identity.anchor_fingerprint, template, listener))
        if connect.username:
            tenant, user = self.platform.accounts.resolve_login(connect.username)
            try:
                self.platform.accounts.check_password(tenant, user, (connect.password or b"").decode("utf-8",
                                                                                                     "replace"))
            except PlatformError:
                return self._refuse(connect.client_id, BAD_CREDENTIALS,
                                    f"wrong user name or password for '{connect.username}'")
            return self._accept(DeviceIdentity(tenant, user, device_id, None, template, listener))
        return self._refuse(connect.client_id, NOT_AUTHORIZED,
                            f"client '{connect.client_id}' sent no certificate and no user name; certificate devices "
                            "connect over TLS with their key and chain")

    def _refuse(self, client_id: str, code: int, reason: str) -> AuthResult:
        self.platform.events.emit("refused", f"MQTT: {reason}", device=client_id, via="MQTT")
        return AuthResult.refuse(code, reason)

    @staticmethod
    def _accept(identity: DeviceIdentity) -> AuthResult:
        return AuthResult(True, 0, "", identity, force_clean_start=True)

    # --- authorisation --------------------------------------------------------------------------------------
    def authorize(self, identity: Any, action: Action, topic: str) -> int:
        """Devices subscribe to downstream topics only and never publish to them."""
        if action is Action.SUBSCRIBE:
            return 0 if is_downstream(topic) else NOT_AUTHORIZED
        return NOT_AUTHORIZED if is_downstream(topic) else 0

    def hold_delivery(self, client: ClientInfo) -> bool:
        """A8: nothing goes down before the device's first `s/uat` or `s/us` publish."""
        return True

    def on_subscribe(self, client: ClientInfo, topic_filter: str, granted_qos: int) -> None:
        """Remember the device's downstream subscriptions (the platform delivers only what it asked for)."""
        self._subscriptions.setdefault(client.client_id, {})[topic_filter] = granted_qos

    def on_connected(self, client: ClientInfo) -> None:
        """One connection per device id (a new one takes over), then queue pending operations behind the gate."""
        identity: DeviceIdentity = client.identity
        self._subscriptions[client.client_id] = {}
        self._released.discard(client.client_id)
        self._identities[client.client_id] = identity
        key = (identity.tenant, identity.device_id or client.client_id)
        taken_over = self.platform.sessions.opened(key, client.client_id, identity.anchor_fingerprint)
        previous = taken_over.client_id if taken_over is not None else None
        if previous is not None and previous != client.client_id and self.broker is not None:
            self.broker.disconnect_clients(lambda c: c.client_id == previous, NOT_AUTHORIZED,
                                           "another connection of the same device took over")
        how = f"certificate {identity.anchor_fingerprint}" if identity.by_certificate else f"user {identity.user}"
        self.platform.events.emit("connected", f"MQTT: {client.client_id} connected ({how})", tenant=identity.tenant,
                                  device=identity.device_id or "", client_id=client.client_id, peer=client.peer)

    def on_disconnected(self, client: ClientInfo, reason_code: int, reason: str) -> None:
        """Forget the connection's state (clean session is forced)."""
        identity: DeviceIdentity = client.identity
        self._subscriptions.pop(client.client_id, None)
        self._released.discard(client.client_id)
        if self._identities.get(client.client_id) is identity:
            del self._identities[client.client_id]
        key = (identity.tenant, identity.device_id or client.client_id)
        self.platform.sessions.closed(key, client.client_id)
        self.platform.events.emit("disconnected", f"MQTT: {client.client_id} disconnected: {reason}",
                                  tenant=identity.tenant, device=identity.device_id or "", client_id=client.client_id)

    # --- upstream -------------------------------------------------------------------------------------------
    def on_publish(self, client: ClientInfo, topic: str, payload: bytes, qos: int, properties: dict[str, Any]) -> bool:
        """Platform topics are consumed here; nothing a device publishes is routed to other clients."""
        identity: DeviceIdentity = client.identity
        if topic == "s/uat":
            self._release(client)
            self._send_token(client, identity)
        elif topic in _UPSTREAM_SMARTREST or topic.startswith("s/us/"):
            self._release(client)
            child = topic[5:] if topic.startswith("s/us/") else None
            text = payload.decode("utf-8", "replace")
            for reply_topic, line in self.smartrest.apply(identity, client.client_id, text, child):
                self.send(client.client_id, reply_topic, line)
        return True

    def _release(self, client: ClientInfo) -> None:
        if client.client_id not in self._released and self.broker is not None:
            self._released.add(client.client_id)
            self.broker.release_delivery(client.client_id)
            self._redeliver(client.client_id)  # A8 + re-delivery: pending operations go out now, in order

    def _redeliver(self, client_id: str) -> None:
        identity = self._identities.get(client_id)
        if identity is None:
            return
        mo = self.platform.device_object(identity.tenant, identity.device_id or "")
        if mo is not None:
            for operation in self.platform.inventory.list_operations(identity.tenant,
                                                                      {"deviceId": mo, "status": "PENDING"}):
                self._deliver_operation(client_id, operation)

    def _send_token(self, client: ClientInfo, identity: DeviceIdentity) -> None:
        if not identity.by_certificate:
            self.send(client.client_id, "s/e", "50,,Only certificate devices get a token over s/uat")
            return
        token, new = self.platform.tokens.device_token(identity.tenant, identity.user)
        self.send(client.client_id, "s/dat", f"71,{token}")
        self.platform.events.emit("token_issued" if new else "token_reused",
                                  f"MQTT: {'new' if new else 'still valid'} token sent to {identity.user}",
                                  tenant=identity.tenant, device=identity.device_id or "")

    # --- downstream -----------------------------------------------------------------------------------------
    def send(self, client_id: str, topic: str, line: str) -> bool:
        """Send one line to one client, if it subscribed to the topic (as the platform does)."""
        filters = self._subscriptions.get(client_id, {})
        qos = max((q for f, q in filters.items() if _matches(f, topic)), default=None)
        if qos is None or self.broker is None:
            return False
        return self.broker.send_to_client(client_id, topic, line.encode(), qos)

    def _operation_created(self, tenant: str, operation: dict[str, Any]) -> None:
        for (dev_tenant, device_id), session in self.platform.sessions.open_sessions():
            client_id = session.client_id
            if dev_tenant == tenant and client_id in self._released and \
                    self.platform.device_object(tenant, device_id) == operation["deviceId"]:
                self._deliver_operation(client_id, operation)

    def _deliver_operation(self, client_id: str, operation: dict[str, Any]) -> None:
        serial = self._serial(operation)
        for line in operation_lines(operation, serial):
            self.send(client_id, "s/ds", line)
        self.send(client_id, "devicecontrol/notifications", _json(operation))

    def _serial(self, operation: dict[str, Any]) -> str:
        for tenant in self.platform.accounts.tenants():
            for external in self.platform.inventory.externals_of(tenant, operation["deviceId"]):
                if external["type"] == "c8y_Serial":
                    return external["externalId"]
        return operation["deviceId"]

    def _trust_changed(self, tenant: str, fp: str, what: str) -> None:
        """A11: disabling or deleting a trusted certificate closes the sessions that chain to it at once."""
        if what not in ("disabled", "deleted") or self.broker is None:
            return

        def chained(client: ClientInfo) -> bool:
            identity = client.identity
            return isinstance(identity, DeviceIdentity) and identity.tenant == tenant and \
                identity.anchor_fingerprint == fp

        closed = self.broker.disconnect_clients(chained, NOT_AUTHORIZED, f"trusted certificate {fp} was {what}")
        if closed:
            self.platform.events.emit("sessions_closed", f"{closed} MQTT session(s) closed because trusted "
                                      f"certificate {fp} was {what}", tenant=tenant, fingerprint=fp)


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, separators=(",", ":"))
