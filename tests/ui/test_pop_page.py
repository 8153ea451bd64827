"""The Proof of Possession page: fetch a code from the local platform, sign it with a CA from the store (password
from the keyring), check it, upload it, and watch Incomplete become Complete; a key file signs too."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.store import CAStore
from workbench.core.platform_client import requests as api
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.core.tls import server_context, trust_from_pem
from workbench.services.ca_passwords import ca_secret_id
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.platform_http import PlatformCredentials, PlatformHttp, tenant_secret_id
from workbench.ui.pop.page import PopPage


@pytest.fixture
def info() -> Iterator[LocalPlatformInfo]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        yield LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


def _upload(qtbot: QtBot, loop: asyncio.AbstractEventLoop, info: LocalPlatformInfo, cert: x509.Certificate,
            name: str) -> None:
    """Upload a CA to t100 as the admin, on the qasync loop."""

    async def upload() -> None:
        async with PlatformHttp(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                                trust=server_context(trust_from_pem(info.server_ca.read_bytes()))) as http:
            await http.trusted_certificate_call(api.upload_trusted_certificate("t100", cert, name))

    task = loop.create_task(upload())
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.exception() is None


def test_fetch_sign_verify_upload(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, info: LocalPlatformInfo,
                                  tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        record = store.init_root(parse_dn("CN=PoP Page CA"), b"ca-pass", key_spec=KeySpec.EC_P256)
    SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "ca-pass")

    _upload(qtbot, qasync_loop, info, record.certificate, "PoP CA")
    page = PopPage(workspace)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.set_local_platform(info)
    page.ca.setCurrentIndex(page.ca.findData(record.name))
    page.fetch()
    qtbot.waitUntil(lambda: len(page.code.toPlainText()) == 136, timeout=10_000)
    assert "Incomplete" in page.state.text()
    signature = page.sign()
    assert signature is not None and "✓ verifies against the CA certificate" in page.result.toPlainText()
    page.upload()
    qtbot.waitUntil(lambda: page.state.text() == "Proof of possession: Complete", timeout=10_000)
    page.grab().save(str(screenshot_dir / "pop-page.png"))


def test_key_file_signs_like_openssl(qtbot: QtBot, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "ca.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    page = PopPage(tmp_path / "empty-ws")
    qtbot.addWidget(page)
    page.key_file.setText(str(path))
    page.code.setPlainText("  abcDEF123+/=  \n")  # pasted with spaces and a newline: only the code is signed
    signature = page.sign()
    assert signature is not None
    openssl = subprocess.run(f"printf 'abcDEF123+/=' | openssl dgst -sha256 -sign {path} | openssl base64 -A",
                             shell=True, capture_output=True, text=True, check=True).stdout.strip()
    assert signature.signature_b64 == openssl  # RSA PKCS#1 v1.5 is deterministic
    assert base64.b64decode(signature.signature_b64)
    page.key_file.setText(str(tmp_path / "missing.key"))
    assert page.sign() is None and "Cannot read the key file" in page.state.text()


def test_a_tenant_target_fetches_uploads_and_keeps_its_password(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                                info: LocalPlatformInfo, tmp_path: Path) -> None:
    """The tenant path (URL, t100/admin, password, server CA) against the local platform standing in for a tenant."""
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        record = store.init_root(parse_dn("CN=Tenant PoP CA"), b"ca-pass", key_spec=KeySpec.EC_P256)
    SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "ca-pass")
    page = PopPage(workspace)
    qtbot.addWidget(page)
    page.target.kind.setCurrentIndex(1)
    page.target.url.setText(info.rest_url)
    page.target.user.setText("t100/admin")
    page.target.password.setText("wrong")
    page.target.server_ca.setText(str(info.server_ca))
    page.ca.setCurrentIndex(page.ca.findData(record.name))
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert "t100/admin" in page.state.text() and "401" in page.state.text()
    slot = tenant_secret_id(info.rest_url, "t100/admin")
    assert SecretStore().get(slot, SecretName.PLATFORM_PASSWORD) is None  # a refused password is not kept

    _upload(qtbot, qasync_loop, info, record.certificate, "T CA")
    page.target.password.setText(info.admin_password)
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert len(page.code.toPlainText()) == 136
    assert SecretStore().get(slot, SecretName.PLATFORM_PASSWORD) == info.admin_password
    assert page.sign() is not None
    qtbot.waitUntil(page.upload().done, timeout=10_000)
    assert page.state.text() == "Proof of possession: Complete"


def test_verification_certificate_tab(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        record = store.init_root(parse_dn("CN=AWS Style CA"), b"ca-pass", key_spec=KeySpec.EC_P256)
    SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "ca-pass")
    page = PopPage(workspace)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.tabs.setCurrentIndex(1)
    tab = page.verification
    tab.code.setText("x" * 65)
    assert tab.create() is None and "at most 64" in tab.state.text()
    code = "0123456789abcdef" * 4  # an AWS registration code: 64 hex characters
    tab.code.setText(code)
    cert = tab.create()
    assert cert is not None and f"CN={code}" in tab.result.toPlainText()
    out = tab.save(tmp_path / "verificationCert.pem")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(record.certificate.public_bytes(serialization.Encoding.PEM))
    subject = subprocess.run(["openssl", "x509", "-in", str(out), "-noout", "-subject"], capture_output=True,
                             text=True, check=True).stdout
    assert code in subject
    subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(out)], check=True, capture_output=True)
    page.grab().save(str(screenshot_dir / "pop-verification-certificate.png"))


def test_a_failed_fetch_clears_the_previous_code(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                 info: LocalPlatformInfo, tmp_path: Path) -> None:
    """A 404 (the CA was never uploaded) must not leave the previous CA's code to be signed with the wrong key."""
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        first = store.init_root(parse_dn("CN=Uploaded CA"), b"ca-pass", key_spec=KeySpec.EC_P256)
        second = store.init_root(parse_dn("CN=Never Uploaded CA"), b"ca-pass", key_spec=KeySpec.EC_P256)
    for record in (first, second):
        SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "ca-pass")
    _upload(qtbot, qasync_loop, info, first.certificate, "Uploaded CA")
    page = PopPage(workspace)
    qtbot.addWidget(page)
    page.set_local_platform(info)
    page.ca.setCurrentIndex(page.ca.findData(first.name))
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert len(page.code.toPlainText()) == 136
    assert "sign it, then upload" in page.state.text()
    assert page.sign() is not None and page.upload_button.isEnabled()
    page.ca.setCurrentIndex(page.ca.findData(second.name))
    assert not page.upload_button.isEnabled() and not page.copy_button.isEnabled()  # the signature was the other CA's
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert page.code.toPlainText() == ""
    assert "upload the CA first" in page.state.text() and "404" in page.state.text()
    assert page.sign() is None and "code is empty" in page.state.text()
    assert not page.upload_button.isEnabled()
    # a proven CA: the state says so without the contradictory "Complete. … sign it."
    page.ca.setCurrentIndex(page.ca.findData(first.name))
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert page.sign() is not None
    qtbot.waitUntil(page.upload().done, timeout=10_000)
    assert page.state.text() == "Proof of possession: Complete"
    qtbot.waitUntil(page.fetch().done, timeout=10_000)
    assert "Complete. New code fetched; sign it." not in page.state.text()
    assert "already proven" in page.state.text() or "Incomplete" in page.state.text()
