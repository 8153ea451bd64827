"""Stores made by keytool (Java 17) open in the workbench: JKS with a separate key password, default and legacy
PKCS#12, `-importkeystore` conversions, and the guide's truststore and keystore+truststore steps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.interop.keytool_helpers import entries, keytool_list, run_parallel
from tests.support.certs import make_pki
from workbench.core.keystore import (
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    build_device_keystore,
    convert_store,
    read_store,
    save_store,
)
from workbench.errors import KeystoreError, KeystorePasswordError, PasswordError, UnsupportedFormatError

pytestmark = pytest.mark.interop
SP = "storepass1"
KP = "keypass22"


def _gen(path: Path, storetype: str, alias: str, *extra: str) -> list[str]:
    return ["keytool", *extra, "-genkeypair", "-keystore", str(path), "-storetype", storetype, "-storepass", SP,
            "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", f"CN={alias}", "-validity", "30"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keytool")
    pki = make_pki()
    ours = folder / "deviceKeystore.pkcs12"
    ours.write_bytes(build_device_keystore(pki.device_rsa.key, pki.device_rsa.chain, SP.encode()))
    server = folder / "serverCertificate.pem"
    server.write_bytes(pki.server.cert_pem())
    combined = folder / "combined.pkcs12"
    shutil.copy(ours, combined)
    p = {name: folder / name for name in ("keypass.jks", "default.p12", "legacy.p12", "imported.jks",
                                            "deviceTruststore.pkcs12", "deviceTruststore.jks", "store.jceks")}
    p["ours"], p["combined"] = ours, combined
    first = [
        _gen(p["keypass.jks"], "JKS", "MixedCase", "-keypass", KP),
        _gen(p["default.p12"], "PKCS12", "devicekeyentry"),
        _gen(p["legacy.p12"], "PKCS12", "devicekeyentry", "-J-Dkeystore.pkcs12.legacy"),
        _gen(p["store.jceks"], "JCEKS", "devicekeyentry"),
        # guide step 2: keytool -importkeystore our PKCS#12 into JKS
        ["keytool", "-importkeystore", "-srckeystore", str(ours), "-srcstoretype", "PKCS12", "-srcstorepass", SP,
         "-destkeystore", str(p["imported.jks"]), "-deststoretype", "JKS", "-deststorepass", SP, "-noprompt"],
        # guide step 4: truststores in both formats
        ["keytool", "-importcert", "-noprompt", "-keystore", str(p["deviceTruststore.pkcs12"]), "-storetype",
         "PKCS12", "-storepass", SP, "-alias", "servercertificate", "-file", str(server)],
        ["keytool", "-import", "-noprompt", "-file", str(server), "-alias", "servercertificate", "-keystore",
         str(p["deviceTruststore.jks"]), "-storetype", "JKS", "-storepass", SP],
        # guide step 5: the trusted certificate added to the keystore itself
        ["keytool", "-importcert", "-noprompt", "-keystore", str(combined), "-storepass", SP, "-alias",
         "servercertificate", "-file", str(server)],
    ]
    for result in run_parallel(first):
        result.check()
    p["back.p12"] = folder / "back.p12"
    run_parallel([["keytool", "-importkeystore", "-srckeystore", str(p["imported.jks"]), "-srcstoretype", "JKS",
                   "-srcstorepass", SP, "-destkeystore", str(p["back.p12"]), "-deststoretype", "PKCS12",
                   "-deststorepass", SP, "-noprompt"]])[0].check()
    return p


def test_jks_with_separate_key_password(made: dict[str, Path]) -> None:
    sealed = read_store(made["keypass.jks"], SP.encode())
    entry = sealed.get("mixedcase")
    assert sealed.kind is StoreKind.JKS and isinstance(entry, PrivateKeyEntry) and entry.locked
    with pytest.raises(PasswordError):
        read_store(made["keypass.jks"], SP.encode(), key_passwords=b"not-it")
    opened = read_store(made["keypass.jks"], SP.encode(), key_passwords={"mixedcase": KP.encode()})
    assert opened.get("mixedcase").key is not None  # type: ignore[union-attr]
    with pytest.raises(KeystorePasswordError):
        read_store(made["keypass.jks"], b"wrong-pass")


@pytest.mark.parametrize("name", ["default.p12", "legacy.p12", "back.p12"])
def test_keytool_pkcs12_default_legacy_and_converted(made: dict[str, Path], name: str) -> None:
    store = read_store(made[name], SP.encode())
    assert store.kind is StoreKind.PKCS12
    assert [type(e) for e in store] == [PrivateKeyEntry]
    assert store.aliases == ("devicekeyentry",)
    expected_chain = 3 if name == "back.p12" else 1
    assert len(store.get("devicekeyentry").chain) == expected_chain  # type: ignore[union-attr]
    assert store.get("devicekeyentry").created is not None  # keytool's localKeyID 'Time <millis>'


def test_importkeystore_jks_keeps_our_chain(made: dict[str, Path]) -> None:
    ours = read_store(made["ours"], SP.encode())
    imported = read_store(made["imported.jks"], SP.encode())
    assert imported.get("devicekeyentry").chain == ours.get("devicekeyentry").chain  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["deviceTruststore.pkcs12", "deviceTruststore.jks"])
def test_guide_truststores(made: dict[str, Path], name: str) -> None:
    store = read_store(made[name], SP.encode())
    assert store.aliases == ("servercertificate",)
    assert isinstance(store.get("servercertificate"), TrustedCertEntry)


def test_keystore_with_trusted_cert_added_by_keytool(made: dict[str, Path], tmp_path: Path) -> None:
    store = read_store(made["combined"], SP.encode())
    kinds = {e.alias: type(e).__name__ for e in store}
    assert kinds == {"devicekeyentry": "PrivateKeyEntry", "servercertificate": "TrustedCertEntry"}
    assert len(store.get("devicekeyentry").chain) == 3  # type: ignore[union-attr]
    # and our rewrite/convert of it is still what keytool expects
    opened = read_store(made["keypass.jks"], SP.encode(), key_passwords=KP.encode())
    out_p12 = save_store(tmp_path / "rewritten.p12", store, SP.encode())
    out_jks = save_store(tmp_path / "fromkeypass.p12", convert_store(opened, StoreKind.PKCS12).store, SP.encode())
    for path, result in zip((out_p12, out_jks), run_parallel([keytool_list(out_p12, SP), keytool_list(out_jks, SP)]),
                            strict=True):
        result.check()
        listed = entries(result.stdout)
        if path == out_p12:
            assert listed == {"devicekeyentry": {"type": "PrivateKeyEntry", "chain": "3"},
                              "servercertificate": {"type": "trustedCertEntry"}}
        else:
            assert listed == {"mixedcase": {"type": "PrivateKeyEntry", "chain": "1"}}


def test_jceks_reads_but_is_not_written(made: dict[str, Path], tmp_path: Path) -> None:
    store = read_store(made["store.jceks"], SP.encode())
    assert store.kind is StoreKind.JCEKS and store.aliases == ("devicekeyentry",)
    assert store.get("devicekeyentry").key is not None  # type: ignore[union-attr]
    with pytest.raises(KeystoreError, match="JCEKS"):
        save_store(tmp_path / "x.jceks", store, SP.encode())
    converted = convert_store(store, StoreKind.PKCS12).store
    assert read_store(save_store(tmp_path / "x.p12", converted, SP.encode()), SP.encode()).aliases == (
        "devicekeyentry",)


def test_format_comes_from_the_bytes_not_the_name(made: dict[str, Path], tmp_path: Path) -> None:
    misnamed = tmp_path / "really-a-jks.p12"
    misnamed.write_bytes(made["imported.jks"].read_bytes())
    assert read_store(misnamed, SP.encode()).kind is StoreKind.JKS
    with pytest.raises(UnsupportedFormatError, match="is JKS, not PKCS12"):
        read_store(misnamed, SP.encode(), expected=StoreKind.PKCS12)
