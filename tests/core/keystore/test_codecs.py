from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.certs import Pki
from workbench.core.keystore import (
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    build_device_keystore,
    build_truststore,
    detect_format,
    dump_keystore,
    load_keystore,
)
from workbench.core.keystore.pkcs12 import Pkcs12Options
from workbench.errors import (
    KeystoreError,
    KeystoreOpenError,
    KeystorePasswordError,
    PasswordError,
    UnsupportedFormatError,
    WorkbenchError,
)

PW = b"changeit"


def _der(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]


def _mixed(pki: Pki, kind: StoreKind) -> Keystore:
    store = Keystore(kind)
    store = store.with_entry(PrivateKeyEntry("devicekeyentry", pki.device_ec.key, tuple(pki.device_ec.chain)))
    store = store.with_entry(PrivateKeyEntry("second", pki.device_rsa.key, tuple(pki.device_rsa.chain)))
    store = store.with_entry(TrustedCertEntry("servercertificate", pki.server.cert))
    return store.with_entry(TrustedCertEntry("rootca", pki.root.cert))


def _summary(store: Keystore) -> list[tuple[str, str, list[bytes]]]:
    out = []
    for e in store:
        certs = e.chain if isinstance(e, PrivateKeyEntry) else (e.cert,)
        out.append((e.alias, type(e).__name__, [_der(c) for c in certs]))
    return sorted(out)


@pytest.mark.parametrize("kind", [StoreKind.PKCS12, StoreKind.JKS])
def test_round_trip_keeps_every_entry(pki: Pki, kind: StoreKind) -> None:
    store = _mixed(pki, kind)
    back = load_keystore(dump_keystore(store, PW), PW)
    assert back.kind is kind
    assert _summary(back) == _summary(store)
    keys = {e.alias: e.key for e in back.key_entries()}
    assert keys["second"].private_numbers() == pki.device_rsa.key.private_numbers()  # type: ignore[union-attr]


def test_device_keystore_is_what_openssl_pkcs12_export_gives(pki: Pki) -> None:
    data = build_device_keystore(pki.device_ec.key, pki.device_ec.chain, PW)
    bundle = pkcs12.load_pkcs12(data, PW)
    assert bundle.cert is not None and bundle.cert.friendly_name == b"devicekeyentry"
    assert [c.certificate for c in bundle.additional_certs] == pki.device_ec.chain[1:]
    assert detect_format(data) is StoreKind.PKCS12


def test_truststore_aliases(pki: Pki) -> None:
    data = build_truststore([pki.server.cert, pki.root.cert], PW, "jks")
    store = load_keystore(data, PW)
    assert store.aliases == ("servercertificate", "servercertificate-2")
    assert all(isinstance(e, TrustedCertEntry) for e in store)


def test_legacy_pkcs12_uses_3des_and_sha1(pki: Pki) -> None:
    store = _mixed(pki, StoreKind.PKCS12)
    data = dump_keystore(store, PW, options=Pkcs12Options(legacy=True))
    assert bytes.fromhex("06052b0e03021a") in data  # SHA-1 MAC OID
    assert bytes.fromhex("060a2a864886f70d010c0103") in data  # pbeWithSHAAnd3-KeyTripleDES-CBC
    assert _summary(load_keystore(data, PW)) == _summary(store)


def test_jks_key_password_differs_from_store_password(pki: Pki) -> None:
    entry = PrivateKeyEntry("k", pki.device_ec.key, tuple(pki.device_ec.chain), key_password=b"keypass1")
    data = dump_keystore(Keystore(StoreKind.JKS).with_entry(entry), PW)
    sealed = load_keystore(data, PW)
    assert sealed.get("k").locked  # type: ignore[union-attr]
    # a sealed entry survives a rewrite untouched, then opens with its own password
    rewritten = dump_keystore(sealed.with_entry(TrustedCertEntry("ca", pki.root.cert)), PW)
    opened = load_keystore(rewritten, PW, key_passwords={"k": b"keypass1"})
    assert opened.get("k").key is not None  # type: ignore[union-attr]
    with pytest.raises(PasswordError, match="key password for 'k' is wrong"):
        load_keystore(data, PW, key_passwords=lambda alias: b"wrong")
    with pytest.raises(PasswordError, match="own key password"):
        dump_keystore(sealed, PW, StoreKind.PKCS12)


def test_pem_bundle_key_and_chain(pki: Pki) -> None:
    data = pki.device_rsa.key_pem(b"pempass") + pki.root.cert_pem() + pki.device_rsa.chain_pem()
    store = load_keystore(data, b"pempass")
    assert store.kind is StoreKind.PEM
    key_entry = store.get("devicekeyentry")
    assert isinstance(key_entry, PrivateKeyEntry) and len(key_entry.chain) == 3
    assert store.aliases == ("devicekeyentry",)  # the root in the file is part of the chain
    certs_only = load_keystore(pki.server.cert_pem() + pki.root.cert_pem(), None)
    assert certs_only.aliases == ("servercertificate", "servercertificate-2")


@pytest.mark.parametrize("kind", [StoreKind.PKCS12, StoreKind.JKS])
def test_wrong_password_names_both_possibilities(pki: Pki, kind: StoreKind) -> None:
    data = dump_keystore(_mixed(pki, kind), PW)
    with pytest.raises(KeystorePasswordError) as err:
        load_keystore(data, b"wrong-password")
    text = " ".join(err.value.causes).lower()
    assert "password is wrong" in text and ("altered" in text or "damaged" in text)


@pytest.mark.parametrize("kind", [StoreKind.PKCS12, StoreKind.JKS])
@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_store_is_a_clear_error(pki: Pki, kind: StoreKind, cut: float) -> None:
    data = dump_keystore(_mixed(pki, kind), PW)
    with pytest.raises(KeystoreOpenError) as err:
        load_keystore(data[: int(len(data) * cut)], PW)
    assert err.value.causes


def test_jks_given_where_pkcs12_expected(pki: Pki) -> None:
    data = dump_keystore(_mixed(pki, StoreKind.JKS), PW)
    with pytest.raises(UnsupportedFormatError, match="is JKS, not PKCS12"):
        load_keystore(data, PW, expected=StoreKind.PKCS12, what="'device.p12'")


def test_detection_ignores_names_and_explains_garbage() -> None:
    with pytest.raises(UnsupportedFormatError, match="empty"):
        detect_format(b"")
    with pytest.raises(UnsupportedFormatError, match="not a keystore"):
        detect_format(b"hello world")


def test_jcecks_is_read_only(pki: Pki) -> None:
    store = Keystore(StoreKind.JCEKS).with_entry(TrustedCertEntry("ca", pki.root.cert))
    with pytest.raises(KeystoreError, match="JCEKS"):
        dump_keystore(store, PW)


def test_empty_pkcs12_store_round_trips() -> None:
    data = dump_keystore(Keystore(StoreKind.PKCS12), PW)
    assert len(load_keystore(data, PW)) == 0


def test_store_passwords_are_required(pki: Pki) -> None:
    for kind in (StoreKind.PKCS12, StoreKind.JKS):
        with pytest.raises(PasswordError):
            dump_keystore(_mixed(pki, kind), b"")


@settings(max_examples=60)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_workbench_errors(data: bytes) -> None:
    for prefix in (b"", b"\xfe\xed\xfe\xed\x00\x00\x00\x02", b"0\x82\x01\x00\x02\x01\x03"):
        try:
            load_keystore(prefix + data, PW)
        except WorkbenchError:
            pass


@settings(max_examples=15)
@given(st.lists(st.text(alphabet="abcXYZ-_09", min_size=1, max_size=12), min_size=1, max_size=4, unique_by=str.lower),
       st.sampled_from([StoreKind.PKCS12, StoreKind.JKS]))
def test_trusted_aliases_round_trip(pki: Pki, aliases: list[str], kind: StoreKind) -> None:
    store = Keystore(kind)
    for alias in aliases:
        store = store.with_entry(TrustedCertEntry(alias, pki.root.cert))
    back = load_keystore(dump_keystore(store, PW, options=Pkcs12Options(kdf_rounds=1)), PW)
    assert sorted(back.aliases) == sorted(store.aliases)
