"""A static topic deny list for the sandbox broker (the idea of mosquitto's acl_file, without users).

It is an ordinary extension: the engine only sees the `authorize` hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.extension import Action
from embedded_broker.mqtt.subscriptions import filter_matches


class TopicAcl:
    """Refuse subscriptions to, and publications on, topics matched by the given filters."""

    def __init__(self, deny_subscribe: Iterable[str] = (), deny_publish: Iterable[str] = (),
                 reason_code: int = ReasonCode.NOT_AUTHORIZED) -> None:
        self.deny_subscribe = tuple(deny_subscribe)
        self.deny_publish = tuple(deny_publish)
        self.reason_code = reason_code

    def authorize(self, identity: Any, action: Action, topic: str) -> int:
        """0 when allowed, else the configured v5 reason code (v3 clients get 0x80 / a silent drop)."""
        denied = self.deny_subscribe if action is Action.SUBSCRIBE else self.deny_publish
        for topic_filter in denied:
            if topic_filter == topic or filter_matches(topic_filter, topic):
                return self.reason_code
        return ReasonCode.SUCCESS
