"""Answers "why was this device refused?": the platform's sentence mapped to the check that failed and its fix, in
the lint's words, plus the full lint of the device chain when the workspace's CA store holds the certificate.

Refusal events carry the reason and the device id, not the certificate (the TLS layer and the MQTT rules keep no
copy), so the chain is looked up by its CN among the certificates the workbench issued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from workbench.core.pki.lint import LintFinding, LintReport, Severity, format_report, lint_device_chain
from workbench.errors import WorkbenchError
from workbench.services import certificates

# (pattern in the platform's sentence, the check, its fix): the codes are the lint's where the lint has the check
RULES: tuple[tuple[str, str, str], ...] = (
    (r"auto-registration is off", "not-registered",
     "Enable auto-registration on the trusted certificate (Tenants tab → Edit…), or bulk-register the device with "
     "AUTH_TYPE=CERTIFICATES."),
    (r"does not match certificate CN", "client-id-mismatch",
     "Connect as 'd:<CN>', or issue a certificate whose CN is the client id."),
    (r"contains ':'", "colon-in-cn",
     "The CN must equal the MQTT client id, where ':' separates fields; choose an id without ':'."),
    (r"has no CN", "no-common-name", "The CN is the device id and must equal the MQTT client id; issue it with a CN."),
    (r"does not reach any uploaded|unknown ca|unable to get local issuer|self.signed certificate in|verify failed",
     "no-trusted-ca",
     "Upload the CA that issued the device (Tenants tab → Upload from CA store), and send the full chain including "
     "it (the guide's `cat deviceCert.pem caCert.pem > deviceCertChain.pem`)."),
    (r"accepts at most", "too-long", "Use fewer intermediate CAs."),
    (r"strict chain setting", "incomplete",
     "Certificates used by devices must contain the full chain, including the uploaded CA certificate: append it."),
    (r"is disabled", "anchor-disabled", "Enable the trusted certificate (Tenants tab → Edit… → ENABLED)."),
    (r"but is not a CA", "not-a-ca",
     "Every certificate used to sign another must contain CA:TRUE; re-issue it with the v3_ca profile."),
    (r"pathlen|path length", "pathlen-exceeded",
     "Sign the device from a CA whose pathlen allows the intermediates below it, or re-issue the CA with a larger "
     "pathlen."),
    (r"expired", "expired", "Issue a new certificate (renew it)."),
    (r"is not valid before", "not-yet-valid", "Check the clock of the machine that issued it, or wait until then."),
    (r"is revoked", "revoked", "Issue the device a new certificate: the CRL is append-only, a revocation stays."),
    (r"ambiguous tenant", "ambiguous-tenant",
     "Complete proof of possession in the device's tenant, or delete the certificate from the other tenant."),
    (r"password authentication", "registered-with-password",
     "Register the device again with AUTH_TYPE=CERTIFICATES, or let it log in with its password."),
    (r"uses MQTT 5", "mqtt-version", "Connect with MQTT 3.1.1 (the sandbox listener takes MQTT 5)."),
    (r"is not of the form", "client-id-format", "Use the client id d:<device id> (or d:<id>:<template>)."),
    (r"no certificate and no user name", "no-client-certificate",
     "Give the device its key and certificate chain (its keystore) for the TLS connection."),
    (r"wrong user name or password", "bad-credentials", "Check tenant/user and the password."),
)


@dataclass(frozen=True)
class Explanation:
    """What "why?" shows: the platform's sentence as a lint finding, and the lint of the chain when found."""

    device: str
    reason: str
    diagnosis: LintReport
    chain_lint: LintReport | None = None
    chain_note: str = ""

    @property
    def fix(self) -> str:
        """The most specific fix: the chain lint's for the same check when it has one, else the rule's."""
        if self.chain_lint is not None:
            for finding in self.chain_lint.errors:
                if finding.code == self.failed_check and finding.fix:
                    return finding.fix
        return self.diagnosis.findings[0].fix

    @property
    def failed_check(self) -> str:
        """The code of the check that failed."""
        return self.diagnosis.findings[0].code

    def text(self) -> str:
        """Plain text: reason, check and fix, then the chain's lint (or why there is none)."""
        parts = [f"Device: {self.device or '(unknown)'}", f"Platform: {self.reason}",
                 f"Failed check: {self.failed_check}", "", format_report(self.diagnosis)]
        if self.chain_lint is not None:
            parts += ["", "Lint of the device chain from the CA store:", format_report(self.chain_lint)]
        if self.chain_note:
            parts += ["", self.chain_note]
        return "\n".join(parts)


def _device_name(event: dict) -> tuple[str, str | None]:
    """The CN the refusal names (else the client id's device part), and the client id when there is one."""
    client_id = str(event.get("device") or "") or None
    message = str(event.get("message", ""))
    named = re.search(r"'CN=([^',]+)|device '([^']+)'|certificate CN '([^']+)'", message)
    if named:
        return next(g for g in named.groups() if g), client_id
    device = (client_id or "").removeprefix("d:").split(":")[0]
    return device, client_id


def explain(event: dict, workspace: Path | None = None,
            trusted: list[x509.Certificate] | tuple[x509.Certificate, ...] = ()) -> Explanation:
    """Map a refusal (or TLS failure) to the failed check and its fix; lint the chain if the store has it."""
    message = str(event.get("message", ""))
    reason = re.sub(r"^(MQTT|deviceAccessToken): ", "", message)
    device, client_id = _device_name(event)
    code, fix = "unknown", ("The platform's sentence names the rule; lint the device chain on the Certificates page "
                            "for CN, order, completeness and validity.")
    for pattern, rule, rule_fix in RULES:
        if re.search(pattern, message, re.IGNORECASE):
            code, fix = rule, rule_fix
            break
    diagnosis = LintReport(device or "device", (LintFinding(Severity.ERROR, code, reason, fix),))
    if not device or workspace is None or not workspace.exists():
        return Explanation(device, reason, diagnosis, None, "No CA store to look the device certificate up in.")
    try:
        chain = certificates.device_chain(workspace, device)
    except WorkbenchError as exc:
        return Explanation(device, reason, diagnosis, None, f"The CA store could not be read: {exc.summary}")
    if not chain:
        return Explanation(device, reason, diagnosis, None,
                           f"The CA store in {workspace} holds no certificate with CN '{device}', so only the "
                           "platform's reason is shown (refusal events carry no certificate).")
    lint = lint_device_chain(chain, client_id=client_id, trusted=list(trusted))
    return Explanation(device, reason, diagnosis, lint)


class WhyDialog(QDialog):
    """The explanation, in the lint's report format, selectable and copyable."""

    def __init__(self, explanation: Explanation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explanation = explanation
        self.setWindowTitle(f"Why was {explanation.device or 'the device'} refused?")
        layout = QVBoxLayout(self)
        finding = explanation.diagnosis.findings[0]
        head = QLabel(f"<h3>{_escape(explanation.device or 'The device')} was refused</h3>"
                      f"<p><b>Failed check:</b> <code>{finding.code}</code></p>"
                      f"<p><b>The platform says:</b> {_escape(explanation.reason)}</p>"
                      f"<p><b>Likely fix:</b> {_escape(explanation.fix)}</p>")
        head.setWordWrap(True)
        layout.addWidget(head)
        self.report = QPlainTextEdit(explanation.text())
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout.addWidget(self.report, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 520)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
