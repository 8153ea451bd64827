"""The Certificates page's buttons and the file and password dialogs they open; the work itself is in
store_actions, so every dialog is one thin step in front of a tested function."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

from workbench.core.pki.crl import REASONS
from workbench.errors import WorkbenchError
from workbench.ui.errors import run_action
from workbench.ui.widgets.buttons import action_button, ask_password, menu_button
from workbench.ui.widgets.fit import FlowLayout

from . import store_actions

if TYPE_CHECKING:
    from cryptography import x509
    from PySide6.QtWidgets import QLabel

    from workbench.services.local_platform import LocalPlatformInfo


class CertificatesPageFace(Protocol):
    """What the toolbar needs of its page (the page composes the toolbar; the toolbar never imports the page)."""

    workspace: Path
    platform_info: LocalPlatformInfo | None
    message: QLabel
    wizard: QWidget | None
    fleet_dialog: QWidget | None

    def selected(self) -> tuple[x509.Certificate | None, tuple]: ...

    def inspect_file(self, path: str | Path, password: str | None = None) -> bool: ...

    def show_problem(self, error: WorkbenchError) -> None: ...

    def show_outcome(self, outcome: store_actions.Outcome) -> None: ...

    def refresh_keep_selection(self) -> None: ...

    def show_created(self, result: object) -> None: ...

WIZARD_KINDS = (("root", "Root CA…"), ("intermediate", "Intermediate CA…"), ("device", "Device certificate…"),
                ("server", "Server certificate…"), ("csr", "Sign a CSR…"))
CERT_FILES = "Certificates and keystores (*.pem *.crt *.cer *.der *.p12 *.pfx *.jks *.ks);;All files (*)"


class CertificatesToolbar(QWidget):
    """New ▾, Fleet, Open, Chain ▾, Revoke, CRL and Export, enabled by what is selected."""

    def __init__(self, page: CertificatesPageFace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        row = FlowLayout(self)  # the buttons wrap onto a second line on a narrow window
        self.new = menu_button("New", [(label, lambda _=False, k=kind: self.open_wizard(k))
                                             for kind, label in WIZARD_KINDS])
        self.new.setToolTip("Create a CA, an intermediate, a device or server certificate, or sign a CSR")
        self.fleet = action_button("Fleet…", self.open_fleet, "Issue many device certificates and keystores at once")
        self.open = action_button("Open file…", self._on_open, "Inspect a PEM, DER, PKCS#12 or JKS file")
        self.chain = menu_button("Chain", [("Verify a chain file…", self._on_verify),
                                                 ("Order a chain file…", self._on_order),
                                                 ("Save the chain of the selection…", self._on_build)])
        self.revoke = action_button("Revoke…", self._on_revoke, "Revoke the selected issued certificate")
        self.crl = action_button("CRL…", self._on_crl, "Sign the selected CA's next CRL and save it")
        self.export = action_button("Export openssl layout…", self._on_export,
                                   "Write the selected CA as the guide's caCertificate folder (openssl ca)")
        self.password = menu_button("CA password", [("Show password…", lambda _=False: self.show_ca_password()),
                                                    ("Reset password…", lambda _=False: self.reset_ca_password())],
                                    "Show the selected CA's stored key password, or re-encrypt its key with a new "
                                    "one")
        for widget in (self.new, self.fleet, self.open, self.chain, self.revoke, self.crl, self.export,
                       self.password):
            row.addWidget(widget)

    def update_enabled(self) -> None:
        """Revoke needs an issued certificate; CRL and export need a CA."""
        _cert, what = self.page.selected()
        kind = what[0] if what else ""
        self.revoke.setEnabled(kind == "issued")
        self.crl.setEnabled(kind == "ca")
        self.export.setEnabled(kind == "ca")
        self.password.setEnabled(kind == "ca")

    # --- prompts -------------------------------------------------------------------------------------------------
    def ask_password(self, label: str) -> str | None:
        """A password prompt (None when cancelled); tests replace it."""
        return ask_password(self, label)

    def _ca_prompt(self, name: str) -> str | None:
        return self.ask_password(f"Key password of the CA '{name}' (none is stored)")

    def confirm(self, title: str, question: str) -> bool:
        """A yes/no question (tests replace it)."""
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def reveal(self, title: str, text: str) -> None:
        """Show a password in a box whose text can be selected and copied (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def _run(self, action: Callable[[], store_actions.Outcome]) -> None:
        outcome = run_action(self, action, self.page.show_problem)
        if outcome is not None:
            self.page.show_outcome(outcome)

    # --- actions -------------------------------------------------------------------------------------------------
    def open_wizard(self, kind: str) -> None:
        """The certificate wizard for one kind; the tree refreshes when it created something."""
        from workbench.ui.wizards.certificate_wizard import CertificateWizard

        wizard = CertificateWizard(self.page.workspace, kind, cast(QWidget, self.page))  # the page is a QWidget
        _cert, what = self.page.selected()
        if wizard.issuer_page is not None and what and what[0] in ("ca", "issued"):
            wizard.issuer_page.choose(what[1])  # the CA selected in the tree (or the issuer of the selection)
        wizard.created.connect(self.page.show_created)
        wizard.open()
        self.page.wizard = wizard

    def open_fleet(self) -> None:
        """The fleet issuance dialog, with the local platform for the CSV upload."""
        from workbench.ui.dialogs.fleet_dialog import FleetDialog

        dialog = FleetDialog(self.page.workspace, cast(QWidget, self.page))  # the page is a QWidget
        if self.page.platform_info is not None:
            dialog.set_platform(self.page.platform_info)
        dialog.finished_run.connect(lambda _result: self.page.refresh_keep_selection())
        dialog.open()
        self.page.fleet_dialog = dialog

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Inspect a file", "", CERT_FILES)
        if path:
            self.page.inspect_file(path)

    def _on_verify(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Chain file to verify (leaf first)", "", CERT_FILES)
        if not path:
            return
        result = run_action(self, lambda: store_actions.verify_file(self.page.workspace, Path(path)),
                            self.page.show_problem)
        if result is None:
            return
        lines = [result.summary, *(f"• {f.message}" for f in result.findings), *result.notes]
        (QMessageBox.information if result.ok else QMessageBox.warning)(self, "Chain verification", "\n".join(lines))
        self.page.message.setText(result.summary)

    def _on_order(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Chain file to order", "", CERT_FILES)
        if not path:
            return
        suggested = str(Path(path).with_suffix(".ordered.pem"))
        out, _ = QFileDialog.getSaveFileName(self, "Save the ordered chain", suggested, "PEM (*.pem)")
        if out:
            self._run(lambda: store_actions.order_file(self.page.workspace, Path(path), Path(out)))

    def _on_build(self) -> None:
        cert, _what = self.page.selected()
        if cert is None:
            QMessageBox.information(self, "Chain", "Select a certificate first.")
            return
        out, _ = QFileDialog.getSaveFileName(self, "Save the chain", "chain.pem", "PEM (*.pem)")
        if out:
            self._run(lambda: store_actions.build_from_store(self.page.workspace, cert, Path(out)))

    def _on_revoke(self) -> None:
        _cert, what = self.page.selected()
        reason, ok = QInputDialog.getItem(self, "Revoke", f"Why is serial {what[2]:X} revoked?", list(REASONS), 0,
                                          False)
        if ok:
            self._run(lambda: store_actions.revoke(self.page.workspace, what[1], what[2], reason))

    def _on_crl(self) -> None:
        _cert, what = self.page.selected()
        out, _ = QFileDialog.getSaveFileName(self, "Save the CRL", f"{what[1]}.crl.pem", "PEM (*.pem *.crl)")
        if out:
            self._run(lambda: store_actions.write_crl(self.page.workspace, what[1], self._ca_prompt, Path(out)))

    def show_ca_password(self) -> None:
        """Show the selected CA's stored key password, after a confirmation."""
        _cert, what = self.page.selected()
        if not what or what[0] != "ca":
            return
        name = what[1]
        if not self.confirm("Show password", f"Show the key password of the CA '{name}' on screen?"):
            return
        password = run_action(self, lambda: store_actions.show_password(name), self.page.show_problem)
        if password is not None:
            self.reveal("CA key password", f"Key password of '{name}':\n\n{password}")

    def reset_ca_password(self) -> None:
        """Re-encrypt the selected CA's key with a new generated password, after a confirmation."""
        _cert, what = self.page.selected()
        if not what or what[0] != "ca":
            return
        name = what[1]
        if not self.confirm("Reset password", f"Re-encrypt the key of the CA '{name}' with a new generated "
                                              "password? The old password stops working."):
            return
        result = run_action(self, lambda: store_actions.reset_password(self.page.workspace, name, self._ca_prompt),
                            self.page.show_problem)
        if result is None:
            return
        outcome, password = result
        self.page.show_outcome(outcome)
        self.reveal("New CA key password", f"{outcome.message}\n\nNew key password of '{name}':\n\n{password}")

    def _on_export(self) -> None:
        _cert, what = self.page.selected()
        parent = QFileDialog.getExistingDirectory(self, "Folder to create the caCertificate folder in")
        if not parent:
            return
        outcome: list[store_actions.Outcome] = []

        def export() -> store_actions.Outcome:
            outcome.append(store_actions.export_layout(self.page.workspace, what[1], self._ca_prompt,
                                                       Path(parent) / "caCertificate"))
            return outcome[0]

        self._run(export)
        if outcome and outcome[0].path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(outcome[0].path)))
