"""Two console tools: the broker's `$SYS` status (mosquitto's names) and a TLS handshake inspector.

The inspector does its own short handshake with the connection's settings and shows what `openssl s_client`
and a JSSE debug log would: version, cipher, the server chain with validity, the client certificate sent, SNI,
and in plain words why a handshake fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from cryptography import x509
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.core.tls import HandshakeReport
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import SessionSettings, SessionState
from workbench.services.tls_fetch import fetch_server_chain
from workbench.ui.dialogs.problem_dialog import problem_html
from workbench.ui.errors import spawn

from .panel_api import ConsoleSession

SYS_FILTER = "$SYS/#"


class SysPanel(QWidget):
    """`$SYS/broker/...` topics as a live table (clients, messages, load, uptime, version), fed by on_sys_message."""

    def __init__(self, session: ConsoleSession) -> None:
        super().__init__()
        self._session = session
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.watch_button = QPushButton("Watch $SYS")
        self.watch_button.setToolTip("Subscribe to $SYS/# (brokers publish their status there every few seconds)")
        self.watch_button.clicked.connect(self.watch)
        self.note = QLabel("Not watching. The local platform, its sandbox and mosquitto publish $SYS; cloud "
                           "platforms usually do not.")
        self.note.setWordWrap(True)
        row.addWidget(self.watch_button)
        row.addWidget(self.note, 1)
        layout.addLayout(row)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Topic", "Value"])
        self.table.setColumnWidth(0, 360)
        self.table.setMinimumHeight(40)
        layout.addWidget(self.table, 1)
        self.rows: dict[str, QTreeWidgetItem] = {}

    def watch(self) -> None:
        """Subscribe to `$SYS/#`."""
        if self._session.state is not SessionState.CONNECTED:
            self.note.setText("Connect first.")
            return
        self._session.subscribe(SYS_FILTER, 0)
        self.note.setText("Watching $SYS/# …")

    def on_sys_message(self, topic: str, value: str) -> None:
        """One `$SYS` topic's new value."""
        item = self.rows.get(topic)
        if item is None:
            item = QTreeWidgetItem([topic.removeprefix("$SYS/"), value])
            self.rows[topic] = item
            self.table.addTopLevelItem(item)
            self.table.sortItems(0, self.table.header().sortIndicatorOrder())
        item.setText(1, value)
        self.note.setText(f"Watching $SYS/#: {len(self.rows)} topics")

    def value(self, topic: str) -> str | None:
        """The last value of a `$SYS` topic (tests and tooltips)."""
        item = self.rows.get(topic)
        return item.text(1) if item is not None else None


class HandshakePanel(QWidget):
    """One inspection handshake with the connection's TLS settings, reported in words."""

    def __init__(self, settings: SessionSettings) -> None:
        super().__init__()
        self._settings = settings
        self.report: HandshakeReport | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.inspect_button = QPushButton("Inspect TLS handshake")
        self.inspect_button.clicked.connect(self.inspect)
        self.summary = QLabel("Shows the protocol, cipher, the server's chain and the client certificate sent.")
        self.summary.setWordWrap(True)
        row.addWidget(self.inspect_button)
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["What", "Details"])
        self.tree.setColumnWidth(0, 220)
        self.tree.setMinimumHeight(40)
        layout.addWidget(self.tree, 1)

    def inspect(self) -> asyncio.Task[None]:
        """Run the handshake off the GUI thread."""
        self.summary.setText("handshaking…")
        s = self._settings
        server_name = getattr(s.tls, "server_name_override", None)
        work = asyncio.to_thread(fetch_server_chain, s.host, s.port, server_name=server_name, identity=s.identity,
                                 trust=list(s.trust) or None, timeout=10)
        return spawn(self, work, self._show, self._failed)

    def _failed(self, exc: WorkbenchError) -> None:
        self.report = None
        self.tree.clear()
        self.summary.setText(problem_html(exc))

    def _show(self, r: HandshakeReport) -> None:
        self.report = r
        self.tree.clear()
        verified = "verified against the profile's trust" if self._settings.trust else "not verified here"
        self.summary.setText(f"✓ {r.version}, {r.cipher}; server chain {verified}")
        top = [("Protocol", r.version), ("Cipher", r.cipher), ("SNI sent", sni_text(r)),
               ("Certificate the server chose", chosen_text(r)),
               ("Client certificate requested", "yes" if r.client_cert_requested else "no"),
               ("Client certificate sent", self._client())]
        for what, detail in top:
            self.tree.addTopLevelItem(QTreeWidgetItem([what, detail]))
        chain = QTreeWidgetItem(["Server chain", f"{len(r.chain)} certificate(s)"])
        now = dt.datetime.now(dt.UTC)
        for index, cert in enumerate(r.chain):
            state = "valid" if cert.not_valid_before_utc <= now <= cert.not_valid_after_utc else "NOT valid now"
            chain.addChild(QTreeWidgetItem([f"#{index} {cert.subject.rfc4514_string()}",
                                            f"issued by {cert.issuer.rfc4514_string()}; {state} until "
                                            f"{cert.not_valid_after_utc:%Y-%m-%d}"]))
        self.tree.addTopLevelItem(chain)
        chain.setExpanded(True)
        for warning in r.warnings:
            self.tree.addTopLevelItem(QTreeWidgetItem(["⚠", warning]))

    def _client(self) -> str:
        identity = self._settings.identity
        if identity is None:
            return "none"
        return f"{identity.chain[0].subject.rfc4514_string()} (+{len(identity.chain) - 1} chain certificate(s))"


def sni_text(report: HandshakeReport) -> str:
    """The SNI name sent, saying whether it is the profile's override or the host itself."""
    if report.server_name and report.server_name != report.host:
        return f"{report.server_name} (the profile's SNI override; connected to {report.host})"
    return f"{report.server_name or report.host} (host)"


def chosen_text(report: HandshakeReport) -> str:
    """The server's leaf with its SAN DNS names, and whether it names the SNI sent (a virtual-host server picks
    its certificate by that name; one that does not name it is the server's default)."""
    if not report.chain:
        return "none sent"
    leaf = report.chain[0]
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    sent = (report.server_name or report.host).lower()
    fits = any(n.lower() == sent or (n.startswith("*.") and "." in sent and sent.split(".", 1)[1] == n[2:].lower())
               for n in names)
    verdict = f"names {sent}" if fits else f"does not name {sent} (the server's default certificate?)"
    return f"{leaf.subject.rfc4514_string()}; SAN {', '.join(names) or 'none'}; {verdict}"
