"""The platform's state and how to reach it: start, stop, restart and reset buttons, ports, REST URL, data folder,
the server CA (with "Add to a truststore…") and the t100 admin login."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.widgets.fit import ElidedLabel


class StatusPanel(QGroupBox):
    """Widgets only: the page connects the buttons, because stopping also ends its event stream and polling."""

    def __init__(self) -> None:
        super().__init__("Status")
        self.info: LocalPlatformInfo | None = None
        grid = QGridLayout(self)
        bar = QHBoxLayout()
        self.state = QLabel("not started")
        self.state.setStyleSheet("font-weight: bold;")
        self.state.setWordWrap(True)  # a long "not running: …" reason wraps instead of widening the page
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.restart_button = QPushButton("Restart")
        self.reset_button = QPushButton("Reset…")
        self.start_button.setToolTip("Start the local platform (or reuse one already running for this data folder)")
        self.stop_button.setToolTip("Stop the platform this app started; one started elsewhere keeps running")
        self.reset_button.setToolTip("Delete every tenant, certificate, device and token of the local platform")
        bar.addWidget(self.state, 1)
        for button in (self.start_button, self.stop_button, self.restart_button, self.reset_button):
            bar.addWidget(button)
        grid.addLayout(bar, 0, 0, 1, 2)
        left, right = QFormLayout(), QFormLayout()
        # long paths and port lists elide in the middle (the full text is the tooltip and what Copy gives)
        self.ports = ElidedLabel("–")
        self.rest_url = ElidedLabel("–")
        self.folder = ElidedLabel("–", mode=Qt.TextElideMode.ElideMiddle)
        self.server_ca = ElidedLabel("–", mode=Qt.TextElideMode.ElideMiddle)
        for label in (self.ports, self.rest_url, self.folder, self.server_ca):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.truststore_button = QPushButton("Add to a truststore…")
        self.truststore_button.setToolTip("Import the server CA into a PKCS#12 or JKS truststore (new or existing)")
        self.truststore_button.setEnabled(False)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.server_ca, 1)
        ca_row.addWidget(self.truststore_button)
        self.admin = QLineEdit()
        self.admin.setReadOnly(True)
        self.admin.setEchoMode(QLineEdit.EchoMode.Password)
        copy = QPushButton("Copy password")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.info.admin_password if self.info else ""))
        admin_row = QHBoxLayout()
        admin_row.addWidget(QLabel("t100/admin"))
        admin_row.addWidget(self.admin, 1)
        admin_row.addWidget(copy)
        left.addRow("Ports", self.ports)
        left.addRow("REST", self.rest_url)
        left.addRow("Data folder", self.folder)
        right.addRow("Server CA", _wrap(ca_row))
        right.addRow("Admin", _wrap(admin_row))
        grid.addLayout(left, 1, 0)
        grid.addLayout(right, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.set_running(False)

    def show_info(self, info: LocalPlatformInfo) -> None:
        """The platform runs: ports, URL, folder, CA and the admin password."""
        self.info = info
        self.ports.setText("  ".join(f"{k} {v}" for k, v in info.ports.items()))
        self.rest_url.setText(info.rest_url)
        self.folder.setText(str(info.data_dir) if info.data_dir else "in memory (ephemeral)")
        self.server_ca.setText(str(info.server_ca))
        self.server_ca.setToolTip("Add it to the truststores of devices and clients that talk to this platform")
        self.admin.setText(info.admin_password)
        self.set_running(True)

    def set_running(self, running: bool) -> None:
        """Enable the buttons that make sense now."""
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.restart_button.setEnabled(running)
        self.truststore_button.setEnabled(running and self.info is not None)


def _wrap(layout: QHBoxLayout) -> QWidget:
    holder = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    holder.setLayout(layout)
    return holder
