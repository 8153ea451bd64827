"""The template collections one console knows (X-ID → collection), shared by the editor, the publish helper and the
detail pane, so a collection edited or pulled once is offered and decoded everywhere in that console."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from embedded_broker import TemplateCollection


class TemplateLibrary(QObject):
    """Known collections by X-ID.

    Signals:
        changed: a collection was added, replaced or removed.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._collections: dict[str, TemplateCollection] = {}

    def put(self, collection: TemplateCollection) -> None:
        """Add or replace a collection (by its X-ID)."""
        if self._collections.get(collection.xid) != collection:
            self._collections[collection.xid] = collection
            self.changed.emit()

    def remove(self, xid: str) -> None:
        """Forget a collection."""
        if self._collections.pop(xid, None) is not None:
            self.changed.emit()

    def get(self, xid: str) -> TemplateCollection | None:
        """The collection of an X-ID, if known."""
        return self._collections.get(xid)

    def collections(self) -> dict[str, TemplateCollection]:
        """A copy of every known collection, by X-ID."""
        return dict(self._collections)
