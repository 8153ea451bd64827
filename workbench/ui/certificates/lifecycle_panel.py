"""The Certificates page's Lifecycle tab: every device certificate the workbench knows with its expiry, the
"expires within N days" filter, and "Renew selected" (re-issue from the CA store, or re-enrollment over EST with the
running local platform), so renewal can be rehearsed before it breaks a fleet. The work is in
`services/cert_lifecycle.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.tls import trust_from_pem
from workbench.errors import PasswordError, WorkbenchError
from workbench.services import cert_lifecycle as lifecycle
from workbench.services.ca_passwords import CAPasswords, stored_or_asked
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui import theme
from workbench.ui.errors import run_action, spawn
from workbench.ui.widgets.problem_label import MessageLine

COLUMNS = ["Device", "Expires (UTC)", "Left", "Source", "Renewal", "Where"]
ROLE_ITEM = Qt.ItemDataRole.UserRole
PasswordPrompt = Callable[[str], str | None]


def left_text(days: float) -> str:
    """'expired', '7.5 h', '12 days': how long a certificate has."""
    if days < 0:
        return "expired"
    if days < 2:
        return f"{days * 24:.1f} h" if days * 24 >= 1 else f"{days * 1440:.0f} min"
    return f"{days:.0f} days"


class LifecyclePanel(QWidget):
    """The lifecycle table with its filter and the renewal action."""

    renewed = Signal()  # the store or device folders changed: the store tree refreshes

    def __init__(self, workspace: Path, ask_password: PasswordPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.ask_password = ask_password
        self.platform: lifecycle.EstTarget | None = None
        self.known: list[lifecycle.KnownCertificate] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.only_expiring = QCheckBox("Expires within")
        self.only_expiring.setChecked(True)
        self.days = QDoubleSpinBox()
        self.days.setRange(0, 3650)
        self.days.setDecimals(2)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.only_expiring.toggled.connect(self.show_known)
        self.days.valueChanged.connect(self.show_known)
        add = QPushButton("Add folder…")
        add.setToolTip("A device folder, or a fleet folder of device folders, to watch from now on")
        add.clicked.connect(self.add_folder)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.renew_button = QPushButton("Renew selected")
        self.renew_button.setToolTip("Re-issue from the CA store, or re-enroll over EST with the local platform, "
                                     "then rewrite the device's keystores")
        self.renew_button.clicked.connect(self.renew_selected)
        bar.addWidget(self.only_expiring)
        bar.addWidget(self.days)
        bar.addStretch(1)
        for button in (add, refresh, self.renew_button):
            bar.addWidget(button)
        layout.addLayout(bar)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long folder paths keep both ends
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 180)
        self.tree.setColumnWidth(1, 130)
        self.tree.setColumnWidth(2, 70)
        self.tree.setColumnWidth(3, 95)
        self.tree.setColumnWidth(4, 80)
        self.tree.itemSelectionChanged.connect(self._update_enabled)
        layout.addWidget(self.tree, 1)
        hint = QLabel("EST devices re-enroll with the local platform (start it on the Local Platform page).")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.message = MessageLine("lifecycle_message")
        layout.addWidget(self.message)
        self._update_enabled()

    # --- listing ---------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Look again at the store and the folders."""
        found = run_action(self, lambda: lifecycle.find_certificates(self.workspace), self.message.show_error)
        if found is not None:
            self.known = found
            self.show_known()

    def shown(self) -> list[lifecycle.KnownCertificate]:
        """What the filter lets through."""
        if not self.only_expiring.isChecked():
            return list(self.known)
        return lifecycle.expiring(self.known, self.days.value())

    def show_known(self) -> None:
        """Fill the table from the last listing and the filter."""
        self.days.setEnabled(self.only_expiring.isChecked())
        now = dt.datetime.now(dt.UTC)
        self.tree.clear()
        shown = self.shown()
        for known in shown:
            left = known.days_left(now)
            where = str(known.folder) if known.folder else f"CA store: {known.ca}"
            renewal = known.method or "—"
            item = QTreeWidgetItem([known.device_id, f"{known.not_after:%Y-%m-%d %H:%M}", left_text(left),
                                    known.source, renewal, where])
            item.setData(0, ROLE_ITEM, known)
            kind: theme.Status = "error" if left < 0 or known.revoked else "warn" if left < 30 else "ok"
            item.setForeground(2, QBrush(theme.status_colour(kind)))
            item.setToolTip(0, f"{known.device_id}\nserial {known.serial_hex}\nissuer {known.issuer}")
            item.setToolTip(4, renewal if known.method else known.why_not)
            item.setToolTip(5, where)
            self.tree.addTopLevelItem(item)
        filtered = f" expire within {self.days.value():g} days" if self.only_expiring.isChecked() else ""
        self.message.setText(f"{len(shown)} of {len(self.known)} device certificate(s){filtered}")
        self._update_enabled()

    def selected(self) -> list[lifecycle.KnownCertificate]:
        """The selected certificates."""
        return [item.data(0, ROLE_ITEM) for item in self.tree.selectedItems()]

    def _update_enabled(self) -> None:
        self.renew_button.setEnabled(any(k.method for k in self.selected()))

    def add_folder(self, folder: str | None = None) -> None:
        """Watch a device or fleet folder from now on (remembered), and list again."""
        chosen = folder if folder is not None else QFileDialog.getExistingDirectory(self, "Device or fleet folder")
        if chosen and run_action(self, lambda: lifecycle.remember_folder(Path(chosen)),
                                 self.message.show_error) is not None:
            self.refresh()

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The running local platform: EST devices re-enroll with it."""
        self.platform = lifecycle.EstTarget(info.rest_url, tuple(trust_from_pem(info.server_ca.read_bytes())))

    # --- renewal ---------------------------------------------------------------------------------------------------
    def renew_selected(self) -> None:
        """Renew the selection: passwords are asked first (on this thread), then the work runs on the loop."""
        chosen = [k for k in self.selected() if k.method]
        if not chosen:
            return
        request = run_action(self, lambda: self._request(chosen), self.message.show_error)
        if request is None:
            return
        self.renew_button.setEnabled(False)
        self.message.setText(f"renewing {len(chosen)} certificate(s)…")

        def progress(done: int, total: int) -> None:
            self.message.setText(f"renewing… {done} of {total}")

        spawn(self, lifecycle.renew_many(chosen, request, progress), self._renewed, self._failed)

    def _request(self, chosen: list[lifecycle.KnownCertificate]) -> lifecycle.RenewRequest:
        passwords: dict[str, bytes | None] = {}
        for ca in sorted({k.ca for k in chosen if k.method == lifecycle.REISSUE and k.ca}):
            passwords[ca] = stored_or_asked(ca, lambda name: self.ask_password(f"Password of CA '{name}'"))
        keystore_password = None
        if any(lifecycle.needs_keystore_password(k) for k in chosen):
            typed = self.ask_password("Keystore password of the selected devices (no keystorePassword.txt beside "
                                      "them)")
            if typed is None:
                raise PasswordError("Renewal cancelled: the keystore password is needed", ())
            keystore_password = typed.encode()
        if self.platform is None and any(k.method == lifecycle.REENROLL for k in chosen):
            raise WorkbenchError("EST devices re-enroll with the platform, and the local platform is not running",
                                 ("Start it on the Local Platform page, then Renew again.",))
        return lifecycle.RenewRequest(self.workspace, CAPasswords(lambda name: passwords.get(name), remember=True),
                                      self.platform, keystore_password)

    def _renewed(self, results: list[lifecycle.Renewed | WorkbenchError]) -> None:
        done = [r for r in results if isinstance(r, lifecycle.Renewed)]
        failed = [r for r in results if isinstance(r, WorkbenchError)]
        self.refresh()
        self.renewed.emit()
        text = "; ".join(f"{r.before.device_id} {r.before.serial_hex} → {r.serial_hex}" for r in done[:3])
        more = f" and {len(done) - 3} more" if len(done) > 3 else ""
        if failed:
            self.message.show_error(WorkbenchError(f"{len(done)} renewed, {len(failed)} failed: {failed[0].summary}",
                                                   failed[0].causes))
        else:
            self.message.setText(f"<span style='color:{theme.current().ok}'>✓</span> renewed {text}{more}")

    def _failed(self, error: WorkbenchError) -> None:
        self.message.show_error(error)
        self._update_enabled()
