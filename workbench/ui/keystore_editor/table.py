"""The entry table of the keystore editor: alias, type, algorithm and size, expiry (coloured when near), chain."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from workbench.core.keystore.listing import describe_entry
from workbench.core.keystore.model import Keystore, PrivateKeyEntry
from workbench.core.pki.keys import describe_key
from workbench.ui import theme
from workbench.ui.widgets.tables import make_table

COLUMNS = ("Alias", "Entry type", "Algorithm", "Expires", "Chain", "Subject")
SOON = dt.timedelta(days=30)


def count_entries(count: int) -> str:
    """'1 entry', '3 entries': the count in words, right for one."""
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def entry_table() -> QTableWidget:
    """An empty read-only table with the editor's columns."""
    return make_table(COLUMNS)


def fill(table: QTableWidget, store: Keystore, now: dt.datetime | None = None) -> None:
    """Show the store's entries; the previously selected alias stays selected when it still exists."""
    moment = now or dt.datetime.now(dt.UTC)
    selected = selected_alias(table)
    table.setRowCount(0)
    for entry in store.entries:
        info = describe_entry(entry)
        cert = entry.certificate if isinstance(entry, PrivateKeyEntry) else entry.cert
        expires = cert.not_valid_after_utc
        algorithm = describe_key(cert.public_key())
        if isinstance(entry, PrivateKeyEntry) and entry.locked:
            algorithm += " (key locked: own key password)"
        row = table.rowCount()
        table.insertRow(row)
        cells = (entry.alias, info["type"], algorithm, f"{expires:%Y-%m-%d}", str(info["chain_length"]),
                 cert.subject.rfc4514_string())
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry.alias)
            table.setItem(row, column, item)
        colour: theme.Status | None = "error" if expires < moment else "warn" if expires - moment < SOON else None
        if colour is not None:
            expiry = table.item(row, 3)
            assert expiry is not None  # the loop above has just set it
            expiry.setForeground(QBrush(theme.status_colour(colour)))
            expiry.setToolTip("expired" if expires < moment else "expires within 30 days")
        if entry.alias == selected:
            table.selectRow(row)


def selected_alias(table: QTableWidget) -> str | None:
    """The alias of the selected row."""
    items = table.selectedItems()
    return items[0].data(Qt.ItemDataRole.UserRole) if items else None


def select(table: QTableWidget, alias: str) -> bool:
    """Select a row by alias (case-insensitive, as JKS stores aliases lower-cased)."""
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        assert item is not None  # fill() sets every cell of a row
        if item.text().lower() == alias.lower():
            table.selectRow(row)
            return True
    return False
