"""The device token panel of a certificate connection: `s/uat` → `71,<jwt>` on `s/dat`, decoded and counted down.

It shows what the token says (without trusting it), when to refresh it (issued-at + lifetime/2, the platform's
rule), copies it as a Bearer header, and tries it against the platform's REST API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from workbench.core.platform_client import requests as api
from workbench.core.platform_client.smartrest import parse_token_line
from workbench.core.platform_client.tokens import DeviceToken, decode_token
from workbench.services.mqtt_session import SessionState
from workbench.services.platform_http import PlatformHttp
from workbench.ui.errors import run_action, spawn
from workbench.ui.widgets.fit import ElidedLabel

from .panel_api import ConsoleSession, PanelContext


class TokenPanel(QGroupBox):
    """Request, inspect, refresh, copy and try the device's JWT; the console feeds it `s/dat` lines (on_token_line).

    `subscribe_to` subscribes a filter where the user sees it (the console's subscribe panel).
    """

    def __init__(self, session: ConsoleSession, context: PanelContext, subscribe_to: Callable[[str], object],
                 rest_url: str = "") -> None:
        super().__init__()  # untitled: the tab above it already says "Device token"
        self._session = session
        self._context = context
        self._subscribe_to = subscribe_to
        self.token: DeviceToken | None = None
        layout = QHBoxLayout(self)  # controls on the left, the decoded token takes the rest of the height
        layout.setContentsMargins(6, 6, 6, 6)
        controls = QVBoxLayout()
        row = QHBoxLayout()
        self.request_button = QPushButton("Request token")
        self.request_button.setToolTip("Subscribe to s/dat and publish an empty message to s/uat")
        self.request_button.clicked.connect(self.request)
        self.copy_button = QPushButton("Copy as Bearer header")
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.request_button)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        controls.addLayout(row)
        row = QHBoxLayout()
        self.refresh_box = QCheckBox("Refresh at half-life")
        self.refresh_box.setToolTip("Ask again at issued-at + lifetime/2: before that the platform returns the "
                                    "same token")
        self.countdown = ElidedLabel("no token yet")
        row.addWidget(self.refresh_box)
        row.addWidget(self.countdown, 1)
        controls.addLayout(row)
        self.rest_url = QLineEdit(rest_url)
        self.rest_url.setPlaceholderText("REST URL, e.g. https://localhost:8443 or https://tenant.cumulocity.com")
        self.rest_url.setToolTip("The platform's REST URL for the try-out call")
        self.try_button = QPushButton("Try it: GET /user/currentUser")
        self.try_button.clicked.connect(self.try_it)
        self.try_result = QLabel()
        self.try_result.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.rest_url, 1)
        row.addWidget(self.try_button)
        controls.addLayout(row)
        controls.addWidget(self.try_result)
        controls.addStretch(1)
        layout.addLayout(controls, 3)
        self.claims = QPlainTextEdit()
        self.claims.setReadOnly(True)
        self.claims.setMinimumHeight(40)
        self.claims.setPlaceholderText("The decoded header and claims appear here (shown, not trusted).")
        layout.addWidget(self.claims, 2)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._update_countdown)
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.timeout.connect(self.request)
        self._set_has_token(False)

    def _set_has_token(self, present: bool) -> None:
        self.copy_button.setEnabled(present)
        self.try_button.setEnabled(present)

    def request(self) -> None:
        """`s/dat` subscription (once) and an empty `s/uat` publish."""
        session = self._session
        if session.state is not SessionState.CONNECTED:
            self.countdown.setText("connect first")
            return
        self._subscribe_to("s/dat")
        session.publish("s/uat", b"", 0)
        self.countdown.setText("requested…")

    def on_token_line(self, line: str) -> None:
        """A message on `s/dat`: a `71,<jwt>` line is decoded and shown."""
        raw = parse_token_line(line)
        if raw is None:
            return
        token = run_action(self, lambda: decode_token(raw),
                           lambda exc: self.claims.setPlainText(f"{exc.summary}\n" + "\n".join(exc.causes)))
        if token is None:
            return
        same = self.token is not None and self.token.raw == token.raw
        self.token = token
        self.claims.setPlainText(json.dumps({"header": token.header, "claims": token.claims}, indent=2))
        self._set_has_token(True)
        self._tick.start(1000)
        self._update_countdown()
        if same:
            self.countdown.setText(self.countdown.text() + " (the same token: before half-life)")
        if self.refresh_box.isChecked() and token.refresh_at is not None:
            wait = (token.refresh_at - dt.datetime.now(dt.UTC)).total_seconds()
            self._refresh.start(max(int(wait * 1000) + 1000, 1000))

    def _update_countdown(self) -> None:
        if self.token is None:
            return
        left = self.token.seconds_left()
        refresh = self.token.refresh_at
        if left is None:
            self.countdown.setText("no expiry in the token")
        elif left <= 0:
            self.countdown.setText("expired: request a new token")
            self._tick.stop()
        else:
            minutes, seconds = divmod(int(left), 60)
            at = refresh.astimezone().strftime("%H:%M:%S") if refresh is not None else "?"
            self.countdown.setText(f"expires in {minutes}:{seconds:02d} · refresh after {at}")

    def copy(self) -> None:
        """The token as `Authorization: Bearer …`, for curl or Postman."""
        if self.token is not None:
            QGuiApplication.clipboard().setText(self.token.bearer_header)

    def try_it(self) -> asyncio.Task[None] | None:
        """`GET /user/currentUser` with the token; the answer or the error in words."""
        if self.token is None or not self.rest_url.text().strip():
            self.try_result.setText("Enter the platform's REST URL first.")
            return None
        self.try_result.setText("calling…")
        url = self.rest_url.text().strip()
        return spawn(self, self._call(url, self.token.raw, self._context.settings.tls),
                     lambda me: self.try_result.setText(
                         f"✓ {url}/user/currentUser answered: {me.get('userName') or me.get('id')}"),
                     lambda exc: self.try_result.setText(f"✗ {exc.summary}: " + "; ".join(exc.causes)))

    @staticmethod
    async def _call(url: str, bearer: str, trust: ssl.SSLContext | None) -> dict:
        async with PlatformHttp(url, trust=trust) as http:
            return await http.json(api.current_user(), bearer=bearer)
