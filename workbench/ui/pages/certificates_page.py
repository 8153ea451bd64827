"""The Certificates page, first part: the CA store as a tree (root → intermediates → issued certificates) with
status, serial and fingerprint, search by CN or serial, and every v3 field of the selected certificate.

The wizard, fleet dialog and chain tools come next; the CLI (`workbench ca …`) does those meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench import paths
from workbench.core.pki.store import CAStore, certificate_status
from workbench.core.pki.textdump import text_dump
from workbench.errors import WorkbenchError

STATUS_COLOURS = {"valid": "#2e7d32", "expiring soon": "#ef6c00", "expired": "#c62828", "revoked": "#c62828"}


class CertificatesPage(QWidget):
    """The CA store tree with a details pane."""

    def __init__(self, workspace: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace or paths.default_workspace()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>Certificates</h2>Your CAs and everything they issued. Create CAs and "
                                "devices with <code>workbench ca</code> or the Onboarding page; the wizard comes "
                                "to this page next."))
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("search by CN or serial (hex)")
        self.search.textChanged.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        bar.addWidget(self.search, 1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        split = QSplitter()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Status", "Serial", "SHA-1 fingerprint"])
        self.tree.setColumnWidth(0, 320)
        self.tree.currentItemChanged.connect(self._on_selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a certificate to see every field, as openssl x509 -text shows it.")
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setSizes([640, 560])
        layout.addWidget(split, 1)
        self.message = QLabel()
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        """Read the store again (cheap: a few SQLite queries) and rebuild the tree."""
        self.tree.clear()
        needle = self.search.text().strip()
        try:
            with CAStore(self.workspace) as store:
                cas = store.cas()
                issued = store.search(needle) if needle else store.certificates()
        except WorkbenchError as exc:
            self.message.setText(f"{exc.summary}")
            return
        items: dict[str, QTreeWidgetItem] = {}
        for record in cas:  # parents come before children: roots first, then intermediates by creation
            cert = record.certificate
            item = self._item(record.name, certificate_status(cert), cert)
            parent = items.get(record.parent or "")
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            items[record.name] = item
        ca_fingerprints = {r.certificate.fingerprint(hashes.SHA1()).hex() for r in cas}
        issued = [r for r in issued if r.sha1.lower() not in ca_fingerprints]  # intermediates show as CAs
        for record in issued:
            parent = items.get(record.ca)
            item = self._item(record.cn or record.certificate.subject.rfc4514_string(), record.status(),
                              record.certificate)
            if parent is not None:
                parent.addChild(item)
        self.tree.expandAll()
        count = len(issued)
        self.message.setText(f"{len(cas)} CA(s), {count} issued certificate(s)"
                             + (f" matching '{needle}'" if needle else "") + f" in {self.workspace}")

    def _item(self, name: str, status: str, cert: x509.Certificate) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, status, format(cert.serial_number, "X"),
                                cert.fingerprint(hashes.SHA1()).hex()])
        item.setForeground(1, QBrush(QColor(STATUS_COLOURS.get(status, "#37474f"))))
        item.setData(0, Qt.ItemDataRole.UserRole, cert)
        return item

    def _on_selected(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        cert = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        if isinstance(cert, x509.Certificate):
            self.details.setPlainText(text_dump(cert))
