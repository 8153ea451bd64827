"""The Certificates page's "Sign a CSR…" wizard shows the same refusal as `workbench ca sign-csr --server` (issue
20): the server kind, the real command and menu item for an intermediate CA, and no serial used up."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytestqt.qtbot import QtBot

from tests.ui.test_certificate_wizard import _wizard, make_root
from workbench.core.pki.names import parse_dn
from workbench.core.pki.store import CAStore

pytestmark = pytest.mark.usefixtures("qasync_loop")


def test_a_ca_request_signed_as_a_server_is_refused_in_the_cli_words(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    root = make_root(qtbot, workspace, cn="GUI CSR Root")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder().subject_name(parse_dn("/CN=sneaky/O=ACME"))
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    path = tmp_path / "sneaky.csr"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    wizard = _wizard(qtbot, workspace, "csr")
    wizard.next()
    page = wizard.csr_page
    assert page is not None
    page.csr_file.setText(str(path))
    page.profile_kind.setCurrentIndex(page.profile_kind.findData("server"))
    wizard.next()
    wizard.accept()
    qtbot.waitUntil(lambda: wizard.task is not None and wizard.task.done(), timeout=20_000)
    shown = wizard.summary_page.problem.text()
    assert "signed as a server certificate" in shown and "A server certificate must not be a CA" in shown
    assert "workbench ca intermediate --ca NAME" in shown and "Intermediate CA…" in shown
    assert "device certificate must not" not in shown and "intermediate CA profile" not in shown
    with CAStore(workspace) as store:
        assert store.ca(root.name).next_serial == 0x1000  # the refusal used up no serial
