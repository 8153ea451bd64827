"""The certificate details pane: every v3 field decoded, fingerprints, PEM and openssl-style text, and the lint
against the platform's rules with a fix for each finding, so a certificate never has to leave the app to be read."""

from __future__ import annotations

import html
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont, QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QTreeWidget, QTreeWidgetItem, QWidget

from workbench.core.pki.chain import cert_label
from workbench.core.pki.lint import LintReport, Severity, lint_ca_for_upload, lint_device_chain
from workbench.core.pki.summary import summarize
from workbench.core.pki.textdump import text_dump
from workbench.ui import theme

SEVERITY_KINDS: dict[Severity, theme.Status] = {Severity.ERROR: "error", Severity.WARNING: "warn",
                                                 Severity.INFO: "info"}
NAME_COLUMN_WIDTH = 210
SEVERITY_MARKS = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}


def lint_for(certs: Sequence[x509.Certificate], trusted: Sequence[x509.Certificate] = ()) -> LintReport:
    """The right rule set for what is shown: upload rules for a CA, the connect rules for a device chain."""
    leaf = certs[0]
    try:
        constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        return lint_ca_for_upload(list(certs[:1]))
    return lint_device_chain(list(certs), trusted=list(trusted))


def lint_html(report: LintReport, heading: str) -> str:
    """One coloured line per finding with its fix under it, then the verdict."""
    rows = []
    k = theme.current()  # the status colours of the theme on show
    for finding in report.findings:
        colour = k.status(SEVERITY_KINDS[finding.severity])
        fix = f"<br><span style='color:{k.muted}'>fix: {html.escape(finding.fix)}</span>" if finding.fix else ""
        rows.append(f"<p style='margin:4px 0'><span style='color:{colour}'><b>{SEVERITY_MARKS[finding.severity]} "
                    f"{finding.severity.value}</b></span> {html.escape(finding.message)}{fix}</p>")
    verdict = (f"<p style='color:{k.ok}'><b>✓ passes the platform's rules</b></p>" if report.ok else
               f"<p style='color:{k.error}'><b>✗ {len(report.errors)} problem(s) the platform refuses</b></p>")
    return f"<p><b>{html.escape(heading)}</b></p>{verdict}{''.join(rows) or '<p>No findings.</p>'}"


class CertificateDetails(QTabWidget):
    """Fields, Text, PEM and Lint tabs for one certificate (with its chain, when known)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.fields = QTreeWidget()
        self.fields.setHeaderLabels(["Field", "Value"])
        self.fields.setColumnWidth(0, NAME_COLUMN_WIDTH)
        self.fields.setUniformRowHeights(False)  # a multi-line extension value keeps its row
        self.fields.setWordWrap(True)
        self.text = QPlainTextEdit(readOnly=True)
        self.pem = QPlainTextEdit(readOnly=True)
        self.lint = QLabel()
        self.lint.setWordWrap(True)
        self.lint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lint.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.lint.setMargin(8)
        for view in (self.text, self.pem):
            view.setFont(mono)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.addTab(self.fields, "Fields")
        self.addTab(self.lint, "Lint")
        self.addTab(self.text, "Text")
        self.addTab(self.pem, "PEM")
        self.clear_view()

    def clear_view(self) -> None:
        """Nothing selected: say what the pane is for."""
        self.fields.clear()
        QTreeWidgetItem(self.fields, ["", "Select a certificate, or drop a PEM, DER, PKCS#12 or JKS file here."])
        self.text.clear()
        self.pem.clear()
        self.lint.setText("")

    def show_certificate(self, cert: x509.Certificate, chain: Sequence[x509.Certificate] = (),
                         trusted: Sequence[x509.Certificate] = ()) -> LintReport:
        """Fill every tab; ``chain`` (leaf first) is what the device would send, for the lint."""
        summary = summarize(cert)
        self.fields.clear()
        rows = [
            ("Version", f"{summary.version} (0x{summary.version - 1:x})"),
            ("Serial number", f"{summary.serial_hex}  ({summary.serial_decimal})"),
            ("Signature algorithm", summary.signature_algorithm),
            ("Issuer", summary.issuer),
            ("Valid from", f"{summary.not_before:%Y-%m-%d %H:%M:%S} UTC"),
            ("Valid until", f"{summary.not_after:%Y-%m-%d %H:%M:%S} UTC  ({summary.validity_status()})"),
            ("Subject", summary.subject),
            ("Public key", summary.public_key.description),
            ("CA", ("yes" + (f", pathlen {summary.path_length}" if summary.path_length is not None else ""))
             if summary.is_ca else "no"),
            ("Self-signed", "yes" if summary.self_signed else "no"),
            ("SHA-1 fingerprint", summary.sha1_fingerprint),
            ("SHA-256 fingerprint", summary.sha256_fingerprint),
            ("Platform certificate id", summary.certificate_id),
        ]
        if summary.issuer_unique_id or summary.subject_unique_id:
            rows.append(("Unique ids", f"issuer {summary.issuer_unique_id}, subject {summary.subject_unique_id}"))
        for name, value in rows:
            QTreeWidgetItem(self.fields, [name, value])
        extensions = QTreeWidgetItem(self.fields, ["X.509v3 extensions", f"{len(summary.extensions)}"])
        for ext in summary.extensions:  # the name and its value on one row, as the other fields
            notes = (["critical"] if ext.critical else []) + ([] if ext.known else [f"unknown, OID {ext.oid}"])
            value = "\n".join(line.strip() for line in ext.lines if line.strip())
            if notes:
                value = f"{value}  ({', '.join(notes)})" if value else ", ".join(notes)
            item = QTreeWidgetItem(extensions, [ext.name, value])
            item.setToolTip(0, ext.name)
            item.setToolTip(1, value)
            if ext.critical:
                item.setForeground(1, QBrush(theme.readable("#6a1b9a")))  # critical: purple, readable in both
        bold = QFont()
        bold.setBold(True)
        extensions.setFont(0, bold)
        self.fields.expandAll()
        self.fields.resizeColumnToContents(0)  # no field or extension name is cut off
        self.fields.setColumnWidth(0, max(self.fields.columnWidth(0) + 12, NAME_COLUMN_WIDTH))
        self.text.setPlainText(text_dump(cert))
        self.pem.setPlainText("".join(c.public_bytes(serialization.Encoding.PEM).decode()
                                      for c in (chain or (cert,))))
        report = lint_for(list(chain) or [cert], trusted)
        heading = f"Lint of '{cert_label(cert)}'" + (f" with its chain of {len(chain)}" if len(chain) > 1 else "")
        self.lint.setText(lint_html(report, heading))
        self.setTabText(1, "Lint ✓" if report.ok else f"Lint ✗ {len(report.errors)}")
        return report
