"""The Fleet page: pick a fleet folder (or bulk CSV) and a target, Start and Stop the fleet simulator, inject chaos,
and watch its live figures; every action calls services/fleet_simulator, the same engine as `workbench simulate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError
from workbench.services.fleet_simulator import (
    REGISTRATIONS,
    Behaviour,
    Fleet,
    PlatformLink,
    RunOptions,
    Simulator,
    Target,
    fleet_from_csv,
    fleet_from_folder,
)
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.platform_http import PlatformCredentials
from workbench.ui.errors import run_action, spawn
from workbench.ui.fleet.panels import ErrorsPanel, FiguresPanel, LatencyPanel
from workbench.ui.widgets.problem_label import ProblemLabel


class FleetPage(QWidget):
    """Start/Stop a simulated fleet against the local platform and show what its devices see.

    Signals:
        finished: the run's summary, once it stopped.
    """

    finished = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: LocalPlatformInfo | None = None
        self.simulator: Simulator | None = None
        self.summary: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        setup = QGroupBox("Fleet and run")
        form = QFormLayout(setup)
        row = QHBoxLayout()
        self.source = QLineEdit()
        self.source.setPlaceholderText("a fleet folder of 'workbench fleet issue', or its bulk-registration CSV")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.source, 1)
        row.addWidget(browse)
        form.addRow("Fleet", row)
        self.target_label = QLabel("the local platform (not running yet)")
        form.addRow("Target", self.target_label)
        options = QHBoxLayout()
        self.registration = QComboBox()
        self.registration.addItems(list(REGISTRATIONS))
        self.registration.setToolTip("auto: the CA's auto-registration; bulk: upload the fleet's CSV; none")
        self.upload_ca = QCheckBox("Upload the fleet's CA if missing")
        self.upload_ca.setChecked(True)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.1, 3600)
        self.interval.setValue(Behaviour.interval)
        self.interval.setSuffix(" s between measurements")
        options.addWidget(self.registration)
        options.addWidget(self.upload_ca)
        options.addWidget(self.interval)
        options.addStretch(1)
        form.addRow("Registration", options)
        layout.addWidget(setup)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setProperty("primary", True)
        self.stop_button = QPushButton("Stop")
        self.drop_button = QPushButton("Drop 25% of connections")
        self.ca_button = QPushButton("Disable the CA for 5 s")
        for button in (self.start_button, self.stop_button, self.drop_button, self.ca_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.drop_button.clicked.connect(lambda: self._chaos_drop(0.25))
        self.ca_button.clicked.connect(lambda: self._chaos_ca(5.0))
        self.problem = ProblemLabel()
        layout.addWidget(self.problem)
        self.figures = FiguresPanel()
        self.latency = LatencyPanel()
        self.errors = ErrorsPanel()
        layout.addWidget(self.figures)
        lower = QHBoxLayout()
        lower.addWidget(self.latency, 1)
        lower.addWidget(self.errors, 1)
        layout.addLayout(lower, 1)
        self._set_running(False)

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The devices connect to this platform."""
        self.info = info
        self.target_label.setText(f"the local platform: MQTT over TLS on port {info.ports.get('mqtts')}")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Fleet folder")
        if folder:
            self.source.setText(folder)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        for button in (self.stop_button, self.drop_button, self.ca_button):
            button.setEnabled(running)

    def _fleet(self) -> Fleet:
        text = self.source.text().strip()
        if not text:
            raise InvalidInputError("Choose a fleet first", ("A folder of 'workbench fleet issue', or its CSV.",))
        path = Path(text)
        return fleet_from_csv(path) if path.suffix.lower() == ".csv" else fleet_from_folder(path)

    def _simulator(self) -> Simulator:
        if self.info is None:
            raise InvalidInputError("The local platform is not running", ("Start it on the Local Platform page.",))
        fleet = self._fleet()
        trust = trust_from_pem(self.info.server_ca.read_bytes())
        link = PlatformLink(self.info.rest_url, PlatformCredentials("admin", self.info.admin_password, "t100"),
                            server_context(trust))
        return Simulator(fleet, Target("localhost", self.info.ports["mqtts"], server_trust=trust),
                         Behaviour(interval=self.interval.value()), link,
                         RunOptions(registration=self.registration.currentText(),
                                    upload_ca=self.upload_ca.isChecked()))

    def start(self) -> None:
        """Register the fleet and run it until Stop."""
        simulator = run_action(self, self._simulator, self.problem.show_error)
        if simulator is None:
            return
        self.problem.clear_error()
        self.simulator, self.summary = simulator, None
        self._set_running(True)

        async def work() -> dict[str, Any]:
            try:
                await simulator.register()
                return await simulator.run(on_tick=self.show_figures)
            finally:
                self._set_running(False)

        spawn(self, work(), self._done, self.problem.show_error)

    def _done(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        self.show_figures(summary)
        self.finished.emit(summary)

    def stop(self) -> None:
        """Devices disconnect cleanly; the figures stay on screen."""
        if self.simulator is not None:
            self.simulator.stop()

    def _chaos_drop(self, fraction: float) -> None:
        if self.simulator is not None:
            run_action(self, lambda: self.simulator.drop(fraction) if self.simulator else 0, self.problem.show_error)

    def _chaos_ca(self, seconds: float) -> None:
        if self.simulator is not None:
            spawn(self, self.simulator.disable_ca(seconds), None, self.problem.show_error)

    def show_figures(self, snap: dict[str, Any]) -> None:
        """Render a figures snapshot in every panel."""
        self.figures.show_figures(snap)
        self.latency.show_figures(snap)
        self.errors.show_figures(snap)
