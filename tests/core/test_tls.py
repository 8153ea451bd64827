"""Contexts, identities from keystores, trust-anchor choice and failure wording (no sockets here)."""

from __future__ import annotations

import socket
import ssl

import pytest

from tests.support.certs import make_pki
from workbench.core.keystore import Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry
from workbench.core.tls import (
    SniContext,
    client_context,
    explain_failure,
    identity_from_pem,
    identity_from_store,
    trust_anchor,
    trusted_certificates,
)
from workbench.errors import InvalidInputError, KeystoreError, MqttConnectError, PasswordError, TlsError

PKI = make_pki()


def test_client_context_settings() -> None:
    ctx = client_context(trust=[PKI.root.cert], server_name="mqtt.example.test", min_version="1.2",
                         max_version="1.3")
    assert isinstance(ctx, SniContext) and ctx.server_name_override == "mqtt.example.test"
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_2
    assert len(ctx.get_ca_certs()) == 1
    loose = client_context(verify=False)
    assert loose.verify_mode is ssl.CERT_NONE
    with pytest.raises(InvalidInputError):
        client_context(min_version="1.0")


def test_sni_override_applies_to_memory_bios() -> None:
    ctx = client_context(verify=False, server_name="virtual.example.test")
    obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="127.0.0.1")
    assert obj.server_hostname == "virtual.example.test"


def test_identity_from_store_loads_into_a_context() -> None:
    store = Keystore(StoreKind.PKCS12, (PrivateKeyEntry("devicekeyentry", PKI.device_rsa.key,
                                                        tuple(PKI.device_rsa.chain)),
                                        TrustedCertEntry("servercertificate", PKI.server.cert)))
    identity = identity_from_store(store)
    assert identity.subject == "CN=device-rsa-001"
    client_context(verify=False, identity=identity)  # load_cert_chain accepts it (temp file is gone after)
    with pytest.raises(KeystoreError, match="trusted certificate"):
        identity_from_store(store, "servercertificate")
    with pytest.raises(KeystoreError, match="0 key entries"):
        identity_from_store(Keystore(StoreKind.PKCS12))
    sealed = Keystore(StoreKind.JKS, (PrivateKeyEntry("k", None, tuple(PKI.device_ec.chain), sealed=b"x"),))
    with pytest.raises(PasswordError):
        identity_from_store(sealed)


def test_trust_anchor_choice() -> None:
    chain = (PKI.device_ec.chain[0], PKI.intermediate.cert)
    assert trust_anchor(chain) == (chain[0], None)
    top, remark = trust_anchor(chain, "root")
    assert top == PKI.intermediate.cert and remark and "did not send its root" in remark
    assert trust_anchor(tuple(PKI.server.chain), "root") == (PKI.root.cert, None)
    with pytest.raises(InvalidInputError):
        trust_anchor(())


@pytest.mark.parametrize(("exc", "words"), [
    (ConnectionRefusedError(111, "Connection refused"), "Connection refused by h:1"),
    (socket.gaierror(-2, "Name or service not known"), "Cannot resolve"),
    (TimeoutError("timed out"), "No answer from h:1 within 2 s"),
    (ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version"), "alert 'protocol version'"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "does not speak TLS"),
    (ConnectionResetError(104, "reset"), "closed the connection"),
])
def test_failures_in_words(exc: BaseException, words: str) -> None:
    err = explain_failure(exc, host="h", port=1, timeout=2)
    assert words in err.summary
    assert err.causes


def test_one_explanation_serves_the_mqtt_session_too() -> None:
    err = explain_failure(ConnectionRefusedError(111, "Connection refused"), host="h", port=8883, kind=MqttConnectError)
    assert isinstance(err, MqttConnectError) and err.summary == "Connection refused by h:8883"
    assert isinstance(explain_failure(TimeoutError(), host="h", port=1), TlsError)


def test_certificate_required_alert_is_named() -> None:
    exc = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
    exc.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    err = explain_failure(exc, host="h", port=8883, cert_requested=True)
    assert "asked for a client certificate" in err.summary
    assert "none was sent" in err.causes[0]


def test_identity_from_pem_files_and_trusted_certificates() -> None:
    identity = identity_from_pem(PKI.device_ec.key_pem(b"pw"), PKI.root.cert_pem() + PKI.device_ec.chain_pem(), b"pw")
    assert [c.subject for c in identity.chain] == [c.subject for c in PKI.device_ec.chain]
    with pytest.raises(KeystoreError, match="belongs to this private key"):
        identity_from_pem(PKI.device_ec.key_pem(), PKI.server.cert_pem())
    store = Keystore(StoreKind.PKCS12, (TrustedCertEntry("a", PKI.root.cert), TrustedCertEntry("b", PKI.server.cert)))
    assert trusted_certificates(store) == [PKI.root.cert, PKI.server.cert]
    with pytest.raises(KeystoreError, match="no trusted certificate"):
        trusted_certificates(Keystore(StoreKind.PKCS12))
