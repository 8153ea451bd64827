"""The Certificates page: the CA store as a tree (root → intermediates → issued certificates), the wizard and fleet
issuance, every field and the platform lint of the selection, chain tools, revocation, CRLs, the openssl folder
export, and drag and drop of any certificate or keystore file to inspect it."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QWidget,
)

from workbench import paths
from workbench.core.keystore.file_certificates import FileCertificates, file_certificates, needs_password
from workbench.core.pki.chain import build_chain, cert_label
from workbench.errors import WorkbenchError
from workbench.services import certificates
from workbench.services.certificates import certificate_status
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui import theme
from workbench.ui.certificates import store_actions
from workbench.ui.certificates.details_view import CertificateDetails
from workbench.ui.certificates.lifecycle_panel import LifecyclePanel
from workbench.ui.certificates.toolbar import CertificatesToolbar
from workbench.ui.errors import run_action
from workbench.ui.widgets.fit import scroll_layout
from workbench.ui.widgets.problem_label import MessageLine

STATUS_KINDS: dict[str, theme.Status] = {"valid": "ok", "expiring soon": "warn", "expired": "error", "revoked": "error"}
ROLE_CERT = Qt.ItemDataRole.UserRole
ROLE_WHAT = Qt.ItemDataRole.UserRole + 1  # ("ca", name) | ("issued", ca, serial) | ("file", path, chain)


class CertificatesPage(QWidget):
    """The CA store tree with a details pane, and the actions on the selection."""

    store_changed = Signal()

    def __init__(self, workspace: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace or paths.default_workspace()
        self.setAcceptDrops(True)
        self.platform_info: LocalPlatformInfo | None = None
        self.wizard: QWidget | None = None  # the open certificate wizard (the toolbar opens it)
        self.fleet_dialog: QWidget | None = None
        layout = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        self.toolbar = CertificatesToolbar(self, self)
        layout.addWidget(self.toolbar)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("search by CN or serial (hex)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        bar.addWidget(self.search, 1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        split = QSplitter()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Status", "Serial", "SHA-1 fingerprint"])
        self.tree.setColumnWidth(0, 300)
        self.tree.currentItemChanged.connect(self._on_selected)
        self.details = CertificateDetails()
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setSizes([600, 600])
        self.tabs = QTabWidget()  # the store tree, and the lifecycle of every device certificate (issue #17)
        self.tabs.addTab(split, "CA store")
        self.lifecycle = LifecyclePanel(self.workspace, lambda label: self.toolbar.ask_password(label))
        self.lifecycle.renewed.connect(self.refresh_keep_selection)
        self.tabs.addTab(self.lifecycle, "Lifecycle")
        self.tabs.currentChanged.connect(lambda index: self.lifecycle.refresh() if index == 1 else None)
        layout.addWidget(self.tabs, 1)
        self.message = MessageLine("certificates_message")  # problems in the shared ProblemLabel style
        layout.addWidget(self.message)
        self.opened = QTreeWidgetItem(["Opened files"])
        self.refresh()

    # --- the tree ------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the store again (cheap: a few SQLite queries) and rebuild the tree; opened files stay."""
        if self.opened.treeWidget() is not None:  # clear() would delete the opened files with the store's items
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(self.opened))
        self.tree.clear()
        needle = self.search.text().strip()
        listing = run_action(self, lambda: certificates.listing(self.workspace, needle), self.show_problem)
        if listing is None:
            return
        cas, issued = listing
        items: dict[str, QTreeWidgetItem] = {}
        for record in cas:  # parents come before children: roots first, then intermediates by creation
            item = self._item(record.name, certificate_status(record.certificate), record.certificate,
                              ("ca", record.name))
            parent = items.get(record.parent or "")
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            items[record.name] = item
        ca_fingerprints = {r.certificate.fingerprint(hashes.SHA1()).hex() for r in cas}
        issued = [r for r in issued if r.sha1.lower() not in ca_fingerprints]  # intermediates show as CAs
        for issued_record in issued:
            parent = items.get(issued_record.ca)
            name = issued_record.cn or issued_record.certificate.subject.rfc4514_string()
            if parent is not None:
                parent.addChild(self._item(name, issued_record.status(), issued_record.certificate,
                                           ("issued", issued_record.ca, issued_record.serial)))
        if self.opened.childCount():
            self.tree.addTopLevelItem(self.opened)
        self.tree.expandAll()
        self.message.setText(f"{len(cas)} CA(s), {len(issued)} issued certificate(s)"
                             + (f" matching '{needle}'" if needle else "") + f" in {self.workspace}")
        self.toolbar.update_enabled()

    def _item(self, name: str, status: str, cert: x509.Certificate, what: tuple) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, status, format(cert.serial_number, "X"), cert.fingerprint(hashes.SHA1()).hex()])
        item.setForeground(1, QBrush(theme.status_colour(STATUS_KINDS.get(status, "neutral"))))
        item.setData(0, ROLE_CERT, cert)
        item.setData(0, ROLE_WHAT, what)
        return item

    def selected(self) -> tuple[x509.Certificate | None, tuple]:
        """The selected certificate and what it is: ("ca", name), ("issued", ca, serial) or ("file", path, chain)."""
        item = self.tree.currentItem()
        if item is None or not isinstance(item.data(0, ROLE_CERT), x509.Certificate):
            return None, ()
        return item.data(0, ROLE_CERT), tuple(item.data(0, ROLE_WHAT) or ())

    def select_name(self, name: str) -> bool:
        """Select the first certificate shown under this name (links from other pages)."""
        found = self.tree.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
        if found:
            self.tree.setCurrentItem(found[0])
        return bool(found)

    def _on_selected(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        self.toolbar.update_enabled()
        cert, what = self.selected()
        if cert is None:
            self.details.clear_view()
            return
        def show() -> None:
            pool = store_actions.store_cas(self.workspace)
            chain = list(what[2]) if what and what[0] == "file" else []
            if not chain and what and what[0] in ("ca", "issued"):
                chain = list(build_chain([cert], pool).chain)
            self.details.show_certificate(cert, chain, [c for c in pool if c.issuer == c.subject])

        run_action(self, show, self.show_problem)

    # --- files ---------------------------------------------------------------------------------------------------
    def inspect_file(self, path: str | Path, password: str | None = None) -> bool:
        """Open any certificate or keystore file under "Opened files" and select its first certificate."""
        path = Path(path)

        def read(password: str | None) -> FileCertificates | None:  # None: the password prompt was cancelled
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise WorkbenchError(f"Cannot read '{path}'", (exc.strerror or str(exc),)) from exc
            if needs_password(data) and password is None:
                password = self.toolbar.ask_password(f"Store password of '{path.name}'")
                if password is None:
                    return None
            return file_certificates(data, password.encode() if password is not None else None,
                                     what=f"'{path.name}'")

        found = run_action(self, lambda: read(password), self.show_problem)
        if found is None:
            return False
        node = QTreeWidgetItem([path.name, found.kind, "", f"{len(found.certificates)} certificate(s)"])
        for cert in found.certificates:
            chain = build_chain(list(found.certificates), leaf=cert).chain
            node.addChild(self._item(cert_label(cert), certificate_status(cert), cert, ("file", str(path), chain)))
        self.opened.addChild(node)
        if self.opened.treeWidget() is None:
            self.tree.addTopLevelItem(self.opened)
        self.opened.setExpanded(True)
        node.setExpanded(True)
        first = node.child(0)
        assert first is not None  # file_certificates refuses a file without certificates
        self.tree.setCurrentItem(first)
        self.message.setText(f"Opened '{path}': {found.kind}, {len(found.certificates)} certificate(s)")
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept files: certificates and keystores are inspected."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Inspect each dropped file."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.inspect_file(url.toLocalFile())
        event.acceptProposedAction()

    # --- feedback ------------------------------------------------------------------------------------------------
    def show_problem(self, error: WorkbenchError) -> None:
        """A problem in words, under the tree (the page never shows a traceback)."""
        self.message.show_error(error)

    def show_outcome(self, outcome: store_actions.Outcome) -> None:
        """A finished action, with where it wrote."""
        self.refresh_keep_selection()
        self.message.setText(f"<span style='color:{theme.current().ok}'>✓</span> {outcome.message}")

    def show_created(self, result: object) -> None:
        """The wizard created something: refresh and select it (a new CA, or the certificate just issued)."""
        self.refresh()
        self.store_changed.emit()
        name = getattr(result, "name", None)
        record = getattr(result, "record", None)
        wanted = (("ca", name) if isinstance(name, str) else
                  ("issued", record.ca, record.serial) if record is not None else None)
        if wanted is None:
            return
        iterator = QTreeWidgetItemIterator(self.tree)
        while (item := iterator.value()) is not None:
            if tuple(item.data(0, ROLE_WHAT) or ()) == wanted:
                self.tree.setCurrentItem(item)
                self.tree.scrollToItem(item)
                return
            iterator += 1

    def refresh_keep_selection(self) -> None:
        """Refresh and select again what was selected."""
        item = self.tree.currentItem()
        name = item.text(0) if item is not None else ""
        self.refresh()
        self.store_changed.emit()
        if name:
            self.select_name(name)

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The running local platform, for the fleet dialog's CSV upload."""
        self.platform_info = info
        self.lifecycle.set_local_platform(info)
