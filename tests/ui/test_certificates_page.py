"""The Certificates page shows the CA store as a tree (root → intermediate → issued) with status colours, finds a
certificate by CN or serial, and shows every field of the selected one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from workbench.core.keystore.codec import build_device_keystore
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, server_profile
from workbench.core.pki.store import CAStore
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import WorkbenchError
from workbench.services.ca_passwords import ca_secret_id
from workbench.ui.certificates import store_actions
from workbench.ui.certificates.page import CertificatesPage


def test_tree_search_and_details(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        root = store.init_root(parse_dn("CN=Tree Root CA"), b"pw", key_spec=KeySpec.EC_P256)
        inter = store.create_intermediate(root.name, b"pw", parse_dn("CN=Tree Issuing CA"), b"pw",
                                          key_spec=KeySpec.EC_P256)
        for cn in ("tree-dev-1", "tree-dev-2"):
            key = KeySpec.EC_P256.generate()
            issued = store.issue(inter.name, b"pw", parse_dn(f"CN={cn}"), key.public_key(), device_profile())
        store.revoke(inter.name, issued.serial)
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    top = page.tree.topLevelItem(0)
    assert page.tree.topLevelItemCount() == 1 and top.text(0) == root.name and top.text(1) == "valid"
    issuing = top.child(0)
    assert top.childCount() == 1  # the intermediate shows once, as a CA, not again as an issued certificate
    assert issuing.text(0) == inter.name and issuing.childCount() == 2
    assert page.message.text().startswith("2 CA(s), 2 issued certificate(s)")
    assert [issuing.child(i).text(1) for i in range(2)] == ["valid", "revoked"]
    page.tree.setCurrentItem(issuing.child(0))
    assert "Subject: CN = tree-dev-1" in page.details.text.toPlainText()
    page.grab().save(str(screenshot_dir / "certificates-page.png"))
    page.search.setText("dev-2")
    assert page.tree.topLevelItem(0).child(0).childCount() == 1
    assert "matching 'dev-2'" in page.message.text()
    page.search.setText(format(issued.serial, "X"))
    assert page.tree.topLevelItem(0).child(0).child(0).text(0) == "tree-dev-2"


def _store_with_devices(workspace: Path) -> tuple[str, str, list]:
    with CAStore(workspace) as store:
        root = store.init_root(parse_dn("CN=Tools Root CA"), b"pw", key_spec=KeySpec.EC_P256)
        inter = store.create_intermediate(root.name, b"pw", parse_dn("CN=Tools Issuing CA"), b"pw",
                                          key_spec=KeySpec.EC_P256)
        issued = []
        for cn, profile in (("tools-dev-1", device_profile()), ("tools-server", server_profile())):
            key = KeySpec.EC_P256.generate()
            issued.append((store.issue(inter.name, b"pw", parse_dn(f"CN={cn}"), key.public_key(), profile), key))
    SecretStore().set(ca_secret_id(root.name), SecretName.KEY_PASSWORD, "pw")
    SecretStore().set(ca_secret_id(inter.name), SecretName.KEY_PASSWORD, "pw")
    return root.name, inter.name, issued


def test_details_lint_and_dropped_files(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    _root, inter, issued = _store_with_devices(workspace)
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.resize(1250, 760)
    page.show()
    assert page.select_name("tools-dev-1")
    assert page.details.tabText(1) == "Lint ✓"
    fields = [page.details.fields.topLevelItem(i).text(0) for i in range(page.details.fields.topLevelItemCount())]
    assert {"Serial number", "SHA-1 fingerprint", "SHA-256 fingerprint", "X.509v3 extensions"} <= set(fields)
    assert page.details.pem.toPlainText().count("BEGIN CERTIFICATE") == 3  # leaf, intermediate, root
    assert page.select_name("tools-server")  # a server certificate used as a device's: no clientAuth
    assert page.details.tabText(1).startswith("Lint ✗")
    assert "without clientAuth" in page.details.lint.text() and "fix:" in page.details.lint.text()
    page.details.setCurrentIndex(1)
    page.grab().save(str(screenshot_dir / "certificates-lint.png"))

    # A PKCS#12 keystore dropped on the page: its password is asked, its certificates listed under "Opened files".
    record, key = issued[0]
    with CAStore(workspace) as store:
        chain = store.chain(inter)
    p12 = tmp_path / "device.p12"
    p12.write_bytes(build_device_keystore(key, [record.certificate, *chain], b"store-pw", "pkcs12"))
    assert not page.inspect_file(p12, "wrong")
    assert "password" in page.message.text().lower()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p12))])
    page.toolbar.ask_password = lambda _label: "store-pw"  # the prompt a drop opens
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    page.dropEvent(drop)
    node = page.opened.child(0)
    assert node.text(0) == "device.p12" and node.childCount() == 3
    assert page.selected()[1][0] == "file" and page.details.tabText(1) == "Lint ✓"
    page.search.setText("tools")  # a refresh keeps what was opened
    assert page.opened.treeWidget() is page.tree
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello")
    assert not page.inspect_file(garbage)
    assert "not a PEM or DER certificate" in page.message.text()


def test_chain_tools_revoke_crl_and_export(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    root, inter, issued = _store_with_devices(workspace)
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    record = issued[0][0]
    with CAStore(workspace) as store:
        inter_cert, root_cert = store.chain(inter)
    shuffled = tmp_path / "shuffled.pem"
    shuffled.write_bytes(dump_certificates_pem([inter_cert, record.certificate]))  # wrong order, no root
    ordered = store_actions.order_file(workspace, shuffled, tmp_path / "ordered.pem")
    assert "tools-dev-1 → Tools Issuing CA → Tools Root CA" in ordered.message
    leaf_first = tmp_path / "leaf-first.pem"
    leaf_first.write_bytes(dump_certificates_pem([record.certificate, inter_cert]))
    assert store_actions.verify_file(workspace, leaf_first).ok
    root_file = tmp_path / "root.pem"
    root_file.write_bytes(dump_certificates_pem([root_cert]))
    subprocess.run(["openssl", "verify", "-CAfile", str(root_file), "-untrusted", str(tmp_path / "ordered.pem"),
                    str(tmp_path / "ordered.pem")], check=True, capture_output=True)
    built = store_actions.build_from_store(workspace, record.certificate, tmp_path / "built.pem")
    assert (tmp_path / "built.pem").read_bytes() == (tmp_path / "ordered.pem").read_bytes() and built.path

    page.select_name("tools-dev-1")
    assert page.toolbar.revoke.isEnabled() and not page.toolbar.crl.isEnabled()
    page.show_outcome(store_actions.revoke(workspace, inter, record.serial, "keyCompromise"))
    assert "Revoked 'tools-dev-1'" in page.message.text()
    assert page.tree.currentItem().text(1) == "revoked"
    page.select_name(inter)
    assert page.toolbar.crl.isEnabled() and page.toolbar.export.isEnabled()
    crl = store_actions.write_crl(workspace, inter, lambda _name: None, tmp_path / "inter.crl.pem")
    assert "lists 1 revoked" in crl.message
    text = subprocess.run(["openssl", "crl", "-in", str(crl.path), "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout
    assert f"Serial Number: {record.serial:X}" in text.upper().replace("SERIAL NUMBER", "Serial Number")
    exported = store_actions.export_layout(workspace, root, lambda _name: None, tmp_path / "out" / "caCertificate")
    assert (exported.path / "database.txt").exists() and (exported.path / "crl" / "crlnumber").exists()
    with pytest.raises(WorkbenchError, match="not empty"):
        store_actions.export_layout(workspace, root, lambda _name: None, exported.path)


def test_ca_password_is_asked_when_the_keyring_has_none(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        ca = store.init_root(parse_dn("CN=Asked CA"), b"typed", key_spec=KeySpec.EC_P256)
    asked: list[str] = []
    with pytest.raises(WorkbenchError, match="No password"):
        store_actions.write_crl(workspace, ca.name, lambda name: asked.append(name), tmp_path / "a.crl")
    out = store_actions.write_crl(workspace, ca.name, lambda _name: "typed", tmp_path / "a.crl")
    assert asked == [ca.name] and out.path.exists()
    assert SecretStore().get(ca_secret_id(ca.name), SecretName.KEY_PASSWORD) == "typed"  # remembered


def test_new_menu_opens_the_wizard_and_the_tree_shows_what_it_created(qtbot: QtBot, tmp_path: Path,
                                                                        qasync_loop: object) -> None:
    workspace = tmp_path / "ws"
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.show()
    assert [a.text() for a in page.toolbar.new.menu().actions()] == [
        "Root CA…", "Intermediate CA…", "Device certificate…", "Server certificate…", "Sign a CSR…"]
    page.toolbar.new.menu().actions()[0].trigger()
    wizard = page.wizard
    assert wizard.isVisible()
    wizard.subject_page.fields["common_name"].setText("Menu Root CA")
    wizard.next()
    page_ = wizard.key_page
    page_.key_type.setCurrentIndex(page_.key_type.findData(KeySpec.EC_P256))
    page_.passwords.password.setText("menu-pass")
    page_.passwords.confirm.setText("menu-pass")
    wizard.next()
    with qtbot.waitSignal(wizard.created, timeout=20_000):
        wizard.accept()
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 1)
    assert page.tree.topLevelItem(0).text(0) == "Menu Root CA"
    page.toolbar.fleet.click()
    assert page.fleet_dialog.isVisible()
    page.fleet_dialog.close()


def test_a_new_ca_is_selected_and_the_device_wizard_uses_the_selected_ca(qtbot: QtBot, tmp_path: Path,
                                                                        qasync_loop: object) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        for cn in ("First CA", "Second CA", "Third CA"):
            record = store.init_root(parse_dn(f"CN={cn}"), b"pw", key_spec=KeySpec.EC_P256)
            SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "pw")
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.show()
    assert page.select_name("Second CA")
    page.toolbar.new.menu().actions()[2].trigger()  # Device certificate…
    assert page.wizard.issuer_page.ca_name() == "Second CA"
    page.wizard.close()
    page.toolbar.new.menu().actions()[0].trigger()  # Root CA…
    wizard = page.wizard
    wizard.subject_page.fields["common_name"].setText("Brand New CA")
    wizard.next()
    wizard.key_page.key_type.setCurrentIndex(wizard.key_page.key_type.findData(KeySpec.EC_P256))
    wizard.key_page.passwords.password.setText("new-pass")
    wizard.key_page.passwords.confirm.setText("new-pass")
    wizard.next()
    with qtbot.waitSignal(wizard.created, timeout=20_000):
        wizard.accept()
    _cert, what = page.selected()
    assert tuple(what) == ("ca", "Brand New CA")
    assert page.tree.currentItem().text(0) == "Brand New CA"


def test_extension_names_are_whole_and_their_values_on_the_same_row(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    _store_with_devices(workspace)
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.resize(1250, 760)
    page.show()
    assert page.select_name("tools-dev-1")
    fields = page.details.fields
    extensions = next(fields.topLevelItem(i) for i in range(fields.topLevelItemCount())
                      if fields.topLevelItem(i).text(0) == "X.509v3 extensions")
    assert extensions.childCount() >= 4
    metrics = fields.fontMetrics()
    for i in range(extensions.childCount()):
        ext = extensions.child(i)
        assert ext.childCount() == 0 and ext.text(1).strip(), ext.text(0)  # the value sits on the name's row
        needed = metrics.horizontalAdvance(ext.text(0)) + 2 * fields.indentation()
        assert fields.columnWidth(0) >= needed, (ext.text(0), fields.columnWidth(0), needed)
    names = {extensions.child(i).text(0): extensions.child(i).text(1) for i in range(extensions.childCount())}
    assert any("Authority Key Identifier" in n or "Key Usage" in n for n in names)
