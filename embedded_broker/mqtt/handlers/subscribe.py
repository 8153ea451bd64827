"""SUBSCRIBE and UNSUBSCRIBE: filter validation, authorisation per filter, options, retained delivery."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from embedded_broker.errors import ProtocolError
from embedded_broker.events import EventKind
from embedded_broker.mqtt.codec.packets import Suback, Subscribe, Subscription, Unsuback, Unsubscribe
from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.extension import Action
from embedded_broker.mqtt.message import Message
from embedded_broker.mqtt.subscriptions import SubOptions, is_valid_filter, split_shared

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection

log = logging.getLogger("embedded_broker.subscribe")



def _subscription_id(packet: Subscribe) -> int | None:
    value = packet.properties.get("subscription_identifier")
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise ProtocolError("SUBSCRIBE may carry at most one subscription identifier", ReasonCode.PROTOCOL_ERROR)
        value = value[0]
    if value == 0:
        raise ProtocolError("subscription identifier 0 is not allowed", ReasonCode.PROTOCOL_ERROR)
    return value


async def handle_subscribe(conn: Connection, packet: Subscribe) -> None:
    """Grant or refuse each filter, answer SUBACK, then send the retained messages the options ask for."""
    session = conn.session
    assert session is not None
    sub_id = _subscription_id(packet)
    codes: list[int] = []
    retained: list[tuple[Message, int, tuple[int, ...]]] = []
    for sub in packet.subscriptions:
        code = _subscribe_one(conn, sub, sub_id, retained)
        codes.append(code)
    conn.send_packet(Suback(packet.packet_id, tuple(codes)))
    for message, qos, ids in retained:
        session.deliver(message, qos, True, ids)


def _subscribe_one(conn: Connection, sub: Subscription, sub_id: int | None,
                   retained: list[tuple[Message, int, tuple[int, ...]]]) -> int:
    engine = conn.engine
    topic_filter = sub.topic_filter
    try:
        group, inner = split_shared(topic_filter)
    except ValueError:
        return ReasonCode.TOPIC_FILTER_INVALID
    if not is_valid_filter(inner):
        return ReasonCode.TOPIC_FILTER_INVALID
    if group is not None and sub.no_local and conn.version == 5:
        raise ProtocolError("No Local is not allowed on a shared subscription", ReasonCode.PROTOCOL_ERROR)
    hooks = engine.hooks
    if hooks.authorize is not None:
        code = hooks.authorize(conn.identity, Action.SUBSCRIBE, topic_filter)
        if code:
            log.info("subscribe by %s to %r refused (0x%02X)", conn.client_id, topic_filter, code)
            return code
    qos = min(sub.qos, 2)
    opts = SubOptions(qos, sub.no_local, sub.retain_as_published, sub.retain_handling, sub_id)
    session = conn.session
    assert session is not None
    existed = engine.tree.add(topic_filter, session, opts)
    session.subscriptions[topic_filter] = opts
    if group is None and engine.limits.retain_available and (
        sub.retain_handling == 0 or (sub.retain_handling == 1 and not existed)
    ):
        ids = (sub_id,) if sub_id else ()
        for message in engine.retained.matching(inner):
            retained.append((message, min(message.qos, qos), ids))
    engine.events.emit(EventKind.SUBSCRIBED, client_id=conn.client_id, listener=conn.listener, peer=conn.peer,
                       identity=conn.identity, detail={"topic_filter": topic_filter, "qos": qos})
    if hooks.on_subscribe is not None:
        hooks.on_subscribe(conn.info, topic_filter, qos)
    return qos


async def handle_unsubscribe(conn: Connection, packet: Unsubscribe) -> None:
    """Remove each filter and answer UNSUBACK (v5 with a reason code per filter)."""
    session = conn.session
    assert session is not None
    engine = conn.engine
    codes = []
    for topic_filter in packet.topic_filters:
        existed = engine.tree.remove(topic_filter, session)
        session.subscriptions.pop(topic_filter, None)
        codes.append(ReasonCode.SUCCESS if existed else ReasonCode.NO_SUBSCRIPTION_EXISTED)
        if existed:
            engine.events.emit(EventKind.UNSUBSCRIBED, client_id=conn.client_id, listener=conn.listener,
                               peer=conn.peer, identity=conn.identity, detail={"topic_filter": topic_filter})
    conn.send_packet(Unsuback(packet.packet_id, tuple(codes)))
