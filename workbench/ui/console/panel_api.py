"""What a console panel is given instead of the console: the session's face and the console's two services.

Every panel of `ui/console/` takes these in its constructor, so each one can be built alone (a test, another page)
and none of them imports the console widget that composes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import SessionSettings, SessionState


class ConsoleSession(Protocol):
    """The commands a panel sends to the connection (`services.mqtt_session.MqttSession` has them)."""

    @property
    def state(self) -> SessionState:
        """Connected or not: a panel checks before it sends."""
        ...

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None,
                user_properties: tuple[tuple[str, str], ...] = ()) -> int:
        """Queue a PUBLISH (raises a WorkbenchError when it cannot)."""
        ...

    def subscribe(self, topic_filter: str, qos: int = 0, *, no_local: bool = False,
                  retain_as_published: bool = False, retain_handling: int = 0) -> int:
        """Subscribe one filter (raises a WorkbenchError when it cannot)."""
        ...

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving a filter."""
        ...


@dataclass(frozen=True)
class PanelContext:
    """The console's side of a panel: the connection's settings (read only) and where a problem is shown."""

    settings: SessionSettings
    show_problem: Callable[[WorkbenchError], object]
