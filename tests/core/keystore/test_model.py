from __future__ import annotations

import pytest

from tests.support.certs import Pki
from workbench.core.keystore import Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry, bundle_aliases
from workbench.errors import InvalidInputError, KeystoreError


def _store(pki: Pki, kind: StoreKind = StoreKind.PKCS12) -> Keystore:
    store = Keystore(kind).with_entry(PrivateKeyEntry("devicekeyentry", pki.device_ec.key, tuple(pki.device_ec.chain)))
    return store.with_entry(TrustedCertEntry("servercertificate", pki.server.cert))


def test_alias_collision_is_refused_with_the_guides_words(pki: Pki) -> None:
    store = _store(pki)
    with pytest.raises(KeystoreError) as err:
        store.with_entry(TrustedCertEntry("ServerCertificate", pki.root.cert))
    assert "already used" in err.value.summary
    assert "clashes with 'servercertificate'" in err.value.summary
    assert any("unique identifier for every keystore or truststore entry" in c for c in err.value.causes)
    assert len(store) == 2  # unchanged


def test_verbs_return_new_stores(pki: Pki) -> None:
    store = _store(pki)
    renamed = store.renamed("servercertificate", "broker")
    assert renamed.aliases == ("devicekeyentry", "broker")
    assert store.aliases == ("devicekeyentry", "servercertificate")
    assert renamed.without("BROKER").aliases == ("devicekeyentry",)
    with pytest.raises(KeystoreError, match="already used"):
        store.renamed("servercertificate", "devicekeyentry")
    assert store.renamed("devicekeyentry", "DeviceKeyEntry").aliases[0] == "DeviceKeyEntry"  # case-only rename


def test_missing_alias_lists_what_exists(pki: Pki) -> None:
    with pytest.raises(KeystoreError) as err:
        _store(pki).get("nope")
    assert "devicekeyentry, servercertificate" in err.value.causes[0]


def test_jks_lowercases_aliases(pki: Pki) -> None:
    store = Keystore(StoreKind.JKS).with_entry(TrustedCertEntry("Server", pki.server.cert))
    assert store.aliases == ("server",)


@pytest.mark.parametrize("alias", ["", "  ", "a\nb"])
def test_bad_aliases(pki: Pki, alias: str) -> None:
    with pytest.raises(InvalidInputError):
        Keystore(StoreKind.PKCS12).with_entry(TrustedCertEntry(alias, pki.server.cert))


def test_bundle_aliases_and_kind_parsing() -> None:
    assert bundle_aliases("servercertificate", 3) == ["servercertificate", "servercertificate-2",
                                                      "servercertificate-3"]
    assert StoreKind.parse("P12") is StoreKind.PKCS12
    assert StoreKind.parse("jks") is StoreKind.JKS
    with pytest.raises(InvalidInputError):
        StoreKind.parse("bks")


def test_locked_entry_names_the_missing_key_password(pki: Pki) -> None:
    entry = PrivateKeyEntry("k", None, tuple(pki.device_ec.chain), sealed=b"x")
    assert entry.locked
    with pytest.raises(Exception, match="own key password"):
        entry.require_key()
