"""CONNECT: client id rules, authentication on every connect, session attach/take-over, CONNACK properties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedded_broker.errors import AuthError, ProtocolError
from embedded_broker.mqtt.codec.packets import Connack, Connect
from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.extension import ClientInfo
from embedded_broker.mqtt.sessions import NEVER_EXPIRES

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection



async def handle_connect(conn: Connection, connect: Connect) -> None:
    """Authenticate (always, from this connection only), attach the session, send CONNACK, resume delivery."""
    if conn.connected:
        raise ProtocolError("a second CONNECT on the same connection", ReasonCode.PROTOCOL_ERROR)
    engine = conn.engine
    limits = conn.limits
    version = connect.protocol_version
    props = connect.properties
    client_id = connect.client_id
    ack_props: dict[str, object] = {}
    if not client_id:
        if version == 5 or (version == 4 and connect.clean_start):
            client_id = engine.new_client_id()
            if version == 5:
                ack_props["assigned_client_identifier"] = client_id
        else:
            raise AuthError("an empty client id needs a clean session", ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)
    conn.client_id = client_id
    if "authentication_method" in props:
        raise AuthError(f"authentication method {props['authentication_method']!r} is not supported",
                        ReasonCode.BAD_AUTHENTICATION_METHOD)
    hooks = engine.hooks
    clean_start = connect.clean_start
    session_key = client_id
    if hooks.authenticate is not None:
        result = await hooks.authenticate(connect, conn.tls_peer, conn.listener)
        if not result.ok:
            raise AuthError(result.human_reason or "not authorized", result.reason_code or ReasonCode.NOT_AUTHORIZED)
        conn.identity = result.identity
        clean_start = clean_start or result.force_clean_start
        session_key = result.session_key or client_id
    if conn.closing:
        return
    keepalive = connect.keepalive
    if version == 5:
        receive_maximum = props.get("receive_maximum", 65535)
        conn.send_window = min(receive_maximum, limits.max_inflight)
        conn.max_out_packet = props.get("maximum_packet_size", 0)
        conn.alias_out_max = min(props.get("topic_alias_maximum", 0), 65535)
        conn.problem_info = bool(props.get("request_problem_information", 1))
        expiry = min(props.get("session_expiry_interval", 0), limits.max_session_expiry)
        server_keep_alive = engine.server_keep_alive
        if server_keep_alive is None and (keepalive == 0 or keepalive > limits.max_keepalive) and limits.max_keepalive:
            server_keep_alive = limits.max_keepalive
        if server_keep_alive is not None and server_keep_alive != keepalive:
            keepalive = server_keep_alive
            ack_props["server_keep_alive"] = keepalive
        if limits.receive_maximum != 65535:
            ack_props["receive_maximum"] = limits.receive_maximum
        ack_props["maximum_packet_size"] = limits.max_packet_size
        if limits.topic_alias_maximum:
            ack_props["topic_alias_maximum"] = limits.topic_alias_maximum
        if not limits.retain_available:
            ack_props["retain_available"] = 0
        if expiry != props.get("session_expiry_interval", 0):
            ack_props["session_expiry_interval"] = expiry
    else:
        expiry = 0 if clean_start else NEVER_EXPIRES
    conn.info = ClientInfo(client_id, conn.identity, conn.tls_peer, conn.listener, version, connect.username,
                           conn.peer, session_key)
    session, present = engine.attach(conn, clean_start, expiry, connect.will)
    conn.start_keepalive(keepalive)
    conn.send_packet(Connack(present, ReasonCode.SUCCESS, ack_props))
    conn.connected = True
    engine.client_connected(conn)
    session.resume()
