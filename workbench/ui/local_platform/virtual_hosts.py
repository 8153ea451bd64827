"""The SNI virtual hosts of the running local platform: which certificate each name the device sends is served.

Read from `GET /local/virtualHosts`: the default entry first (what names that match nothing get), then the server
key store's entries (`embedded-broker --server-keystore`), then the tenant domains (`<tenant>.localhost`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget

from workbench.ui.errors import spawn
from workbench.ui.local_platform.common import ProblemLabel, make_table
from workbench.ui.local_platform.link import PlatformLink

VHOST_COLUMNS = ("SNI names", "Alias", "From", "Certificate served (subject · issuer)", "Expires", "SHA-256")


def names_text(host: dict[str, Any]) -> str:
    """The names a virtual host answers; the default also gets every name that matches no other."""
    names = ", ".join(host.get("names") or [])
    if host.get("default"):
        return f"{names} (and any other name)" if names else "any other name (the default)"
    return names or "–"


def certificate_text(host: dict[str, Any]) -> str:
    """`CN=t200.localhost · CN=Local Platform CA`."""
    return f"{host.get('subject', '')} · {host.get('issuer', '')}"


class VirtualHostsPanel(QWidget):
    """A read-only table of the platform's virtual hosts, refreshed when a platform starts or a tenant is created."""

    def __init__(self) -> None:
        super().__init__()
        self.link: PlatformLink | None = None
        self.hosts: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        heading = QLabel("<b>Virtual hosts (SNI)</b>: the certificate each name a client sends in its TLS hello "
                         "gets, on MQTT/TLS and HTTPS alike. Check one with <tt>openssl s_client -servername "
                         "NAME</tt>.")
        heading.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh())
        bar.addWidget(heading, 1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.problem = ProblemLabel()
        layout.addWidget(self.problem)
        self.table = make_table(VHOST_COLUMNS, stretch=3)
        layout.addWidget(self.table, 1)

    def set_link(self, link: PlatformLink | None) -> None:
        """A (re)started platform, or None when it stopped."""
        self.link = link
        if link is None:
            self.show_hosts({"virtualHosts": []})
            return
        self.refresh()

    def refresh(self) -> asyncio.Task[None] | None:
        """Read the list from the platform (as its owner, t100/admin)."""
        if self.link is None:
            return None
        return spawn(self, self.link.get("/local/virtualHosts", "list the virtual hosts"), self.show_hosts,
                     self.problem.show_error)

    def show_hosts(self, data: Any) -> None:
        """Fill the table; every cell carries its full text as tooltip (long subjects elide)."""
        self.problem.clear_error()
        hosts = (data or {}).get("virtualHosts", []) if isinstance(data, dict) else []
        self.hosts = hosts
        self.table.setRowCount(len(hosts))
        for row, host in enumerate(hosts):
            values = (names_text(host), str(host.get("alias", "")), str(host.get("source", "")),
                      certificate_text(host), str(host.get("notAfter", ""))[:10], _short(str(host.get("sha256", ""))))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(str(host.get("sha256", "")) if column == 5 else value)
                self.table.setItem(row, column, item)


def _short(fingerprint: str) -> str:
    """The first 16 hex digits (the tooltip has all 64), so the column stays narrow."""
    return f"{fingerprint[:16]}…" if len(fingerprint) > 16 else fingerprint
