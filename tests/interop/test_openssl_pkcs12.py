"""openssl 3 reads the PKCS#12 files we write (`openssl pkcs12 -info`), and we read the guide's
`openssl pkcs12 -export` output, modern and -legacy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.keytool_helpers import run_parallel
from tests.support.certs import make_pki
from workbench.core.keystore import (
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    build_device_keystore,
    read_store,
    save_store,
)
from workbench.errors import KeystorePasswordError

pytestmark = pytest.mark.interop
PW = "s3cret-pass"


def test_openssl_reads_our_pkcs12(tmp_path: Path) -> None:
    pki = make_pki()
    modern = tmp_path / "modern.p12"
    modern.write_bytes(build_device_keystore(pki.device_ec.key, pki.device_ec.chain, PW.encode()))
    legacy = tmp_path / "legacy.p12"
    legacy.write_bytes(build_device_keystore(pki.device_rsa.key, pki.device_rsa.chain, PW.encode(), legacy=True))
    mixed = save_store(tmp_path / "mixed.p12", Keystore(StoreKind.PKCS12, (
        PrivateKeyEntry("devicekeyentry", pki.device_ec.key, tuple(pki.device_ec.chain)),
        TrustedCertEntry("servercertificate", pki.server.cert))), PW.encode())
    info = ["openssl", "pkcs12", "-info", "-passin", "env:P12PW", "-nokeys", "-in"]
    results = run_parallel([[*info, str(modern)], [*info, str(legacy)], [*info, str(mixed)],
                            [*info, str(modern), "-passin", "pass:wrong"]], env={"P12PW": PW})
    for result in results[:3]:
        result.check()
    out_modern, out_legacy, out_mixed = (r.stdout + r.stderr for r in results[:3])
    assert "MAC: sha256" in out_modern and "AES-256-CBC" in out_modern
    assert "MAC: sha1" in out_legacy and "pbeWithSHA1And3-KeyTripleDES-CBC" in out_legacy
    for out in (out_modern, out_legacy, out_mixed):
        assert "friendlyName: devicekeyentry" in out
        assert out.count("BEGIN CERTIFICATE") == (4 if out is out_mixed else 3)
    assert "friendlyName: servercertificate" in out_mixed
    assert results[3].returncode != 0  # openssl agrees the password check fails


@pytest.mark.parametrize("legacy", [False, True])
def test_we_read_the_guides_openssl_export(tmp_path: Path, legacy: bool) -> None:
    pki = make_pki()
    key = tmp_path / "deviceKey.pem"
    key.write_bytes(pki.device_rsa.key_pem())
    chain = tmp_path / "deviceCertChain.pem"
    chain.write_bytes(pki.device_rsa.chain_pem())
    out = tmp_path / "deviceKeystore.pkcs12"
    cmd = ["openssl", "pkcs12", "-export", "-name", "devicekeyentry", "-inkey", str(key), "-in", str(chain),
           "-out", str(out), "-passout", "env:P12PW"]
    run_parallel([cmd + (["-legacy"] if legacy else [])], env={"P12PW": PW})[0].check()
    store = read_store(out, PW.encode())
    entry = store.get("devicekeyentry")
    assert isinstance(entry, PrivateKeyEntry)
    assert [c.subject for c in entry.chain] == [c.subject for c in pki.device_rsa.chain]
    with pytest.raises(KeystorePasswordError):
        read_store(out, b"wrong")
