"""The platform's MQTT rules (docs/platform-reference.md §4, A2, A4, A8, A11): who may connect, which topics
exist, and what `s/uat`, `s/us`, `s/ut`, `s/uc`, `s/ud`, `s/ucr` and JSON via MQTT do.

It plugs into the standards engine through the BrokerExtension hooks only; downstream messages go to one
client at a time with `Broker.send_to_client`, never through shared topics, so devices never see each other.

Isolation: every accepted client gets a session key of (tenant, user, device id). The engine takes over a
session only for an equal key, so `d:dev1` and `dev1` of one identity replace each other (one connection per
device, as the cloud does), while t200's `d:dev1` never touches t100's `d:dev1`. A client id's device id must
belong to the identity that authenticated: the certificate's CN, the `device_<id>` user's own id, and for an
admin any id that is not a registered device of its tenant.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.extension import Action, AuthResult, ClientInfo
from embedded_broker.platform.accounts import PasswordChecksBusy
from embedded_broker.platform.chains import ChainRefused
from embedded_broker.platform.core import DeviceIdentity, Platform, device_user
from embedded_broker.platform.device_requests import BOOTSTRAP_LOGIN, BOOTSTRAP_TENANT, BOOTSTRAP_USER, requests_of
from embedded_broker.platform.errors import PlatformError
from embedded_broker.platform.json_mqtt import JsonViaMqtt, is_json_topic
from embedded_broker.platform.operations_wire import operation_lines
from embedded_broker.platform.smartrest import encode_line
from embedded_broker.platform.smartrest_apply import SmartRestApplier
from embedded_broker.platform.smartrest_collections import Collections

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from embedded_broker.mqtt.codec.packets import Connect
    from embedded_broker.server import Broker
    from embedded_broker.tls import TlsPeer

log = logging.getLogger("embedded_broker.platform")
_DOWNSTREAM = {"s/ds", "s/dat", "s/e", "s/dcr", "s/dd", "s/dt", "error", "devicecontrol/notifications"}
_UPSTREAM_SMARTREST = {"s/us", "t/us", "q/us", "c/us"}
_DEFAULT_UP = {"s/ud", "t/ud", "q/ud", "c/ud"}
_CUSTOM_UP = ("s/uc/", "t/uc/", "q/uc/", "c/uc/")
_BOOTSTRAP_DOWN = {"s/dcr", "s/e"}


def is_bootstrap(identity: Any) -> bool:
    """Whether a client logged in with the bootstrap credentials (it may only ask for its credentials)."""
    return isinstance(identity, DeviceIdentity) and identity.tenant == BOOTSTRAP_TENANT and \
        identity.user == BOOTSTRAP_USER


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
        # all three by session key (see `session_key`), never by bare client id: tenants share client ids
        self._subscriptions: dict[str, dict[str, int]] = {}
        self._released: set[str] = set()
        self._clients: dict[str, ClientInfo] = {}
        self.smartrest = SmartRestApplier(platform)
        self.smartrest.on_pending = self._redeliver
        self.collections = Collections(platform)
        self.json = JsonViaMqtt(platform)
        platform.trust_listeners.append(self._trust_changed)
        platform.operation_listeners.append(self._operation_created)

    def attach(self, broker: Broker) -> None:
        """Remember the broker the downstream messages go through."""
        self.broker = broker

    # --- connect --------------------------------------------------------------------------------------------
    async def authenticate(self, connect: Connect, tls_peer: TlsPeer | None, listener: str) -> AuthResult:
        """Platform reference A4: certificate first, else tenant/user and password; every refusal is an event
        with the reason."""
        if connect.protocol_version not in (3, 4):
            return self._refuse(connect.client_id, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION,
                                f"client '{connect.client_id}' uses MQTT 5; the platform speaks MQTT 3.1 and 3.1.1 "
                                "only (use the sandbox listener for MQTT 5)")
        try:
            device_id, template = parse_client_id(connect.client_id)
        except ValueError as exc:
            return self._refuse(connect.client_id, ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, str(exc))
        if tls_peer is not None and tls_peer.chain_der:
            try:
                identity, _match = self.platform.authenticate_chain(tls_peer.chain(), device_id, via="MQTT")
            except ChainRefused as refusal:
                return AuthResult.refuse(ReasonCode.NOT_AUTHORIZED, refusal.reason)  # the event is already written
            return self._accept(DeviceIdentity(identity.tenant, identity.user, device_id,
                                               identity.anchor_fingerprint, template, listener))
        if connect.username == BOOTSTRAP_LOGIN:
            if not connect.password or not requests_of(self.platform).is_bootstrap(
                    connect.password.decode("utf-8", "replace")):
                return self._refuse(connect.client_id, ReasonCode.BAD_USER_NAME_OR_PASSWORD,
                                    f"wrong bootstrap password for '{BOOTSTRAP_LOGIN}'")
            return self._accept(DeviceIdentity(BOOTSTRAP_TENANT, BOOTSTRAP_USER, device_id, None, template, listener))
        if connect.username:
            server_name = tls_peer.server_name if tls_peer is not None else None
            tenant, user = self.platform.accounts.resolve_login(connect.username, server_name)
            known = tenant if tenant in self.platform.accounts.tenants() else ""
            domain = self.platform.accounts.domain_tenant(server_name)
            if domain is not None and tenant != domain:  # as on REST (rest/access.py): a tenant domain is that tenant's
                return self._refuse(connect.client_id, ReasonCode.BAD_USER_NAME_OR_PASSWORD,
                                    f"user '{connect.username}' belongs to tenant {tenant}, but this connection is for "
                                    f"tenant {domain} (TLS server name {server_name}); log in as {domain}/<user>, or "
                                    f"connect to {tenant}.localhost or localhost", domain)
            if not connect.password:
                return self._refuse(connect.client_id, ReasonCode.NOT_AUTHORIZED,
                                    f"user '{connect.username}' sent an empty password; a password device sends the "
                                    "password it was registered with (CONNACK 4 is for wrong credentials only)",
                                    known)
            try:  # PBKDF2 runs on the hashing pool (bounded), never on the loop
                account = await self.platform.accounts.verify_password(tenant, user,
                                                                       connect.password.decode("utf-8", "replace"))
            except PasswordChecksBusy:  # SERVER_UNAVAILABLE is CONNACK 3 in MQTT 3.1.1: retry later
                return self._refuse(connect.client_id, ReasonCode.SERVER_UNAVAILABLE,
                                    f"too many logins are being checked; '{connect.username}' was not checked, "
                                    "retry in a second", known)
            except PlatformError:
                return self._refuse(connect.client_id, ReasonCode.BAD_USER_NAME_OR_PASSWORD,
                                    f"wrong user name or password for '{connect.username}'", known)
            mismatch = self._foreign_client_id(account.tenant, account.name, account.kind, device_id)
            if mismatch:
                return self._refuse(connect.client_id, ReasonCode.NOT_AUTHORIZED, mismatch, tenant)
            return self._accept(DeviceIdentity(tenant, user, device_id, None, template, listener))
        return self._refuse(connect.client_id, ReasonCode.NOT_AUTHORIZED,
                            f"client '{connect.client_id}' sent no certificate and no user name; certificate devices "
                            "connect over TLS with their key and chain")

    def _foreign_client_id(self, tenant: str, user: str, kind: str, device_id: str) -> str:
        """Why a password identity may not use this client id's device id, or "" when it may."""
        if kind == "device":
            own = user.removeprefix("device_")
            if device_id != own:
                return (f"client id names device '{device_id}', but user {user} of tenant {tenant} is device "
                        f"'{own}'; a password device connects as {own}, d:{own} or d:{own}:<template>")
            return ""
        registered = self.platform.accounts.user(tenant, device_user(device_id))
        if registered is not None:
            return (f"client id names device '{device_id}', which is registered in tenant {tenant} "
                    f"({registered.auth_type}); user {user} may not take a device's session: connect as the device "
                    "or use a client id that is not a device's")
        return ""

    def _refuse(self, client_id: str, code: int, reason: str, tenant: str = "") -> AuthResult:
        self.platform.events.emit("refused", f"MQTT: {reason}", tenant=tenant, device=client_id, via="MQTT")
        return AuthResult.refuse(code, reason)

    @staticmethod
    def _accept(identity: DeviceIdentity) -> AuthResult:
        return AuthResult(True, ReasonCode.SUCCESS, "", identity, force_clean_start=True,
                          session_key=session_key(identity))

    # --- authorisation --------------------------------------------------------------------------------------
    def authorize(self, identity: Any, action: Action, topic: str) -> int:
        """Devices subscribe to downstream topics only and never publish to them; a bootstrap login only asks for
        its credentials (`s/ucr` up, `s/dcr` and `s/e` down)."""
        if is_bootstrap(identity):
            allowed = topic in _BOOTSTRAP_DOWN if action is Action.SUBSCRIBE else topic == "s/ucr"
            return ReasonCode.SUCCESS if allowed else ReasonCode.NOT_AUTHORIZED
        if action is Action.SUBSCRIBE:
            return ReasonCode.SUCCESS if is_downstream(topic) else ReasonCode.NOT_AUTHORIZED
        return ReasonCode.NOT_AUTHORIZED if is_downstream(topic) else ReasonCode.SUCCESS

    def hold_delivery(self, client: ClientInfo) -> bool:
        """Platform reference A8: nothing goes down before the device's first upstream publish (`s/us`, `s/uat`,
        `s/ut`, `s/uc`, `s/ud`, `s/ucr` or JSON via MQTT)."""
        return True

    def on_subscribe(self, client: ClientInfo, topic_filter: str, granted_qos: int) -> None:
        """Remember the device's downstream subscriptions (the platform delivers only what it asked for)."""
        if self._clients.get(client.session_key) is client:
            self._subscriptions.setdefault(client.session_key, {})[topic_filter] = granted_qos

    def on_connected(self, client: ClientInfo) -> None:
        """One connection per device id (the engine took over the same identity's older one), then queue pending
        operations behind the gate."""
        identity: DeviceIdentity = client.identity
        skey = client.session_key
        self._subscriptions[skey] = {}
        self._released.discard(skey)
        self._clients[skey] = client
        key = (identity.tenant, identity.device_id or client.client_id)
        self.platform.sessions.opened(key, client.client_id, identity.anchor_fingerprint, skey, client)
        how = f"certificate {identity.anchor_fingerprint}" if identity.by_certificate else f"user {identity.user}"
        self.platform.events.emit("connected", f"MQTT: {client.client_id} connected ({how})", tenant=identity.tenant,
                                  device=identity.device_id or "", client_id=client.client_id, peer=client.peer)

    def on_disconnected(self, client: ClientInfo, reason_code: int, reason: str) -> None:
        """Forget the connection's state (clean session is forced), unless a newer connection owns it already."""
        identity: DeviceIdentity = client.identity
        skey = client.session_key
        if self._clients.get(skey) is client:
            del self._clients[skey]
            self._subscriptions.pop(skey, None)
            self._released.discard(skey)
        key = (identity.tenant, identity.device_id or client.client_id)
        self.platform.sessions.closed(key, client.client_id, client)
        self.platform.events.emit("disconnected", f"MQTT: {client.client_id} disconnected: {reason}",
                                  tenant=identity.tenant, device=identity.device_id or "", client_id=client.client_id)

    # --- upstream -------------------------------------------------------------------------------------------
    def on_publish(self, client: ClientInfo, topic: str, payload: bytes, qos: int,
                   properties: dict[str, Any]) -> bool | Awaitable[bool]:
        """Platform topics are consumed here; nothing a device publishes is routed to other clients.

        SmartREST is awaited by the engine: lines run in time slices (other connections run between them) while
        this connection's next packet waits, so the device's publishes keep their order.
        """
        identity: DeviceIdentity = client.identity
        skey = client.session_key

        def send(reply_topic: str, line: str) -> bool:
            return self.send(skey, reply_topic, line)

        def alive() -> bool:
            return self._clients.get(skey) is client

        if is_bootstrap(identity):
            if topic == "s/ucr":
                self._release(client)
                self._bootstrap_poll(client, identity)
            return True
        if topic == "s/uat":
            self._release(client)
            self._send_token(client, identity)
        elif topic in _UPSTREAM_SMARTREST or topic.startswith("s/us/"):
            self._release(client)
            child = topic[5:] if topic.startswith("s/us/") else None
            return self.smartrest.run(identity, skey, payload, child, send, alive=alive)
        elif topic.startswith("s/ut/"):
            self._release(client)
            for reply_topic, line in self.collections.create(identity, topic[5:], payload):
                send(reply_topic, line)
        elif topic.startswith(_CUSTOM_UP) and len(topic) > 5:
            self._release(client)
            xid = topic[5:]
            return self.collections.run(identity, xid, f"s/dc/{xid}", payload, send, alive=alive)
        elif topic in _DEFAULT_UP:
            self._release(client)
            if not identity.template:
                send("s/e", encode_line(["41", "", "No default X-ID: connect as d:<device id>:<X-ID> to use s/ud"]))
                return True
            return self.collections.run(identity, identity.template, "s/dd", payload, send, alive=alive)
        elif topic == "s/ucr":
            self._release(client)  # a registered device asks again: the cloud has nothing to send it
        elif is_json_topic(topic):
            self._release(client)
            return self.json.run(identity, topic, payload, send, alive=alive)
        return True

    def _bootstrap_poll(self, client: ClientInfo, identity: DeviceIdentity) -> None:
        """`s/ucr` of a bootstrap login: mark the request as connected, or hand over the credentials once."""
        device_id = identity.device_id or client.client_id
        accounts = self.platform.accounts

        def issue(tenant: str, user: str, password: str) -> None:
            accounts.add_user(tenant, user, "device", sealed_password=password)

        state, credentials = requests_of(self.platform).poll(device_id, issue)
        if credentials is None:
            self.platform.events.emit("bootstrap_polled", f"MQTT: bootstrap s/ucr of {device_id}: {state}",
                                      device=device_id, status=state)
            return
        self.send(client.session_key, "s/dcr", encode_line(["70", credentials.tenant, credentials.user,
                                                             credentials.password]))
        self.platform.events.emit("registered", f"device user {credentials.user} created by bootstrap registration; "
                                  "its credentials went out on s/dcr", tenant=credentials.tenant, device=device_id,
                                  user=credentials.user, via="bootstrap")

    def _release(self, client: ClientInfo) -> None:
        skey = client.session_key
        if skey not in self._released and self.broker is not None:
            self._released.add(skey)
            self.broker.release_delivery(skey)
            self._redeliver(skey)  # platform reference A8 + re-delivery: pending operations go out now, in order

    def _redeliver(self, skey: str) -> None:
        client = self._clients.get(skey)
        if client is None:
            return
        identity: DeviceIdentity = client.identity
        mo = self.platform.device_object(identity.tenant, identity.device_id or "")
        if mo is not None:
            for operation in self.platform.inventory.list_operations(identity.tenant,
                                                                      {"deviceId": mo, "status": "PENDING"}):
                self._deliver_operation(skey, identity.tenant, operation)

    def _send_token(self, client: ClientInfo, identity: DeviceIdentity) -> None:
        if not identity.by_certificate:
            self.send(client.session_key, "s/e", "50,,Only certificate devices get a token over s/uat")
            return
        token, new = self.platform.tokens.device_token(identity.tenant, identity.user)
        self.send(client.session_key, "s/dat", f"71,{token}")
        self.platform.events.emit("token_issued" if new else "token_reused",
                                  f"MQTT: {'new' if new else 'still valid'} token sent to {identity.user}",
                                  tenant=identity.tenant, device=identity.device_id or "")

    # --- downstream -----------------------------------------------------------------------------------------
    def send(self, skey: str, topic: str, line: str) -> bool:
        """Send one line to one client (by session key), if it subscribed to the topic (as the platform does)."""
        filters = self._subscriptions.get(skey, {})
        qos = max((q for f, q in filters.items() if _matches(f, topic)), default=None)
        if qos is None or self.broker is None:
            return False
        return self.broker.send_to_client(skey, topic, line.encode(), qos)

    def _operation_created(self, tenant: str, operation: dict[str, Any]) -> None:
        for (dev_tenant, device_id), session in self.platform.sessions.open_sessions():
            skey = session.session_key
            if dev_tenant == tenant and skey in self._released and \
                    self.platform.device_object(tenant, device_id) == operation["deviceId"]:
                self._deliver_operation(skey, tenant, operation)

    def _deliver_operation(self, skey: str, tenant: str, operation: dict[str, Any]) -> None:
        serial = self._serial(tenant, operation)
        for line in operation_lines(operation, serial):
            self.send(skey, "s/ds", line)
        self._deliver_custom(skey, operation, serial)
        self.send(skey, "devicecontrol/notifications",
                  _json({**operation, "externalSource": {"externalId": serial, "type": "c8y_Serial"}}))

    def _deliver_custom(self, skey: str, operation: dict[str, Any], serial: str) -> None:
        """The operation through the response templates of each collection the device listens to (`s/dc/<X-ID>`,
        and `s/dd` for the client id's default X-ID)."""
        client = self._clients.get(skey)
        if client is None:
            return
        identity: DeviceIdentity = client.identity
        targets = {f[5:]: f for f in self._subscriptions.get(skey, {}) if f.startswith("s/dc/") and
                   "+" not in f and "#" not in f}
        if identity.template and any(_matches(f, "s/dd") for f in self._subscriptions.get(skey, {})):
            targets.setdefault(identity.template, "")
            targets_dd = True
        else:
            targets_dd = False
        for xid, topic in targets.items():
            lines = self.collections.operation_lines(identity, xid, operation, serial)
            for line in lines:
                if topic:
                    self.send(skey, topic, line)
                if targets_dd and xid == identity.template:
                    self.send(skey, "s/dd", line)

    def _serial(self, tenant: str, operation: dict[str, Any]) -> str:
        for external in self.platform.inventory.externals_of(tenant, operation["deviceId"]):
            if external["type"] == "c8y_Serial":
                return external["externalId"]
        return operation["deviceId"]

    def _trust_changed(self, tenant: str, fp: str, what: str) -> None:
        """Platform reference A11: disabling or deleting a trusted certificate closes the sessions that chain
        to it at once."""
        if what not in ("disabled", "deleted") or self.broker is None:
            return

        def chained(client: ClientInfo) -> bool:
            identity = client.identity
            return isinstance(identity, DeviceIdentity) and identity.tenant == tenant and \
                identity.anchor_fingerprint == fp

        closed = self.broker.disconnect_clients(chained, ReasonCode.NOT_AUTHORIZED,
                                                f"trusted certificate {fp} was {what}")
        if closed:
            self.platform.events.emit("sessions_closed", f"{closed} MQTT session(s) closed because trusted "
                                      f"certificate {fp} was {what}", tenant=tenant, fingerprint=fp)


def session_key(identity: DeviceIdentity) -> str:
    """The engine's session key of an identity: tenant, user and device id (JSON, so no two can collide)."""
    return json.dumps([identity.tenant, identity.user, identity.device_id or ""], separators=(",", ":"))


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))
