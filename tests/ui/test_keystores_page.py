"""The Keystores page edits real stores: open PKCS#12 and JKS, add, rename, delete, change passwords, convert, with
undo and redo; saves atomically; and what it writes is read back by the machine's keytool and openssl."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.interop.keytool_helpers import entries, keytool_list
from tests.support.certs import Pki, make_pki
from workbench.core.keystore.codec import build_device_keystore, build_truststore
from workbench.core.keystore.model import StoreKind
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.store import CAStore
from workbench.ui.keystore_editor.page import KeystoresPage

PEM = serialization.Encoding.PEM


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def _page(qtbot: QtBot, tmp_path: Path) -> KeystoresPage:
    page = KeystoresPage(tmp_path / "ws")
    qtbot.addWidget(page)
    page.resize(1250, 720)
    page.show()
    return page


def _aliases(page: KeystoresPage) -> list[str]:
    return [page.table.item(r, 0).text() for r in range(page.table.rowCount())]


def _keytool(path: Path, password: str, storetype: str) -> dict[str, dict[str, str]]:
    done = subprocess.run(keytool_list(path, password, storetype), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return entries(done.stdout)


def test_edit_undo_redo_save_and_keytool_reads_it(qtbot: QtBot, tmp_path: Path, pki: Pki,
                                                  screenshot_dir: Path) -> None:
    device = pki.device_ec
    store = tmp_path / "device.p12"
    store.write_bytes(build_device_keystore(device.key, [device.cert, pki.intermediate.cert, pki.root.cert],
                                            b"store-pw", "pkcs12"))
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(pki.root.cert.public_bytes(PEM))
    page = _page(qtbot, tmp_path)
    assert not page.open_file(store, "wrong-password")
    assert "password" in page.message.text().lower() and page.state is None
    assert page.open_file(store, "store-pw")
    assert _aliases(page) == ["devicekeyentry"] and page.table.item(0, 4).text() == "3"
    assert page.table.item(0, 2).text() == "EC P-256" and not page.has_unsaved_changes()
    assert page.import_trusted(root_pem, "rootca")
    assert "keytool -importcert -noprompt -alias rootca" in page.keytool.toPlainText()
    assert page.rename("devicekeyentry", "device")
    assert page.title.text().startswith("<b>device.p12 *</b>") and page.has_unsaved_changes()
    page.table.selectRow(0)
    page.grab().save(str(screenshot_dir / "keystores-page.png"))
    assert page.delete("rootca") and _aliases(page) == ["device"]
    page.undo.undo()
    assert _aliases(page) == ["device", "rootca"]
    page.undo.undo()
    assert _aliases(page) == ["devicekeyentry", "rootca"]
    page.undo.redo()
    assert _aliases(page) == ["device", "rootca"]
    assert not page.change_store_password("short")
    assert page.change_store_password("new-store-pw")
    assert page.save()
    assert not page.has_unsaved_changes() and (tmp_path / "device.p12.bak").exists()
    listing = _keytool(store, "new-store-pw", "PKCS12")
    assert listing == {"device": {"type": "PrivateKeyEntry", "chain": "3"},
                       "rootca": {"type": "trustedCertEntry"}}
    subprocess.run(["openssl", "pkcs12", "-in", str(store), "-info", "-nokeys", "-passin", "pass:new-store-pw"],
                   check=True, capture_output=True)

    # convert to JKS: Save writes device.jks beside the PKCS#12 file, which stays as it was
    assert page.convert(StoreKind.JKS)
    assert "-deststoretype JKS" in page.keytool.toPlainText()
    assert page.save()
    assert _keytool(tmp_path / "device.jks", "new-store-pw", "JKS")["device"]["chain"] == "3"
    assert page.change_key_password("device", "own-key-pw") and page.save()
    jks = page.state
    assert jks is not None and jks.path == (tmp_path / "device.jks").resolve()
    exported = tmp_path / "device-key.pem"
    assert page.export("device", "key", exported, "export-pw")
    assert b"ENCRYPTED PRIVATE KEY" in exported.read_bytes() and exported.stat().st_mode & 0o077 == 0
    assert "openssl pkcs12 -in tmp.p12 -nocerts" in page.keytool.toPlainText()


def test_new_store_key_pair_files_ca_from_store_and_device_stores(qtbot: QtBot, tmp_path: Path, pki: Pki) -> None:
    page = _page(qtbot, tmp_path)
    page.new_store(StoreKind.PKCS12)
    device = pki.device_rsa
    cert = tmp_path / "chain.pem"
    cert.write_bytes(b"".join(c.public_bytes(PEM) for c in (pki.root.cert, device.cert, pki.intermediate.cert)))
    key = tmp_path / "key.pem"
    key.write_bytes(device.key_pem(b"key-pw"))
    assert not page.add_key_pair_from_files(cert, key, "wrong", "dev")
    assert "password" in page.message.text().lower()
    assert page.add_key_pair_from_files(cert, key, "key-pw", "dev")
    assert page.table.item(0, 4).text() == "3"  # the chain was put in order
    with CAStore(tmp_path / "ws") as store:
        ca = store.init_root(parse_dn("CN=Editor CA"), b"ca-pw", key_spec=KeySpec.EC_P256)
    assert page.add_ca_key_pair(ca.name, "cakey", lambda _name: "ca-pw")
    assert _aliases(page) == ["dev", "cakey"]
    assert not page.save(tmp_path / "new.p12")  # no store password yet
    assert "no password" in page.message.text()
    assert page.change_store_password("store-pw") and page.save(tmp_path / "new.p12")
    server_ca = tmp_path / "server-ca.pem"
    server_ca.write_bytes(pki.root.cert.public_bytes(PEM))
    made = page.create_device_stores("dev", tmp_path / "out", server_ca, "device-pw", "jks")
    assert made is not None
    keystore, truststore = made
    assert _keytool(keystore, "device-pw", "JKS") == {"devicekeyentry": {"type": "PrivateKeyEntry", "chain": "3"}}
    assert _keytool(truststore, "device-pw", "JKS") == {"servercertificate": {"type": "trustedCertEntry"}}
    assert keystore.stat().st_mode & 0o077 == 0


def test_drop_fetch_and_unsaved_prompt(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path,
                                       pki: Pki) -> None:
    trust = tmp_path / "truststore.jks"
    trust.write_bytes(build_truststore([pki.root.cert], b"trust-pw", "jks"))
    page = _page(qtbot, tmp_path)
    page.toolbar.ask_password = lambda _label: "trust-pw"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(trust))])
    page.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier))
    assert page.state is not None and page.state.store.kind is StoreKind.JKS and len(page.state.store) == 1
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        task = page.fetch_trusted("127.0.0.1", lp.ports["mqtts"], "localhost", "LocalPlatform")
        qtbot.waitUntil(task.done, timeout=10_000)
    assert page.message.text().startswith("✓ Trust 'LocalPlatform'"), page.message.text()
    assert _aliases(page) == [page.state.store.aliases[0], "localplatform"]  # JKS lower-cases aliases
    assert "lower case" in page.message.text() and "-servername localhost" in page.keytool.toPlainText()
    page.toolbar.ask_unsaved = lambda: QMessageBox.StandardButton.Cancel
    assert not page.maybe_close() and page.has_unsaved_changes()
    page.toolbar.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
    assert page.maybe_close()
    garbage = tmp_path / "notes.p12"
    garbage.write_text("not a keystore")
    page.undo.clear()
    assert not page.open_file(garbage, "x")
    assert "notes.p12" in page.message.text()


def test_action_dialogs(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    """The forms behind the buttons have their fields and defaults (the guide's aliases)."""
    from workbench.ui.keystore_editor import dialogs

    pair = dialogs.KeyPairFromFiles()
    fetch = dialogs.FetchFromServer()
    device = dialogs.DeviceStores("dev", tmp_path / "server-ca.pem")
    for form in (pair, fetch, device):
        qtbot.addWidget(form)
    assert pair.alias.text() == "devicekeyentry" and fetch.port.value() == 8883
    assert device.server_ca.text().endswith("server-ca.pem") and device.kind.currentData() == "pkcs12"
    device.folder.setText(str(tmp_path / "out"))
    device.show()
    device.grab().save(str(screenshot_dir / "keystores-device-stores.png"))


def test_open_filter_shows_the_extensions_the_app_writes() -> None:
    """The Open dialog's filter shows every keystore name the wizard, onboarding and the demo set write."""
    import fnmatch

    from workbench.services.device_bundle import DEVICE, ONBOARDING, SERVER
    from workbench.ui.keystore_editor.toolbar import STORE_FILES

    patterns = STORE_FILES.split(";;")[0].partition("(")[2].rstrip(")").split()
    written = [naming.keystore(kind) for naming in (DEVICE, SERVER, ONBOARDING) for kind in ("pkcs12", "jks")]
    written += [naming.truststore(kind) for naming in (DEVICE, ONBOARDING) for kind in ("pkcs12", "jks")]
    assert "deviceKeystore.pkcs12" in written
    for name in written:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), (name, patterns)


def test_garbage_is_refused_before_a_password_and_a_wrong_one_is_named(qtbot: QtBot, tmp_path: Path,
                                                                        pki: Pki) -> None:
    page = _page(qtbot, tmp_path)
    asked: list[str] = []

    def ask(label: str) -> str | None:
        asked.append(label)
        return None

    page.toolbar.ask_password = ask
    garbage = tmp_path / "notes.p12"
    garbage.write_text("not a keystore, just notes")
    assert not page.open_file(garbage)
    assert asked == [] and "not a keystore" in page.message.text()
    store = tmp_path / "device.pkcs12"
    store.write_bytes(build_device_keystore(pki.device_ec.key, [pki.device_ec.cert, pki.intermediate.cert,
                                                                pki.root.cert], b"store-pw", "pkcs12"))
    answers = iter(["wrong-pw", "store-pw"])

    def ask_twice(label: str) -> str | None:
        asked.append(label)
        return next(answers)

    page.toolbar.ask_password = ask_twice
    assert page.open_file(store)
    assert len(asked) == 2 and "wrong" not in asked[0].lower()
    assert asked[1].startswith("The password was wrong; try again.") and "device.pkcs12" in asked[1]
    assert "1 entry" in page.title.text() and "1 entries" not in page.title.text()
    assert "1 entry." in page.message.text() and "entries" not in page.message.text()


def test_double_click_shows_the_entry_details(qtbot: QtBot, tmp_path: Path, pki: Pki) -> None:
    """Like KeyStore Explorer: the chain, every field and the fingerprints of the entry's certificates."""
    from cryptography.hazmat.primitives import hashes

    store = tmp_path / "device.p12"
    chain = [pki.device_ec.cert, pki.intermediate.cert, pki.root.cert]
    store.write_bytes(build_device_keystore(pki.device_ec.key, chain, b"store-pw", "pkcs12"))
    page = _page(qtbot, tmp_path)
    assert page.open_file(store, "store-pw")
    item = page.table.item(0, 2)
    assert item is not None
    page.table.itemDoubleClicked.emit(item)
    dialog = page.entry_details
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)
    assert "PrivateKeyEntry" in dialog.summary.text() and "chain of 3" in dialog.summary.text()
    fields = {dialog.details.fields.topLevelItem(i).text(0): dialog.details.fields.topLevelItem(i).text(1)
              for i in range(dialog.details.fields.topLevelItemCount())}
    assert fields["SHA-256 fingerprint"].replace(":", "").lower() == pki.device_ec.cert.fingerprint(
        hashes.SHA256()).hex()
    assert "Subject" in fields and "X.509v3 extensions" in fields
    root_item = dialog.chain_view.topLevelItem(0).child(0).child(0)
    dialog.chain_view.setCurrentItem(root_item)
    fields = {dialog.details.fields.topLevelItem(i).text(0): dialog.details.fields.topLevelItem(i).text(1)
              for i in range(dialog.details.fields.topLevelItemCount())}
    assert fields["SHA-1 fingerprint"].replace(":", "").lower() == pki.root.cert.fingerprint(hashes.SHA1()).hex()
    dialog.close()


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _openssl_pem_bundle(folder: Path, name: str, seal: tuple[str, ...] = ()) -> Path:
    """A key written by openssl (sealed by ``seal``'s options, or plain) and its self-signed certificate, one file."""
    key, cert, bundle = folder / f"{name}-key.pem", folder / f"{name}-cert.pem", folder / f"{name}.pem"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    _openssl("req", "-x509", "-key", str(key), "-subj", f"/CN={name}", "-days", "2", "-out", str(cert))
    if seal:
        sealed = folder / f"{name}-sealed-key.pem"
        _openssl("pkey", "-in", str(key), "-out", str(sealed), *seal)
        key = sealed
    bundle.write_bytes(key.read_bytes() + cert.read_bytes())
    return bundle


def test_a_pem_bundle_asks_a_password_only_when_its_key_is_encrypted(qtbot: QtBot, tmp_path: Path) -> None:
    page = _page(qtbot, tmp_path)
    asked: list[str] = []

    def ask(label: str) -> str | None:
        asked.append(label)
        return "pem-pass-1"

    page.toolbar.ask_password = ask
    plain = _openssl_pem_bundle(tmp_path, "plain")
    assert b"ENCRYPTED" not in plain.read_bytes()
    assert page.open_file(plain), page.message.text()
    assert asked == [] and _aliases(page) == ["devicekeyentry"]
    (tmp_path / "pw.txt").write_text("pem-pass-1\n")
    for name, seal in (("pkcs8", ("-aes256", "-passout", f"file:{tmp_path / 'pw.txt'}")),
                       ("traditional", ("-traditional", "-aes256", "-passout", f"file:{tmp_path / 'pw.txt'}"))):
        asked.clear()
        sealed = _openssl_pem_bundle(tmp_path, name, seal)
        assert b"ENCRYPTED" in sealed.read_bytes()
        assert page.open_file(sealed), page.message.text()
        assert len(asked) == 1 and sealed.name in asked[0], (name, asked)
        assert _aliases(page) == ["devicekeyentry"]
