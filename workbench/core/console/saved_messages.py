"""Messages a user keeps per connection profile (topic, QoS, retain, payload), to publish again with one click.

One small JSON file per profile in the config folder, written atomically; a damaged file is reported, not lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.core.files import write_atomic
from workbench.errors import InvalidInputError

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class SavedMessage:
    """One message to publish again; `name` is what the menu shows."""

    name: str
    topic: str
    payload: str = ""
    qos: int = 0
    retain: bool = False


class SavedMessages:
    """The saved messages of one profile (or of quick connections)."""

    def __init__(self, folder: Path, profile_id: str) -> None:
        self.path = folder / f"{_SAFE.sub('_', profile_id) or 'quick'}.json"

    def load(self) -> list[SavedMessage]:
        """Every saved message, in the order they were saved.

        Raises:
            InvalidInputError: the file exists but is not ours or is damaged (it is left untouched).
        """
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [SavedMessage(**item) for item in data["messages"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"The saved messages in {self.path} cannot be read",
                                    (str(exc), "Fix or remove the file; nothing was changed.")) from exc

    def save(self, message: SavedMessage) -> list[SavedMessage]:
        """Add or replace (by name) one message; returns the new list."""
        if not message.name.strip() or not message.topic.strip():
            raise InvalidInputError("A saved message needs a name and a topic", ())
        messages = [m for m in self.load() if m.name != message.name] + [message]
        self._write(messages)
        return messages

    def delete(self, name: str) -> list[SavedMessage]:
        """Forget one message by name."""
        messages = [m for m in self.load() if m.name != name]
        self._write(messages)
        return messages

    def _write(self, messages: list[SavedMessage]) -> None:
        document = {"schema_version": 1, "messages": [asdict(m) for m in messages]}
        write_atomic(self.path, json.dumps(document, indent=2).encode("utf-8"))
