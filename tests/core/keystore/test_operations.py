from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.certs import Pki
from workbench.core.keystore import (
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    add_key_pair,
    add_trusted,
    convert_store,
    delete_entry,
    describe_store,
    export_entry,
    format_listing,
    read_store,
    rename_entry,
    save_store,
    set_key_password,
)
from workbench.errors import InvalidInputError, KeystoreError, KeystorePasswordError, PasswordError, WorkbenchError

PW = b"changeit"


def test_create_add_rename_delete_on_disk_with_one_backup(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "device.p12"
    change = add_key_pair(Keystore(StoreKind.PKCS12), "devicekeyentry", pki.device_ec.key,
                          [pki.root.cert, pki.device_ec.cert, pki.intermediate.cert])  # any order
    assert [c.subject for c in change.store.get("devicekeyentry").chain] == [  # type: ignore[union-attr]
        c.subject for c in pki.device_ec.chain]
    save_store(path, change.store, PW)
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_bytes()

    store = read_store(path, PW)
    store = add_trusted(store, [pki.server.cert], "servercertificate").store
    save_store(path, store, PW)
    assert (tmp_path / "device.p12.bak").read_bytes() == first
    store = rename_entry(read_store(path, PW), "servercertificate", "broker").store
    save_store(path, delete_entry(store, "devicekeyentry").store, PW)
    assert read_store(path, PW).aliases == ("broker",)
    assert (tmp_path / "device.p12.bak").read_bytes() == first  # .bak is kept once, never overwritten


def test_failed_operations_leave_the_file_unchanged(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "trust.jks"
    store = add_trusted(Keystore(StoreKind.JKS), [pki.server.cert], "servercertificate").store
    save_store(path, store, PW)
    before = path.read_bytes()
    with pytest.raises(KeystoreError, match="already used"):
        add_trusted(read_store(path, PW), [pki.root.cert], "ServerCertificate")
    with pytest.raises(KeystorePasswordError) as err:
        read_store(path, b"wrong")
    assert "trust.jks" in err.value.summary
    with pytest.raises(PasswordError):
        save_store(path, store, b"")
    assert path.read_bytes() == before
    assert not (tmp_path / "trust.jks.bak").exists()


def test_key_must_match_a_certificate(pki: Pki) -> None:
    with pytest.raises(KeystoreError, match="belongs to this private key"):
        add_key_pair(Keystore(StoreKind.PKCS12), "k", pki.device_ec.key, [pki.device_rsa.cert])


def test_jks_alias_case_is_reported(pki: Pki) -> None:
    change = add_trusted(Keystore(StoreKind.JKS), [pki.server.cert, pki.root.cert], "Server")
    assert change.store.aliases == ("server", "server-2")
    assert any("lower case" in m for m in change.messages)


def test_convert_keeps_every_entry_both_ways(pki: Pki) -> None:
    store = Keystore(StoreKind.PKCS12)
    store = add_key_pair(store, "DeviceKey", pki.device_rsa.key, pki.device_rsa.chain).store
    store = add_trusted(store, [pki.server.cert], "servercertificate").store
    jks = convert_store(store, StoreKind.JKS)
    assert jks.store.aliases == ("devicekey", "servercertificate")
    assert any("'DeviceKey' is stored as 'devicekey'" in m for m in jks.messages)
    back = convert_store(jks.store, StoreKind.PKCS12).store
    assert back.aliases == ("devicekey", "servercertificate")
    assert back.get("devicekey").chain == store.get("DeviceKey").chain  # type: ignore[union-attr]


def test_convert_refuses_aliases_that_collide_in_lower_case(pki: Pki) -> None:
    store = Keystore(StoreKind.PKCS12, (TrustedCertEntry("A", pki.root.cert), TrustedCertEntry("a", pki.server.cert)))
    with pytest.raises(KeystoreError, match="already used"):
        convert_store(store, StoreKind.JKS)


def test_key_passwords(pki: Pki) -> None:
    store = add_key_pair(Keystore(StoreKind.JKS), "k", pki.device_ec.key, pki.device_ec.chain).store
    with_own = set_key_password(store, "k", b"keypass").store
    with pytest.raises(KeystoreError, match="single password"):
        set_key_password(convert_store(store, StoreKind.PKCS12).store, "k", b"x")
    change = convert_store(with_own, StoreKind.PKCS12)
    assert any("one password" in m for m in change.messages)


def test_export_key_is_encrypted_unless_asked(pki: Pki) -> None:
    store = add_key_pair(Keystore(StoreKind.PKCS12), "k", pki.device_ec.key, pki.device_ec.chain).store
    store = add_trusted(store, [pki.server.cert], "srv").store
    encrypted = export_entry(store, "k", "key", b"exportpw")
    assert b"ENCRYPTED PRIVATE KEY" in encrypted
    serialization.load_pem_private_key(encrypted, b"exportpw")
    assert b"BEGIN PRIVATE KEY" in export_entry(store, "k", "key", None)
    assert export_entry(store, "k", "chain").count(b"BEGIN CERTIFICATE") == 3
    assert export_entry(store, "srv", "cert").count(b"BEGIN CERTIFICATE") == 1
    with pytest.raises(InvalidInputError, match="no private key"):
        export_entry(store, "srv", "key")


def test_listing_looks_like_keytool(pki: Pki) -> None:
    store = add_key_pair(Keystore(StoreKind.PKCS12), "devicekeyentry", pki.device_ec.key, pki.device_ec.chain).store
    store = add_trusted(store, [pki.server.cert], "servercertificate").store
    text = format_listing(store)
    for expected in ("Keystore type: PKCS12", "Your keystore contains 2 entries", "Alias name: devicekeyentry",
                     "Entry type: PrivateKeyEntry", "Certificate chain length: 3", "Certificate[3]:",
                     "Entry type: trustedCertEntry", "Owner: CN=localhost", "SHA256: ",
                     "Signature algorithm name: SHA256withECDSA"):
        assert expected in text
    data = describe_store(store)
    assert data["entries"][0]["chain_length"] == 3
    assert data["entries"][1]["type"] == "trustedCertEntry"


def test_read_store_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_store(tmp_path / "missing.p12", PW)
    bad = tmp_path / "bad.p12"
    bad.write_bytes(b"garbage")
    with pytest.raises(WorkbenchError, match=r"bad\.p12"):
        read_store(bad, PW)


def test_locked_jks_entry_survives_save(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "k.jks"
    entry = PrivateKeyEntry("k", pki.device_ec.key, tuple(pki.device_ec.chain), key_password=b"keypass1")
    save_store(path, Keystore(StoreKind.JKS, (entry,)), PW)
    store = read_store(path, PW)
    save_store(path, add_trusted(store, [pki.root.cert], "ca").store, b"newstorepw")
    reopened = read_store(path, b"newstorepw", key_passwords=b"keypass1")
    assert reopened.get("k").key is not None  # type: ignore[union-attr]
