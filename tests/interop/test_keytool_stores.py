"""Every store we write is listed by `keytool -list -v` and loaded by Java's KeyManager/TrustManager."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.keytool_helpers import JAVA_DIR, entries, keytool_list, run_parallel
from tests.support.certs import Pki, make_pki
from workbench.core.keystore import (
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    build_device_keystore,
    build_truststore,
    convert_store,
    read_store,
    save_store,
)
from workbench.core.keystore.pkcs12 import Pkcs12Options

pytestmark = pytest.mark.interop
PW = "storepass1"
KEYPW = "keypass22"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, dict[str, Path]]:
    pki = make_pki()
    folder = tmp_path_factory.mktemp("ours")
    pw = PW.encode()
    files: dict[str, bytes] = {
        "device.p12": build_device_keystore(pki.device_ec.key, pki.device_ec.chain, pw),
        "device-legacy.p12": build_device_keystore(pki.device_rsa.key, pki.device_rsa.chain, pw, legacy=True),
        "device.jks": build_device_keystore(pki.device_rsa.key, pki.device_rsa.chain, pw, "jks"),
        "trust.p12": build_truststore([pki.root.cert, pki.server.cert], pw),
        "trust.jks": build_truststore([pki.root.cert, pki.server.cert], pw, "jks"),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    mixed = Keystore(StoreKind.PKCS12, (
        PrivateKeyEntry("devicekeyentry", pki.device_ec.key, tuple(pki.device_ec.chain)),
        PrivateKeyEntry("second", pki.device_rsa.key, tuple(pki.device_rsa.chain)),
        TrustedCertEntry("servercertificate", pki.server.cert),
        TrustedCertEntry("rootca", pki.root.cert),
    ))
    paths["mixed.p12"] = save_store(folder / "mixed.p12", mixed, pw)
    paths["mixed.jks"] = save_store(folder / "mixed.jks", convert_store(mixed, StoreKind.JKS).store, pw)
    keypass = Keystore(StoreKind.JKS, (PrivateKeyEntry("devicekeyentry", pki.device_ec.key,
                                                        tuple(pki.device_ec.chain), key_password=KEYPW.encode()),))
    paths["keypass.jks"] = save_store(folder / "keypass.jks", keypass, pw)
    # JKS with its own key password → PKCS#12 (one password) through our converter
    opened = read_store(paths["keypass.jks"], pw, key_passwords=KEYPW.encode())
    paths["converted.p12"] = save_store(folder / "converted.p12", convert_store(opened, StoreKind.PKCS12).store, pw,
                                        options=Pkcs12Options(kdf_rounds=10000))
    return pki, paths


EXPECTED = {
    "device.p12": {"devicekeyentry": ("PrivateKeyEntry", "3")},
    "device-legacy.p12": {"devicekeyentry": ("PrivateKeyEntry", "3")},
    "device.jks": {"devicekeyentry": ("PrivateKeyEntry", "3")},
    "trust.p12": {"servercertificate": ("trustedCertEntry", None), "servercertificate-2": ("trustedCertEntry", None)},
    "trust.jks": {"servercertificate": ("trustedCertEntry", None), "servercertificate-2": ("trustedCertEntry", None)},
    "mixed.p12": {"devicekeyentry": ("PrivateKeyEntry", "3"), "second": ("PrivateKeyEntry", "3"),
                  "servercertificate": ("trustedCertEntry", None), "rootca": ("trustedCertEntry", None)},
    "keypass.jks": {"devicekeyentry": ("PrivateKeyEntry", "3")},
    "converted.p12": {"devicekeyentry": ("PrivateKeyEntry", "3")},
}
EXPECTED["mixed.jks"] = EXPECTED["mixed.p12"]


def test_keytool_lists_every_store_we_write(stores: tuple[Pki, dict[str, Path]]) -> None:
    _pki, paths = stores
    names = list(EXPECTED)
    results = run_parallel([keytool_list(paths[n], PW) for n in names])
    for name, result in zip(names, results, strict=True):
        result.check()
        assert "Integrity check failed" not in result.stdout + result.stderr
        found = {alias: (info.get("type"), info.get("chain")) for alias, info in entries(result.stdout).items()}
        assert found == EXPECTED[name], name


def test_java_key_and_trust_managers_use_our_stores(stores: tuple[Pki, dict[str, Path]]) -> None:
    _pki, paths = stores
    cases = [
        ("device.p12", "PKCS12", "trust.p12", "PKCS12", "devicekeyentry"),
        ("device-legacy.p12", "PKCS12", "trust.jks", "JKS", "devicekeyentry"),
        ("device.jks", "JKS", "trust.p12", "PKCS12", "devicekeyentry"),
        ("mixed.p12", "PKCS12", "mixed.p12", "PKCS12", "second"),
        ("mixed.jks", "JKS", "mixed.jks", "JKS", "devicekeyentry"),
        ("converted.p12", "PKCS12", "trust.jks", "JKS", "devicekeyentry"),
    ]
    args = ["java", str(JAVA_DIR / "LoadStores.java")]
    for ks, ks_type, ts, ts_type, alias in cases:
        args += [str(paths[ks]), ks_type, str(paths[ts]), ts_type, alias]
    keypass_case = ["java", str(JAVA_DIR / "LoadStores.java"), str(paths["keypass.jks"]), "JKS",
                    str(paths["trust.p12"]), "PKCS12", "keypass:devicekeyentry"]
    main, keyed = run_parallel([args, keypass_case], env={"KS_PASS": PW, "TS_PASS": PW, "KEY_PASS": KEYPW})
    main.check()
    keyed.check()
    lines = main.stdout.split("\n")
    assert [line.split(" chain=")[1].split()[0] for line in lines if line] == ["3"] * len(cases)
    assert keyed.stdout.startswith("OK devicekeyentry chain=3")
