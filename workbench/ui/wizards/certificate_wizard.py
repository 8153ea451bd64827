"""The certificate wizard: root CA, intermediate CA, device, server, or an external CSR, the guide's way, step by step.

Each page explains its choices in the guide's words; the summary lists the extensions the profile writes. Finish
runs the slow part (key generation, RSA 4096 especially) on the qasync loop's executor so the window stays usable.

Signals:
    created(object): the new CARecord (root, intermediate) or an ``certificates.Issued`` (device, server, CSR).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from workbench.core.pki.names import format_dn
from workbench.core.pki.profiles import CertificateProfile, intermediate_ca_profile, root_ca_profile
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import certificates, device_bundle
from workbench.services.ca_passwords import CAPasswords
from workbench.ui.errors import run_action, spawn

from . import guide_texts
from .ca_pages import IssuerPage, KeyPage, SubjectPage
from .leaf_pages import CsrPage, LeafPage, OutputPage
from .summary_page import Plan, SummaryPage

KINDS = ("root", "intermediate", "device", "server", "csr")
TITLES = {"root": "New root CA", "intermediate": "New intermediate CA", "device": "New device certificate",
          "server": "New server certificate", "csr": "Sign a certificate request"}
CREATES = {"root": "A self-signed root CA in the CA store (the guide's v3_ca)",
           "intermediate": "An intermediate CA in the CA store, signed by the chosen CA (v3_ca)",
           "device": "A device key and certificate (the guide's v3_signed)",
           "server": "A TLS server key and certificate",
           "csr": "A certificate for the request's subject and key"}


class CertificateWizard(QWizard):
    """One wizard for every certificate kind; drive it with the page widgets, next() and accept()."""

    created = Signal(object)

    def __init__(self, workspace: Path, kind: str = "root", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if kind not in KINDS:
            raise InvalidInputError(f"Unknown certificate kind '{kind}'", (f"Use one of: {', '.join(KINDS)}.",))
        self.workspace = Path(workspace)
        self.kind = kind
        self.task: asyncio.Task[None] | None = None
        self.result: object | None = None  # type: ignore[assignment]  # hides QDialog.result(); tests read it
        self._busy = False
        self.setWindowTitle(TITLES[kind])
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        is_ca = kind in ("root", "intermediate")
        self.issuer_page = IssuerPage(self.workspace) if kind != "root" else None
        self.subject_page = SubjectPage(self.workspace, kind) if is_ca else None
        self.leaf_page = LeafPage(self.workspace, kind) if kind in ("device", "server") else None
        self.csr_page = CsrPage() if kind == "csr" else None
        self.key_page = KeyPage(kind) if kind != "csr" else None
        self.output_page = OutputPage(kind) if self.leaf_page else None
        self.summary_page = SummaryPage(self.plan)
        for page in (self.issuer_page, self.subject_page, self.leaf_page, self.csr_page, self.key_page,
                     self.output_page, self.summary_page):
            if page is not None:
                self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Create" if kind != "csr" else "Sign")
        self.resize(860, 720)

    # --- what the pages say ----------------------------------------------------------------------------------
    def parent_ca(self) -> str | None:
        """The signing CA's name (None for a root)."""
        return self.issuer_page.ca_name() if self.issuer_page else None

    def profile(self) -> CertificateProfile:
        """The profile the pages describe."""
        if self.csr_page is not None:
            return self.csr_page.profile()
        assert self.key_page is not None
        days = self.key_page.validity.value()
        if self.kind == "root":
            return root_ca_profile(self.key_page.path_length(), days)
        if self.kind == "intermediate":
            return intermediate_ca_profile(self.key_page.path_length(), days)
        assert self.leaf_page is not None
        return self.leaf_page.profile(days)

    def plan(self) -> Plan:
        """The summary: facts and the profile's extensions in words (a stand-in key where none exists yet)."""
        profile = self.profile()
        parent = self.parent_ca()
        until = datetime.date.today() + datetime.timedelta(days=profile.validity_days)
        facts = [("Creates", CREATES[self.kind])]
        subject_key = None
        if self.csr_page is not None and self.csr_page.csr is not None:
            facts.append(("Subject", format_dn(self.csr_page.csr.subject) or "(empty)"))
            subject_key = self.csr_page.csr.public_key()
        elif self.subject_page is not None:
            facts.append(("Subject", format_dn(self.subject_page.subject())))
        elif self.leaf_page is not None:
            facts.append(("Subject", f"CN={self.leaf_page.cn.text()}"))
        facts.append(("Signed by", parent or "itself (self-signed)"))
        if self.key_page is not None:
            encrypted = "unencrypted" if self.key_page.passwords.plaintext.isChecked() else "encrypted (AES-256)"
            facts.append(("Key", f"{self.key_page.key_type.currentText()}, {encrypted}"))
        facts.append(("Validity", f"{profile.validity_days} days (until about {until:%Y-%m-%d})"))
        if self.subject_page is not None and self.key_page is not None and self.key_page.passwords.value():
            facts.append(("Password", f"The CA key password is {SecretStore().kept}, for PoP and the other pages "
                                      "(Certificates page: CA password ▾ shows or resets it)."))
        facts += self._file_facts()
        extensions = certificates.preview_extensions(self.workspace, profile, parent, subject_key)
        return Plan(facts, guide_texts.describe_extensions(extensions, preview_ski=subject_key is None))

    def _file_facts(self) -> list[tuple[str, str]]:
        if self.csr_page is not None:
            return [("File", self.csr_page.out_file.text())]
        if self.output_page is None:
            return []
        naming = device_bundle.SERVER if self.kind == "server" else device_bundle.DEVICE
        names = [naming.key, naming.certificate, naming.chain]
        kind = self.output_page.keystore.currentData()
        if kind:
            names.append(naming.keystore(kind))
        if self.output_page.truststore_cert.text().strip():
            names.append(naming.truststore(kind or "pkcs12"))
        return [("Folder", self.output_page.out_dir.text()), ("Files", ", ".join(names))]

    def job(self) -> Callable[[], object]:
        """The work to run off the GUI thread, built from the widgets now (workers never touch widgets)."""
        workspace, parent, profile = self.workspace, self.parent_ca(), self.profile()
        password = self.issuer_page.password() if self.issuer_page else None
        if self.csr_page is not None:
            csr_path, out = Path(self.csr_page.csr_file.text()), Path(self.csr_page.out_file.text())
            signing = certificates.CsrSigning(parent or "", csr_path, profile, out)
            return lambda: certificates.sign_csr(workspace, signing, CAPasswords.given(password, remember=True))
        assert self.key_page is not None
        spec, key_password = self.key_page.key_spec(), self.key_page.passwords.value()
        if self.subject_page is not None:
            request = certificates.NewCA(self.subject_page.subject(), spec, profile, key_password,
                                         self.key_page.passwords.plaintext.isChecked(), parent)
            return lambda: certificates.create_ca(workspace, request, CAPasswords.given(password, remember=True))
        assert self.leaf_page is not None and self.output_page is not None
        output = self.output_page
        trust = output.truststore_cert.text().strip()
        leaf = certificates.NewLeaf(parent or "", self.leaf_page.cn.text(), profile, spec, key_password,
                                    Path(output.out_dir.text().strip()), output.keystore.currentData(),
                                    output.keystore_password.text().encode() or None, Path(trust) if trust else None)
        return lambda: certificates.issue_leaf(workspace, leaf, CAPasswords.given(password, remember=True))

    # --- running ------------------------------------------------------------------------------------------------
    def accept(self) -> None:
        """Finish: run the job on the loop's executor; the dialog closes when it succeeded."""
        if self.result is not None:
            super().accept()
            return
        if self._busy:
            return
        job = run_action(self, self.job, self.summary_page.show_error)
        if job is None:
            return
        self._set_busy(True)
        self.summary_page.show_error(None)
        self.task = spawn(self, asyncio.get_event_loop().run_in_executor(None, job), self._created, self._failed)

    def reject(self) -> None:
        """Cancel closes the wizard, except while a key is being generated (that cannot be interrupted)."""
        if not self._busy:
            super().reject()

    def _failed(self, exc: WorkbenchError) -> None:
        self._set_busy(False)
        self.summary_page.show_error(exc)

    def _created(self, result: object) -> None:
        self._set_busy(False)
        self.result = result
        self.created.emit(result)
        super().accept()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.summary_page.set_busy(busy)
        for button in (QWizard.WizardButton.BackButton, QWizard.WizardButton.FinishButton,
                       QWizard.WizardButton.CancelButton):
            self.button(button).setEnabled(not busy)
