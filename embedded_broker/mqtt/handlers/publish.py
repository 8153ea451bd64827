"""PUBLISH and its acknowledgements: topic aliases in, authorisation, the platform hook, routing, QoS 1/2 flows."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING

from embedded_broker.errors import ProtocolError
from embedded_broker.mqtt.codec.packets import Puback, Pubcomp, Publish, Pubrec, Pubrel
from embedded_broker.mqtt.codec.reason_codes import ReasonCode, is_error
from embedded_broker.mqtt.extension import Action
from embedded_broker.mqtt.message import Message

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection

log = logging.getLogger("embedded_broker.publish")


def _resolve_topic(conn: Connection, packet: Publish) -> str:
    """The topic name after applying an incoming v5 topic alias."""
    topic = packet.topic
    alias = packet.properties.get("topic_alias")
    if alias is not None:
        if alias == 0 or alias > conn.limits.topic_alias_maximum:
            raise ProtocolError(f"topic alias {alias} is outside 1..{conn.limits.topic_alias_maximum}",
                                ReasonCode.TOPIC_ALIAS_INVALID)
        if topic:
            conn.aliases_in[alias] = topic
        else:
            found = conn.aliases_in.get(alias)
            if found is None:
                raise ProtocolError(f"topic alias {alias} was never set", ReasonCode.PROTOCOL_ERROR)
            topic = found
    if "subscription_identifier" in packet.properties:
        raise ProtocolError("a client must not send a subscription identifier in PUBLISH", ReasonCode.PROTOCOL_ERROR)
    return topic


async def handle_publish(conn: Connection, packet: Publish) -> None:
    """Route one application message (or let the platform consume it) and acknowledge it per its QoS."""
    topic = _resolve_topic(conn, packet) if packet.properties else packet.topic
    if not topic or "+" in topic or "#" in topic:
        raise ProtocolError(f"invalid topic name {topic!r}", ReasonCode.TOPIC_NAME_INVALID)
    qos = packet.qos
    session = conn.session
    assert session is not None
    engine = conn.engine
    engine.stats.publish_received += 1
    pid = packet.packet_id
    if qos == 2:
        if pid in session.incoming_qos2:
            conn.send_packet(Pubrec(pid))  # a DUP of a message already routed (method A)
            return
        if len(session.incoming_qos2) >= conn.limits.receive_maximum:
            raise ProtocolError("more unacknowledged QoS 2 messages than the Receive Maximum",
                                ReasonCode.RECEIVE_MAXIMUM_EXCEEDED)
    if packet.retain and not conn.limits.retain_available:
        raise ProtocolError("retained messages are not supported", ReasonCode.RETAIN_NOT_SUPPORTED)
    hooks = engine.hooks
    if hooks.authorize is not None:
        code = hooks.authorize(conn.identity, Action.PUBLISH, topic)
        if code:
            log.info("publish by %s to %r refused (0x%02X)", conn.client_id, topic, code)
            _ack(conn, qos, pid, code if conn.version == 5 else 0)
            return
    consumed = False
    if hooks.on_publish is not None:
        result = hooks.on_publish(conn.info, topic, packet.payload, qos, packet.properties)
        if inspect.isawaitable(result):
            result = await result
        consumed = bool(result)
    if not consumed:
        engine.route(Message(topic, packet.payload, qos, packet.retain, packet.properties, session))
    if qos:
        _ack(conn, qos, pid, 0)


def _ack(conn: Connection, qos: int, packet_id: int | None, code: int) -> None:
    props = {"reason_string": "not authorized to publish here"} if is_error(code) and conn.problem_info else {}
    if qos == 1:
        conn.send_packet(Puback(packet_id, code, props))  # type: ignore[arg-type]
    elif qos == 2:
        if not is_error(code):
            conn.session.incoming_qos2.add(packet_id)  # type: ignore[union-attr, arg-type]
        conn.send_packet(Pubrec(packet_id, code, props))  # type: ignore[arg-type]


async def handle_puback(conn: Connection, packet: Puback) -> None:
    """QoS 1 delivery done: free the window slot."""
    conn.session.acknowledge(packet.packet_id)  # type: ignore[union-attr]


async def handle_pubrec(conn: Connection, packet: Pubrec) -> None:
    """QoS 2 step 2: release with PUBREL, or drop the message if the client refused it."""
    session = conn.session
    assert session is not None
    flight = session.inflight.get(packet.packet_id)
    if flight is None or flight.qos != 2:
        conn.send_packet(Pubrel(packet.packet_id, ReasonCode.PACKET_IDENTIFIER_NOT_FOUND))
        return
    if is_error(packet.reason_code):
        session.acknowledge(packet.packet_id)
        return
    flight.released = True
    conn.send_packet(Pubrel(packet.packet_id))


async def handle_pubrel(conn: Connection, packet: Pubrel) -> None:
    """QoS 2 incoming, last step: forget the packet id and answer PUBCOMP."""
    session = conn.session
    assert session is not None
    if packet.packet_id in session.incoming_qos2:
        session.incoming_qos2.discard(packet.packet_id)
        conn.send_packet(Pubcomp(packet.packet_id))
    else:
        conn.send_packet(Pubcomp(packet.packet_id, ReasonCode.PACKET_IDENTIFIER_NOT_FOUND))


async def handle_pubcomp(conn: Connection, packet: Pubcomp) -> None:
    """QoS 2 outgoing done: free the window slot."""
    conn.session.acknowledge(packet.packet_id)  # type: ignore[union-attr]
