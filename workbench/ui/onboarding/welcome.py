"""The welcome at the top of the Onboarding page, where a first run lands: what the app does in one sentence, the
two ways to begin (the demo, or your own device) and the local platform's state with its Start button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

SENTENCE = ("The workbench takes an X.509 device from a new CA to live data on the platform — certificates, "
            "keystores, proof of possession and an MQTT console — and rehearses it all on a bundled local platform.")


class WelcomeHeader(QFrame):
    """One sentence, **Run the demo**, **Onboard my own device**, and the local platform's state.

    Signals:
        demo_requested: run the guide's whole journey on the local platform, ending on live data.
        own_requested: onboard the user's own device with the steps below.
        start_requested: start the local platform (it stopped or could not start).
    """

    demo_requested = Signal()
    own_requested = Signal()
    start_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.sentence = QLabel(f"<h2>Welcome</h2>{SENTENCE}")
        self.sentence.setWordWrap(True)
        layout.addWidget(self.sentence)
        row = QHBoxLayout()
        self.demo_button = QPushButton("Run the demo")
        self.demo_button.setDefault(True)
        self.demo_button.setToolTip("The guide's whole journey in seconds on the local platform: a CA, its upload "
                                    "and proof of possession, a device certificate and keystores, the connection, "
                                    "a token, and live data from a simulated device")
        self.demo_button.clicked.connect(self.demo_requested)
        self.own_button = QPushButton("Onboard my own device")
        self.own_button.setToolTip("Choose the target (the local platform or your tenant) and the device's name "
                                   "below, then run the steps one by one")
        self.own_button.clicked.connect(self.own_requested)
        row.addWidget(self.demo_button)
        row.addWidget(self.own_button)
        row.addStretch(1)
        self.platform_state = QLabel("Local platform: not started")
        self.platform_state.setObjectName("platform_state")
        self.platform_state.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start the bundled local platform")
        self.start_button.clicked.connect(self.start_requested)
        row.addWidget(self.platform_state)
        row.addWidget(self.start_button)
        layout.addLayout(row)

    def set_platform_state(self, phase: str, text: str) -> None:
        """The platform's state in words ("starting…", "running: MQTT/TLS 8883, REST 8443"); Start is offered
        while it neither runs nor starts."""
        self.platform_state.setText(f"Local platform: {text}")
        self.platform_state.setToolTip(text)
        self.start_button.setVisible(phase in ("stopped", "failed"))
        self.demo_button.setEnabled(phase == "running")
        self.demo_button.setToolTip(self.demo_button.toolTip().split("\n")[0] +
                                    ("" if phase == "running" else "\n(available once the local platform runs)"))
