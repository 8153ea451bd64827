"""The demo's last screen: the onboarded device's temperature plotted live as it sends every second, its token
counting down to the half-life renewal and (an EST device) its certificate's serial, renewed live at a fraction of
its validity while the plot keeps running, so a customer sees the whole journey end in data."""

from __future__ import annotations

import asyncio
import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.platform_client.tokens import DeviceToken
from workbench.errors import WorkbenchError
from workbench.services.simulated_device import CertificateRenewal, RenewalEvent, SimulatedDevice
from workbench.ui.errors import spawn
from workbench.ui.widgets.fit import ElidedLabel
from workbench.ui.widgets.live_plot import LivePlot

SERIES = "c8y_Temperature.T (°C)"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def countdown_text(token: DeviceToken, now: dt.datetime | None = None) -> str:
    """'Token: 9:58 left · renewed at half-life in 4:58' (or 'renewing now')."""
    moment = now or dt.datetime.now(dt.UTC)
    left = token.seconds_left(moment)
    if left is None:
        return "Token: no expiry claim"
    refresh = token.refresh_at
    renew = (refresh - moment).total_seconds() if refresh is not None else None
    when = "renewing now" if renew is not None and renew <= 0 else f"renewed at half-life in {_clock(renew or 0)}"
    return f"Token for {token.claims.get('sub', '?')}: {_clock(left)} left · {when}"


def _span(seconds: float) -> str:
    """m:ss under an hour (the rehearsal's 10-minute certificates), hours under two days, else days."""
    if seconds < 3600:
        return _clock(seconds)
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.0f} days"


def _short(serial: str) -> str:
    return serial if len(serial) <= 12 else f"{serial[:6]}…{serial[-4:]}"


def certificate_text(renewal: CertificateRenewal, now: dt.datetime | None = None) -> str:
    """'Certificate 3db4c7…07d4: 9:58 left · renewal at 75% in 5:12' (or 'renewing now')."""
    moment = now or dt.datetime.now(dt.UTC)
    cert = renewal.certificate
    left = (cert.not_valid_after_utc - moment).total_seconds()
    at = cert.not_valid_before_utc + (cert.not_valid_after_utc - cert.not_valid_before_utc) * renewal.fraction
    renew = (at - moment).total_seconds()
    when = "renewing now" if renew <= 0 else f"renewal at {renewal.fraction:.0%} in {_span(renew)}"
    return f"Certificate {_short(f'{cert.serial_number:x}')}: {_span(left)} left · {when}"


class DemoPanel(QWidget):
    """Plot, counters, token countdown and a Stop button for one simulated device."""

    stopped = Signal()
    connected_changed = Signal(bool)  # the simulated device holds an MQTT connection (the status bar counts it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = QLabel("<b>Live device</b>")
        self.title.setWordWrap(True)  # a long device id wraps instead of widening the page
        self.stop_button = QPushButton("Stop the simulated device")
        self.stop_button.clicked.connect(lambda: self.stop())
        top.addWidget(self.title, 1)
        top.addWidget(self.stop_button)
        layout.addLayout(top)
        second = QHBoxLayout()
        self.sent = ElidedLabel("")  # both elide on a narrow window (the full text is the tooltip)
        self.countdown = ElidedLabel("")
        self.countdown.setObjectName("countdown")
        self.countdown.setStyleSheet("#countdown { font-weight: bold; }")
        self.countdown.setProperty("status", "info")  # the theme's info colour, light or dark
        second.addWidget(self.sent, 1)
        second.addWidget(self.countdown)
        layout.addLayout(second)
        self.certificate = ElidedLabel("")  # the serial and the renewal countdown (EST devices); hidden otherwise
        self.certificate.setObjectName("certificate")
        self.certificate.setProperty("status", "ok")
        self.certificate.hide()
        layout.addWidget(self.certificate)
        self.renewal_note = ""  # the last renewal, shown after the countdown
        self.plot = LivePlot()
        self.plot.setMinimumHeight(160)
        self.plot.min_span = 2.0  # °C: the sensor's ±0.2 noise stays small, as on a real thermometer chart
        layout.addWidget(self.plot, 1)
        self.device: SimulatedDevice | None = None
        self.token: DeviceToken | None = None
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._tick)

    def start(self, device: SimulatedDevice, device_id: str) -> None:
        """Show this device's data from now on."""
        self.device = device
        self.token = device.token
        self.plot.clear()
        self.title.setText(f"<b>Live: {device_id}</b> sends <code>200,c8y_Temperature,T,…,C</code> on s/us every "
                           f"{device.interval:g} s")
        self.renewal_note = ""
        self.certificate.setVisible(device.renewal is not None)
        device.start(self._on_value, self._on_token, self._on_error, self._on_renewal)
        self.ticker.start()
        self._tick()
        self.connected_changed.emit(True)
        self.stop_button.setEnabled(True)

    def _on_value(self, seconds: float, value: float) -> None:
        self.plot.add_point(SERIES, seconds, value)
        self.sent.setText(f"{self.device.sent if self.device else 0} measurement(s) sent, last {value:.1f} °C")

    def _on_token(self, token: DeviceToken) -> None:
        self.token = token
        self._tick()

    def _on_error(self, error: WorkbenchError) -> None:
        self.ticker.stop()
        self.connected_changed.emit(False)
        self.countdown.setText(f"✗ the device stopped: {error.summary}")

    def _on_renewal(self, event: RenewalEvent) -> None:
        if event.error is not None:
            self.renewal_note = f"✗ renewal failed ({event.error.summary}); retrying"
        else:
            self.renewal_note = f"✓ renewed {_short(event.old_serial)} → {_short(event.new_serial)}, reconnected"
        self._tick()

    def _tick(self) -> None:
        if self.token is not None:
            self.countdown.setText(countdown_text(self.token))
        renewal = self.device.renewal if self.device is not None else None
        if renewal is not None:
            text = certificate_text(renewal)
            self.certificate.setText(f"{text} · {self.renewal_note}" if self.renewal_note else text)

    def stop(self) -> asyncio.Task[None] | None:
        """Stop sending and disconnect (also when the page closes or a new run starts)."""
        self.ticker.stop()
        self.stop_button.setEnabled(False)
        device, self.device = self.device, None
        if device is None:
            return None
        self.connected_changed.emit(False)
        task = spawn(self, device.stop(), lambda _none: self.stopped.emit(), outlive=True)
        self.countdown.setText("stopped")
        return task
