"""Fleet issuance from the Certificates page: many device certificates and keystores at once, with a live rate,
a Cancel that leaves nothing behind, and the bulk-registration CSV uploaded to the platform in one click.

Signals:
    finished_run(object): the FleetResult of a completed run.
"""

from __future__ import annotations

import asyncio
import threading
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.files import read_input_file
from workbench.core.pki.keys import KeySpec
from workbench.core.platform_client.responses import BulkRegistrationResult
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords, typed_or_stored
from workbench.services.fleet import FleetProgress, FleetResult
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.platform_http import PlatformCredentials, PlatformHttp
from workbench.services.store_fleet import FleetOrder, fleet_devices, run_fleet
from workbench.ui.dialogs.problem_dialog import problem_html
from workbench.ui.errors import run_action, spawn
from workbench.ui.wizards.form_kit import PasswordPair, explained_row, file_field, folder_field, password_edit

DEFAULT_PATTERN = "wb-dev-{n:04d}"  # the same default as `workbench fleet issue --pattern`
NO_PLATFORM = "No platform is set: start the local platform first, then upload the CSV from here."
KEY_TYPES = ((KeySpec.EC_P256, "EC P-256 (fast: thousands per minute)"), (KeySpec.EC_P384, "EC P-384"),
             (KeySpec.RSA_2048, "RSA 2048"), (KeySpec.RSA_3072, "RSA 3072"),
             (KeySpec.RSA_4096, "RSA 4096 (the guide's default; slow for fleets)"))


class FleetDialog(QDialog):
    """Count or CSV of ids, the CA, key and keystore choices, a folder; then a progress bar, a rate and a summary."""

    finished_run = Signal(object)
    _progress = Signal(object)  # emitted on the worker thread; Qt queues it to this dialog's thread

    def __init__(self, workspace: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = Path(workspace)
        self.platform: LocalPlatformInfo | None = None
        self.result: FleetResult | None = None  # type: ignore[assignment]  # hides QDialog.result(); tests read it
        self.task: asyncio.Task[None] | None = None
        self.upload_task: asyncio.Task[None] | None = None
        self.jobs: int | None = None  # None: every core (tiny fleets stay in-process)
        self._cancel: threading.Event | None = None
        self._running = False
        self._uploading = False
        self.setWindowTitle("Issue a fleet of device certificates")
        layout = QVBoxLayout(self)
        intro = QLabel("Many device certificates at once, each with its own key, chain and keystore, plus the "
                       "platform's bulk-registration CSV. Runs on every core; Cancel leaves nothing behind.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)
        self._ids_row(form)
        self.ca = QComboBox()
        self.ca.setObjectName("ca")
        try:
            for name in certificates.ca_names(self.workspace):
                self.ca.addItem(name, name)
        except WorkbenchError:
            pass
        explained_row(form, "Signing CA", self.ca, "The CA of the store that signs every device; serials and "
                      "records go to the store.")
        self.ca_password = password_edit("ca_password", "empty: the stored one")
        form.addRow("CA key password", self.ca_password)
        self.key_type = QComboBox()
        self.key_type.setObjectName("key_type")
        for spec, label in KEY_TYPES:
            self.key_type.addItem(label, spec)
        explained_row(form, "Device key type", self.key_type, "EC keys are generated in milliseconds; RSA 4096 "
                      "takes about a second per device.")
        self.passwords = PasswordPair("key", "Write every device key unencrypted (not recommended).")
        form.addRow("Device key password", self.passwords)
        self.keystore = QComboBox()
        self.keystore.setObjectName("keystore")
        for label, data in (("None", None), ("PKCS#12", "pkcs12"), ("JKS", "jks")):
            self.keystore.addItem(label, data)
        self.keystore_password = password_edit("keystore_password", "empty: the device key password")
        row = QHBoxLayout()
        row.addWidget(self.keystore)
        row.addWidget(self.keystore_password, 1)
        explained_row(form, "Keystore", row, "The guide's deviceKeystore per device (alias devicekeyentry).")
        out_row, self.out_dir = folder_field(self, "out_dir", "A new folder for the fleet")
        explained_row(form, "Output folder", out_row, "A new or empty folder; it appears only when the whole fleet "
                      "is written.")
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.rate = QLabel("")
        self.rate.setObjectName("rate")
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self._buttons(layout)
        self._progress.connect(self._on_progress)
        self._update_buttons()
        self.resize(760, 620)

    def _ids_row(self, form: QFormLayout) -> None:
        self.use_count = QRadioButton("Count")
        self.use_count.setChecked(True)
        self.count = QSpinBox()
        self.count.setObjectName("count")
        self.count.setRange(1, 1_000_000)
        self.count.setValue(100)
        self.pattern = QLineEdit(DEFAULT_PATTERN)
        self.pattern.setObjectName("pattern")
        self.pattern.setToolTip("The id pattern: {n} is the device number, e.g. wb-dev-{n:04d} gives wb-dev-0001")
        count_row = QHBoxLayout()
        for widget, stretch in ((self.use_count, 0), (self.count, 0), (QLabel("ids like"), 0), (self.pattern, 1)):
            count_row.addWidget(widget, stretch)
        explained_row(form, "Devices", count_row, "Each id becomes a certificate CN and MQTT client id, so ':' "
                      "and CSV separators are refused.")
        self.use_csv = QRadioButton("CSV of ids")
        csv_row, self.ids_csv = file_field(self, "ids_csv", "A CSV of device ids", "CSV files (*.csv *.txt)")
        csv_row.insertWidget(0, self.use_csv)
        self.ids_csv.textChanged.connect(lambda text: self.use_csv.setChecked(bool(text)) if text else None)
        explained_row(form, "", csv_row, "One id per line, or an ID column (TYPE, NAME, IDTYPE are kept for the "
                      "bulk-registration file).")

    def _buttons(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        self.start_button = QPushButton("Issue")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        self.upload_button = QPushButton("Upload bulk-registration CSV")
        self.upload_button.clicked.connect(self.upload)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        for button in (self.start_button, self.cancel_button, self.open_button, self.upload_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)

    # --- public API --------------------------------------------------------------------------------------------
    def set_platform(self, info: LocalPlatformInfo | None) -> None:
        """The platform the bulk-registration CSV is uploaded to (None: no upload)."""
        self.platform = info
        self._update_buttons()

    def running(self) -> bool:
        """True while a fleet is being issued."""
        return self._running

    def start(self) -> asyncio.Task[None] | None:
        """Issue the fleet with the current field values, off the GUI thread."""
        if self.running():
            return None
        order = run_action(self, self._order, self._show_problem)
        if order is None:
            return None
        self.result = None
        self._cancel = threading.Event()
        self.progress.setRange(0, len(order.devices))
        self.progress.setValue(0)
        self.rate.setText(f"Starting {len(order.devices)} devices…")
        self.message.setText("")
        self._running = True
        cancel = self._cancel
        work = asyncio.get_event_loop().run_in_executor(
            None, lambda: run_fleet(self.workspace, order, self._ca_passwords, self._progress.emit, cancel))
        self.task = spawn(self, work, self._ran, self._run_failed)
        self._update_buttons()
        return self.task

    def cancel(self) -> None:
        """Stop after the running chunk; the partial folder is deleted."""
        if self._cancel is not None and self.running():
            self._cancel.set()
            self.rate.setText("Cancelling after the current chunk…")
            self.cancel_button.setEnabled(False)

    def reject(self) -> None:
        """Closing the dialog cancels a running fleet (nothing half-written stays behind)."""
        self.cancel()
        super().reject()

    def open_folder(self) -> None:
        """Show the fleet folder in the file manager."""
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.out_dir)))

    def upload(self) -> asyncio.Task[None] | None:
        """Upload the run's bulk-registration CSV to the platform and show its counters."""
        if self.result is None or self.platform is None:
            return None
        self._uploading = True
        self._update_buttons()
        self.upload_task = spawn(self, self._upload(self.platform, self.result.csv_path), self._uploaded,
                                 self._upload_failed)
        return self.upload_task

    # --- running -----------------------------------------------------------------------------------------------
    def _order(self) -> FleetOrder:
        name = str(self.ca.currentData() or "")
        if not name:
            raise InvalidInputError("Choose the signing CA", ("Create a root CA with the wizard first.",))
        if self.passwords.problem_text():
            raise InvalidInputError("The device key password is not usable", (self.passwords.problem_text(),))
        folder = self.out_dir.text().strip()
        if not folder:
            raise InvalidInputError("Choose an output folder", ("A new or empty folder for the fleet.",))
        csv = Path(self.ids_csv.text().strip()) if self.use_csv.isChecked() and self.ids_csv.text().strip() else None
        devices = fleet_devices(self.count.value(), self.pattern.text(), csv)
        self._ca_passwords = CAPasswords.given(typed_or_stored(name, self.ca_password.text()), remember=True)
        return FleetOrder(name, devices, self.key_type.currentData(), self.passwords.value(), Path(folder),
                          self.keystore.currentData(), self.keystore_password.text().encode() or None, self.jobs)

    def _show_problem(self, exc: WorkbenchError) -> None:
        self.message.setText(problem_html(exc))

    def _run_failed(self, exc: WorkbenchError) -> None:
        self._running = False
        self.rate.setText("")
        self._show_problem(exc)
        self._update_buttons()

    def _ran(self, result: FleetResult) -> None:
        self._running = False
        self.result = result
        count = len(result.records)
        self.progress.setRange(0, max(count, 1))
        self.progress.setValue(max(count, 1))
        self.rate.setText(f"{count} of {count} devices · {count / max(result.elapsed, 1e-3):.0f} devices/s")
        self.message.setText(
            f"<p><b>Issued {count} devices in {result.elapsed:.1f} s</b> ({result.workers} worker(s)) into "
            f"<code>{result.out_dir}</code>.</p><p>Bulk-registration CSV: <code>{result.csv_path}</code><br>"
            f"Upload it to register the devices (AUTH_TYPE=CERTIFICATES), or turn on auto-registration.</p>")
        self._update_buttons()
        self.finished_run.emit(result)

    def _on_progress(self, progress: FleetProgress) -> None:
        if not self.running():
            return  # a late report after the run ended
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        self.rate.setText(f"{progress.done} of {progress.total} devices · {progress.rate:.0f} devices/s")

    @staticmethod
    async def _upload(info: LocalPlatformInfo, csv_path: Path) -> BulkRegistrationResult:
        data = read_input_file(csv_path, "bulk-registration CSV")
        trust = server_context(trust_from_pem(read_input_file(info.server_ca, "platform server CA")))
        async with PlatformHttp(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                                trust=trust) as http:
            return await http.bulk_register(data)

    def _upload_failed(self, exc: WorkbenchError) -> None:
        self._uploading = False
        self._update_buttons()
        self._show_problem(exc)

    def _uploaded(self, outcome: BulkRegistrationResult) -> None:
        self._uploading = False
        self._update_buttons()
        failures = "".join(f"<li>{escape(device)}: {escape(why)}</li>" for device, why in outcome.failures[:10])
        self.message.setText(f"<p><b>Bulk registration: {outcome.successful} of {outcome.total} devices "
                             f"registered.</b></p>" + (f"<ul>{failures}</ul>" if failures else ""))

    def _update_buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.open_button.setEnabled(self.result is not None)
        self.upload_button.setEnabled(self.result is not None and self.platform is not None and not self._uploading)
        self.upload_button.setToolTip(NO_PLATFORM if self.platform is None else
                                      "Issue a fleet first." if self.result is None else
                                      f"POST the CSV to {self.platform.rest_url}/devicecontrol/bulkNewDeviceRequests")
