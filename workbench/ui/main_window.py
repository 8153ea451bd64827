"""The main window: navigation across the product's areas, one page each."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

# Until each area's page lands, it says what it will hold; no dead buttons.
AREAS: tuple[tuple[str, str], ...] = (
    ("Connections", "Connection profiles and the live MQTT console (MQTT 3.1.1 and 5, mutual TLS)."),
    ("Certificates", "CA store and certificate wizard: root and intermediate CAs, device and server "
                     "certificates, CSR signing, chains, revocation and CRLs. Available now on the command "
                     "line: `workbench ca --help`."),
    ("Keystores", "Keystore editor for PKCS#12 and JKS keystores and truststores."),
    ("Proof of Possession", "Sign a platform's verification code with your CA key."),
    ("Local Platform", "The bundled local platform: broker, REST API, tenants, devices and the live event log."),
    ("Onboarding", "The guide's whole journey as a checklist, against the local platform or a real tenant."),
)


class MainWindow(QMainWindow):
    """Top-level window with a navigation list on the left and the selected area's page on the right."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Device Onboarding Workbench")
        self.resize(1100, 720)
        self.navigation = QListWidget()
        self.navigation.setFixedWidth(190)
        self.pages = QStackedWidget()
        for title, description in AREAS:
            self.navigation.addItem(title)
            self.pages.addWidget(_placeholder_page(title, description))
        self.navigation.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.navigation.setCurrentRow(0)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.navigation)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")


def _placeholder_page(title: str, description: str) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    heading = QLabel(f"<h2>{title}</h2>")
    body = QLabel(description)
    body.setWordWrap(True)
    layout.addWidget(heading)
    layout.addWidget(body)
    layout.addStretch(1)
    return page
