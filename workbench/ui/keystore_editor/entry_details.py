"""An entry's details, as KeyStore Explorer shows them on a double click: the chain (leaf first) and, for the
certificate chosen in it, every field, the fingerprints, the text dump, the PEM and the lint. It reuses the
Certificates page's details pane, so a certificate reads the same wherever it is opened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.keystore.model import Entry, PrivateKeyEntry, entry_type
from workbench.core.pki.chain import cert_label
from workbench.core.pki.keys import describe_key
from workbench.ui.certificates.details_view import CertificateDetails


class EntryDetailsDialog(QDialog):
    """The chain of one entry on the left, the chosen certificate's details on the right."""

    def __init__(self, entry: Entry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Entry '{entry.alias}'")
        self.chain = entry.chain if isinstance(entry, PrivateKeyEntry) else (entry.cert,)
        layout = QVBoxLayout(self)
        key = describe_key(self.chain[0].public_key())
        if isinstance(entry, PrivateKeyEntry) and entry.locked:
            key += " (locked: the key has its own password)"
        created = f" · created {entry.created:%Y-%m-%d %H:%M}" if entry.created else ""
        self.summary = QLabel(f"<b>{entry.alias}</b> · {entry_type(entry)} · {key} · chain of "
                              f"{len(self.chain)}{created}")
        layout.addWidget(self.summary)
        split = QSplitter()
        self.chain_view = QTreeWidget()
        self.chain_view.setHeaderLabels(["Chain (leaf first)"])
        parent_item: QTreeWidget | QTreeWidgetItem = self.chain_view
        for index, cert in enumerate(self.chain):
            item = QTreeWidgetItem(parent_item, [cert_label(cert)])
            item.setData(0, Qt.ItemDataRole.UserRole, index)
            parent_item = item  # each certificate under the one it issued, as KeyStore Explorer nests them
        self.chain_view.expandAll()
        self.details = CertificateDetails()
        split.addWidget(self.chain_view)
        split.addWidget(self.details)
        split.setSizes([260, 640])
        layout.addWidget(split, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.chain_view.currentItemChanged.connect(self._on_selected)
        first = self.chain_view.topLevelItem(0)
        if first is not None:
            self.chain_view.setCurrentItem(first)
        self.resize(1000, 640)

    def _on_selected(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        index = int(current.data(0, Qt.ItemDataRole.UserRole))
        self.details.show_certificate(self.chain[index], self.chain[index:])
