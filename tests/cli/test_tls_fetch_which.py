"""`workbench tls fetch --which leaf|root|chain` into a truststore (issue 20), against real TLS listeners on
127.0.0.1:0, with keytool and `openssl s_client` as the independent readers of what was stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.interop.keytool_helpers import entries, keytool_list
from tests.support.certs import Issued, Pki, make_pki
from tests.support.tls_server import tls_server
from workbench.cli import run_cli
from workbench.core.keystore import Keystore, StoreKind, TrustedCertEntry, read_store
from workbench.services import keystores

PW = "storepass1"
PEM = serialization.Encoding.PEM


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def no_root(pki: Pki) -> Issued:
    """A server that sends its certificate and its intermediate but leaves out the root, as most public servers do."""
    issued = pki.intermediate.issue("localhost", server=True, sans=("localhost", "127.0.0.1"))
    return Issued(issued.key, issued.cert, [issued.cert, pki.intermediate.cert])


@pytest.fixture
def pwfile(tmp_path: Path) -> Path:
    path = tmp_path / "pw.txt"
    path.write_text(PW + "\n")
    return path


def _pems(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _s_client(port: int, cafile: Path) -> subprocess.CompletedProcess[str]:
    """openssl s_client as an OpenSSL-based device would check the server with this CA file."""
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                           "-CAfile", str(cafile), "-verify_return_error", "-brief"],
                          input="", capture_output=True, text=True, timeout=20)


def test_which_chain_stores_every_certificate_sent_and_says_the_root_is_missing(
        pki: Pki, no_root: Issued, tmp_path: Path, pwfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ts, out = tmp_path / "truststore.jks", tmp_path / "chain.pem"
    with tls_server(no_root, tmp_path) as server:
        code = run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--servername", "localhost", "--which", "chain",
                        "--out", str(out), "--to-truststore", str(ts), "--type", "jks",
                        "--store-password-file", str(pwfile)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert _pems(out) == [no_root.cert, pki.intermediate.cert]  # as sent, leaf first
    store = read_store(ts, PW.encode())
    stored = {e.alias: e.cert for e in store.trusted_entries()}
    assert stored == {"servercertificate": no_root.cert, "servercertificate-2": pki.intermediate.cert}
    assert "did not send its root" in text and "OpenSSL-based clients" in text
    listed = subprocess.run(keytool_list(ts, PW, "JKS"), capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert entries(listed.stdout) == {"servercertificate": {"type": "trustedCertEntry"},
                                      "servercertificate-2": {"type": "trustedCertEntry"}}


def test_which_chain_from_a_server_that_sends_its_root_is_a_working_ca_file(
        pki: Pki, tmp_path: Path, pwfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, ts = tmp_path / "chain.pem", tmp_path / "truststore.p12"
    with tls_server(pki.server, tmp_path) as server:
        code = run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--which", "chain", "--out", str(out),
                        "--to-truststore", str(ts), "--store-password-file", str(pwfile)])
        text = capsys.readouterr().out
        assert code == 0, text
        assert _s_client(server.port, out).returncode == 0
    assert _pems(out) == list(pki.server.chain)
    assert "Note:" not in text
    assert [e.cert for e in read_store(ts, PW.encode()).trusted_entries()] == list(pki.server.chain)


def test_the_leaf_is_stored_as_the_guide_does_with_the_advice_and_the_advice_holds(
        pki: Pki, tmp_path: Path, pwfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaf, root = tmp_path / "serverCertificate.pem", tmp_path / "root.pem"
    with tls_server(pki.server, tmp_path) as server:
        assert run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--out", str(leaf)]) == 0
        note = capsys.readouterr().out
        assert run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--which", "root", "--out", str(root)]) == 0
        assert "Note:" not in capsys.readouterr().out  # the server sent its root: nothing to add
        # The advice is true for an OpenSSL-based client: the leaf alone is no anchor, the root is.
        assert _s_client(server.port, leaf).returncode != 0
        assert _s_client(server.port, root).returncode == 0
    assert _pems(leaf) == [pki.server.cert] and _pems(root) == [pki.root.cert]
    assert "as the guide does" in note and "--which root" in note
    with pytest.raises(SystemExit) as done:
        run_cli(["tls", "fetch", "--help"])
    assert done.value.code == 0
    helptext = " ".join(capsys.readouterr().out.split())
    assert "chain: every certificate sent" in helptext and "store the root (--which root)" in helptext


def test_the_gui_trust_a_server_says_what_the_cli_says(pki: Pki, no_root: Issued, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The Keystores page's "trust a server" runs these services: the same remark reaches its message line."""
    with tls_server(no_root, tmp_path) as server:
        request = keystores.TrustedServer("127.0.0.1", server.port, "localhost")
        top = keystores.server_ca(request)
        assert run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--servername", "localhost", "--which", "root",
                        "--out", str(tmp_path / "top.pem")]) == 0
    change = keystores.add_trusted_from_server(Keystore(StoreKind.PKCS12), request, top)
    assert top == pki.intermediate.cert
    assert isinstance(change.store.get("servercertificate"), TrustedCertEntry)
    remark = next(m for m in change.messages if "did not send its root" in m)
    assert f"Note: {remark}" in capsys.readouterr().out
