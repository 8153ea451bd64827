"""The certificate wizard end to end: root, intermediate, device (live CN checks), server with SANs and a CSR, all
through the widgets; results checked in the CA store and with `openssl verify`; RSA 4096 keeps the window alive."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from workbench.core.pki.csr import build_csr
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import SubjectFields
from workbench.core.pki.store import CARecord, CAStore
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.services.ca_passwords import ca_secret_id
from workbench.services.certificates import Issued
from workbench.ui.wizards.certificate_wizard import CertificateWizard

pytestmark = pytest.mark.usefixtures("qasync_loop")
PEM = serialization.Encoding.PEM


def _wizard(qtbot: QtBot, workspace: Path, kind: str) -> CertificateWizard:
    wizard = CertificateWizard(workspace, kind)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _finish(qtbot: QtBot, wizard: CertificateWizard, timeout: int = 20_000) -> object:
    assert wizard.currentPage() is wizard.summary_page
    with qtbot.waitSignal(wizard.created, timeout=timeout) as blocker:
        wizard.accept()
    qtbot.waitUntil(lambda: wizard.task is not None and wizard.task.done())
    assert wizard.result is blocker.args[0]
    return blocker.args[0]


def _key_page(wizard: CertificateWizard, spec: KeySpec, password: str = "secret-pass") -> None:
    page = wizard.key_page
    assert page is not None and wizard.currentPage() is page
    page.key_type.setCurrentIndex(page.key_type.findData(spec))
    page.passwords.password.setText(password)
    page.passwords.confirm.setText(password)
    wizard.next()


def make_root(qtbot: QtBot, workspace: Path, cn: str = "Wizard Root CA", pathlen: int = -1,
              spec: KeySpec = KeySpec.EC_P256, screenshots: Path | None = None) -> CARecord:
    wizard = _wizard(qtbot, workspace, "root")
    fields = wizard.subject_page.fields  # type: ignore[union-attr]
    for attr, value in (("common_name", cn), ("organization", "ACME"), ("country", "PL"), ("locality", "Kraków")):
        fields[attr].setText(value)
    if screenshots:
        wizard.resize(860, 600)
        wizard.grab().save(str(screenshots / "wizard-root.png"))
    wizard.next()
    wizard.key_page.pathlen.setValue(pathlen)  # type: ignore[union-attr]
    _key_page(wizard, spec)
    if screenshots:
        wizard.resize(1000, 760)
        wizard.grab().save(str(screenshots / "wizard-summary.png"))
    record = _finish(qtbot, wizard)
    assert isinstance(record, CARecord)
    return record


def make_intermediate(qtbot: QtBot, workspace: Path, parent: str, cn: str = "Wizard Line A") -> CARecord:
    wizard = _wizard(qtbot, workspace, "intermediate")
    issuer = wizard.issuer_page
    assert issuer is not None
    issuer.parent_ca.setCurrentIndex(issuer.parent_ca.findData(parent))
    assert issuer.keyring_state.text().startswith("✓")  # the root's password was saved by its wizard
    wizard.next()
    wizard.subject_page.fields["common_name"].setText(cn)  # type: ignore[union-attr]
    wizard.next()
    assert wizard.key_page.path_length() == 0  # type: ignore[union-attr]  # the default: signs devices only
    _key_page(wizard, KeySpec.EC_P256, "inter-pass")
    record = _finish(qtbot, wizard)
    assert isinstance(record, CARecord)
    return record


def test_root_ca(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    wizard = _wizard(qtbot, workspace, "root")
    page = wizard.subject_page
    assert page is not None
    assert "unique common name" in page.fields["common_name"].toolTip()
    assert "2 letter code" in page.fields["country"].toolTip()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # the CN is required
    wizard.next()
    assert wizard.currentPage() is page
    wizard.close()
    record = make_root(qtbot, workspace, pathlen=2, screenshots=screenshot_dir)
    with CAStore(workspace) as store:
        stored = store.ca("Wizard Root CA")
    assert stored.parent is None and stored.key_encrypted
    bc = stored.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 2
    assert stored.certificate.subject == SubjectFields("Wizard Root CA", country="PL", organization="ACME",
                                                       locality="Kraków").to_name()
    assert SecretStore().get(ca_secret_id(record.name), SecretName.KEY_PASSWORD) == "secret-pass"


def test_summary_describes_extensions(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = _wizard(qtbot, tmp_path / "ws", "root")
    wizard.subject_page.fields["common_name"].setText("Summary CA")  # type: ignore[union-attr]
    wizard.next()
    page = wizard.key_page
    assert page is not None
    assert page.key_type.currentData() is KeySpec.RSA_4096  # the guide's default
    assert page.validity.value() == 7300 and page.path_length() is None
    assert "device certificate" in page.pathlen.toolTip()
    page.passwords.plaintext.setChecked(True)
    wizard.next()
    text = wizard.summary_page.view.toPlainText()
    assert "X509v3 Basic Constraints" in text and "critical" in text and "CA:true with no path length limit" in text
    assert "X509v3 Key Usage" in text and "Certificate Sign" in text and "unencrypted" in text
    assert "X509v3 Subject Key Identifier" in text and "7300 days" in text


def test_intermediate_device_and_validation(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace, out = tmp_path / "ws", tmp_path / "out"
    root = make_root(qtbot, workspace, cn="Device Test Root")
    inter = make_intermediate(qtbot, workspace, root.name)
    with CAStore(workspace) as store:
        assert store.ca(inter.name).parent == root.name
    wizard = _wizard(qtbot, workspace, "device")
    issuer = wizard.issuer_page
    assert issuer is not None
    issuer.parent_ca.setCurrentIndex(issuer.parent_ca.findData(inter.name))
    wizard.next()
    leaf = wizard.leaf_page
    assert leaf is not None and wizard.currentPage() is leaf
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    leaf.cn.setText("dev:0001")
    assert leaf.cn_problem.isVisible() and "contains ':'" in leaf.cn_problem.text()
    assert not next_button.isEnabled()
    wizard.resize(860, 640)
    wizard.grab().save(str(screenshot_dir / "wizard-device.png"))
    wizard.next()
    assert wizard.currentPage() is leaf
    leaf.cn.setText("dev-0001")
    assert not leaf.cn_problem.isVisible() and next_button.isEnabled()
    wizard.next()
    _key_page(wizard, KeySpec.EC_P256, "device-pass")
    output = wizard.output_page
    assert output is not None
    output.out_dir.setText(str(out))
    output.keystore.setCurrentIndex(output.keystore.findData("pkcs12"))
    output.keystore_password.setText("store-pass")
    trust = tmp_path / "server.pem"
    trust.write_bytes(root.certificate.public_bytes(PEM))
    output.truststore_cert.setText(str(trust))
    wizard.next()
    assert "deviceKeystore.pkcs12" in wizard.summary_page.view.toPlainText()
    issued = _finish(qtbot, wizard)
    assert isinstance(issued, Issued) and issued.record.cn == "dev-0001" and issued.record.ca == inter.name
    names = sorted(p.name for p in out.iterdir())
    assert names == ["deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem", "deviceKeystore.pkcs12",
                     "deviceTruststore.pkcs12"]
    assert b"ENCRYPTED" in (out / "deviceKey.pem").read_bytes()
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(PEM))
    (tmp_path / "inter.pem").write_bytes(inter.certificate.public_bytes(PEM))
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
                             str(tmp_path / "inter.pem"), str(out / "deviceCert.pem")],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    with CAStore(workspace) as store:
        assert [r.cn for r in store.search("dev-0001")] == ["dev-0001"]

    again = _wizard(qtbot, workspace, "device")
    again.issuer_page.parent_ca.setCurrentIndex(again.issuer_page.parent_ca.findData(root.name))  # type: ignore[union-attr]
    again.next()
    again.leaf_page.cn.setText("dev-0001")  # type: ignore[union-attr]
    assert "already issued by CA" in again.leaf_page.cn_problem.text()  # type: ignore[union-attr]
    assert not again.button(QWizard.WizardButton.NextButton).isEnabled()
    again.next()
    assert again.currentPage() is again.leaf_page


def test_wrong_parent_password_is_reported(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    root = make_root(qtbot, workspace, cn="Password Root")
    wizard = _wizard(qtbot, workspace, "intermediate")
    issuer = wizard.issuer_page
    assert issuer is not None
    issuer.parent_password.setText("wrong")
    wizard.next()
    assert wizard.currentPage() is issuer
    assert f"Could not unlock the key of CA '{root.name}'" in issuer.problem.text()
    assert "Traceback" not in issuer.problem.text()


def test_server_certificate_with_sans(qtbot: QtBot, tmp_path: Path) -> None:
    workspace, out = tmp_path / "ws", tmp_path / "server"
    make_root(qtbot, workspace, cn="Server Root")
    wizard = _wizard(qtbot, workspace, "server")
    wizard.next()
    leaf = wizard.leaf_page
    assert leaf is not None
    leaf.cn.setText("mqtt.example.com")
    leaf.dns_names.setPlainText("mqtt.example.com\nlocalhost\n")
    leaf.ip_addresses.setPlainText("999.1.1.1")
    assert "is not an IP address" in leaf.cn_problem.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    leaf.ip_addresses.setPlainText("127.0.0.1\n::1")
    wizard.next()
    _key_page(wizard, KeySpec.EC_P256)
    wizard.output_page.out_dir.setText(str(out))  # type: ignore[union-attr]
    wizard.next()
    assert "X509v3 Subject Alternative Name" in wizard.summary_page.view.toPlainText()
    issued = _finish(qtbot, wizard)
    assert isinstance(issued, Issued)
    cert = x509.load_pem_x509_certificate((out / "serverCert.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mqtt.example.com", "localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    with CAStore(workspace) as store:
        assert store.certificates()[-1].kind == "server"


def test_sign_external_csr(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    root = make_root(qtbot, workspace, cn="CSR Root")
    key = ec.generate_private_key(ec.SECP256R1())
    csr_path = tmp_path / "request.csr"
    csr_path.write_bytes(build_csr(SubjectFields("csr-device-7", organization="ACME").to_name(), key)
                         .public_bytes(PEM))
    wizard = _wizard(qtbot, workspace, "csr")
    wizard.next()
    page = wizard.csr_page
    assert page is not None
    page.csr_file.setText(str(tmp_path / "missing.csr"))
    assert "Cannot read the CSR" in page.problem.text()
    page.csr_file.setText(str(csr_path))
    assert "CN=csr-device-7" in page.csr_subject.text() and not page.problem.isVisible()
    assert page.out_file.text() == str(tmp_path / "request-cert.pem")
    wizard.next()
    assert "Signed by" in wizard.summary_page.view.toPlainText()
    issued = _finish(qtbot, wizard)
    assert isinstance(issued, Issued) and issued.record.cn == "csr-device-7" and issued.record.ca == root.name
    cert = x509.load_pem_x509_certificate((tmp_path / "request-cert.pem").read_bytes())
    assert cert.public_key() == key.public_key()


def test_rsa4096_generation_keeps_the_window_responsive(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = _wizard(qtbot, tmp_path / "ws", "root")
    wizard.subject_page.fields["common_name"].setText("Big RSA Root")  # type: ignore[union-attr]
    wizard.next()
    _key_page(wizard, KeySpec.RSA_4096)
    ticks = {"all": 0, "busy": 0}

    def tick() -> None:
        ticks["all"] += 1
        ticks["busy"] += int(wizard.summary_page.busy.isVisible())

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    record = _finish(qtbot, wizard, timeout=30_000)
    timer.stop()
    assert isinstance(record, CARecord) and record.certificate.public_key().key_size == 4096  # type: ignore[union-attr]
    assert ticks["busy"] >= 3, ticks  # the GUI thread kept running its timers during the generation
    assert not wizard.summary_page.busy.isVisible()


def test_unknown_kind_is_refused(qtbot: QtBot, tmp_path: Path) -> None:
    from workbench.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        CertificateWizard(tmp_path, "bogus")
    assert asyncio.get_event_loop() is not None


@pytest.mark.parametrize("kind", ["root", "intermediate", "device", "server", "csr"])
def test_pages_share_the_label_column_and_name_their_buttons(qtbot: QtBot, tmp_path: Path, kind: str) -> None:
    """Every page's labels have one width (fields do not jump from page to page) and a header that says "press X"
    names a button the wizard really shows ("Create", not "Finish")."""
    import re

    from PySide6.QtWidgets import QFormLayout, QLabel

    from workbench.ui.wizards.form_kit import LABEL_WIDTH

    wizard = _wizard(qtbot, tmp_path / "ws", kind)
    buttons = {wizard.buttonText(b).replace("&", "") for b in (
        QWizard.WizardButton.NextButton, QWizard.WizardButton.BackButton, QWizard.WizardButton.FinishButton,
        QWizard.WizardButton.CancelButton)}
    assert wizard.buttonText(QWizard.WizardButton.FinishButton) == ("Sign" if kind == "csr" else "Create")
    wizard.summary_page.initializePage()
    for page_id in wizard.pageIds():
        page = wizard.page(page_id)
        for pressed in re.findall(r"press (\w+)", page.subTitle()):
            assert pressed in buttons, (page.title(), page.subTitle(), buttons)
        for form in page.findChildren(QFormLayout):
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                label = item.widget() if item is not None else None
                if isinstance(label, QLabel) and label.text():
                    assert label.minimumWidth() == label.maximumWidth() == LABEL_WIDTH, (page.title(), label.text())
                    assert label.fontMetrics().horizontalAdvance(label.text()) <= LABEL_WIDTH, label.text()
    assert ("press Sign" if kind == "csr" else "press Create") in wizard.summary_page.subTitle()


def test_fields_start_at_the_same_x_on_every_page(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QFormLayout

    wizard = _wizard(qtbot, tmp_path / "ws", "root")
    wizard.resize(860, 720)
    starts = []
    wizard.subject_page.fields["common_name"].setText("Column CA")  # type: ignore[union-attr]
    for page in (wizard.subject_page, wizard.key_page):
        assert wizard.currentPage() is page
        qtbot.waitUntil(lambda p=page: p.isVisible())
        form = page.findChildren(QFormLayout)[0]
        form.activate()
        field = form.itemAt(0, QFormLayout.ItemRole.FieldRole).widget()
        starts.append(field.mapTo(page, field.rect().topLeft()).x())
        wizard.next()
    assert starts[0] == starts[1], starts
