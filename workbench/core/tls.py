"""Client TLS contexts from PEM or keystores (with an SNI name apart from the host), handshake reports, and TLS
failures explained in words. Builds contexts only: the connecting is done in workbench.services."""

from __future__ import annotations

import re
import secrets
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from workbench.core.files import private_temp_file
from workbench.core.keystore.chains import key_chain
from workbench.core.keystore.model import Keystore, PrivateKeyEntry
from workbench.core.pki.certio import load_certificates
from workbench.core.pki.keys import load_private_key
from workbench.errors import InvalidInputError, KeystoreError, TlsError, WorkbenchError

E = TypeVar("E", bound=WorkbenchError)

_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate chain (leaf first) and its key, for mutual TLS."""

    key: PrivateKeyTypes = field(repr=False)
    chain: tuple[x509.Certificate, ...]

    @property
    def subject(self) -> str:
        return self.chain[0].subject.rfc4514_string()


def identity_from_store(store: Keystore, alias: str | None = None) -> ClientIdentity:
    """The client identity in a keystore: the named key entry, or its only one.

    Raises:
        KeystoreError: no key entry, several without an alias given, or the alias is a trusted certificate.
        PasswordError: the key is sealed by its own JKS key password.
    """
    if alias is not None:
        entry = store.get(alias)
        if not isinstance(entry, PrivateKeyEntry):
            raise KeystoreError(f"'{entry.alias}' is a trusted certificate, not a key entry",
                                ("Pick the device key entry (usually 'devicekeyentry').",))
    else:
        keys = store.key_entries()
        if len(keys) != 1:
            found = ", ".join(e.alias for e in keys) or "none"
            raise KeystoreError(f"The keystore holds {len(keys)} key entries; say which one to use",
                                (f"Key entries: {found}.",))
        entry = keys[0]
    return ClientIdentity(entry.require_key(), entry.chain)


def identity_from_pem(key_data: bytes, chain_data: bytes, password: bytes | None = None) -> ClientIdentity:
    """The client identity from the guide's files: deviceKey.pem and deviceCertChain.pem (any order inside).

    Raises:
        PasswordError / KeyMaterialError: the key cannot be read or decrypted.
        KeystoreError: no certificate in the chain file belongs to the key.
    """
    key = load_private_key(key_data, password)
    return ClientIdentity(key, tuple(key_chain(key, load_certificates(chain_data, "certificate chain file"))))


def trusted_certificates(store: Keystore) -> list[x509.Certificate]:
    """What a truststore trusts: its trusted entries (a PEM bundle's certificates are trusted entries too).

    Raises:
        KeystoreError: the store holds no trusted certificate.
    """
    certs = [e.cert for e in store.trusted_entries()]
    if not certs:
        raise KeystoreError("The truststore holds no trusted certificate",
                            ("Add the server's or CA's certificate (workbench truststore add).",))
    return certs


class SniContext(ssl.SSLContext):
    """An SSLContext that sends a fixed SNI name (and checks the hostname against it) whatever host it connects to.

    Python cannot set SNI apart from the connect host and sends none for IP literals (docs/platform-notes.md); this is
    `openssl s_client -connect HOST:PORT -servername NAME`.
    """

    server_name_override: str | None = None

    def wrap_socket(self, sock: socket.socket, server_side: bool = False, do_handshake_on_connect: bool = True,
                    suppress_ragged_eofs: bool = True, server_hostname: str | bytes | None = None,
                    session: ssl.SSLSession | None = None) -> ssl.SSLSocket:
        return super().wrap_socket(sock, server_side, do_handshake_on_connect, suppress_ragged_eofs,
                                   self.server_name_override or server_hostname, session)

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
                 server_hostname: str | bytes | None = None, session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side, self.server_name_override or server_hostname,
                                session)


def _load_identity(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    """load_cert_chain needs a file: the key goes there re-encrypted with a one-time password, 0600, then deleted."""
    one_time = secrets.token_urlsafe(24).encode()
    key_pem = identity.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(one_time))
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain)
    with private_temp_file(key_pem + chain_pem) as path:
        try:
            context.load_cert_chain(str(path), password=one_time)
        except ssl.SSLError as exc:
            raise TlsError("The client certificate cannot be used for TLS", (str(exc),)) from exc


def check_version_range(min_version: str | None, max_version: str | None) -> None:
    """Refuse an unknown TLS version or a range with nothing in it before any connection is tried (OpenSSL would
    only say NO_PROTOCOLS_AVAILABLE).

    Raises:
        InvalidInputError: an unknown version, or the minimum above the maximum.
    """
    for value in (min_version, max_version):
        if value is not None and value not in _VERSIONS:
            raise InvalidInputError(f"Unknown TLS version '{value}'", ("Choose 1.2 or 1.3.",))
    if min_version is not None and max_version is not None and _VERSIONS[min_version] > _VERSIONS[max_version]:
        raise InvalidInputError(
            f"The lowest TLS version {min_version} is above the highest {max_version}: no version is left to offer",
            (f"Lower the minimum (--min-tls {max_version}) or raise the maximum (--max-tls {min_version}); to test "
             "one version only, give it as both.",))


class VersionRange(TypedDict):
    """The TLS versions a client was limited to ("1.2", "1.3", or None for no limit), as ``explain_failure`` takes
    them."""

    min_version: str | None
    max_version: str | None


def version_range(context: ssl.SSLContext | None) -> VersionRange:
    """The TLS versions a context was limited to, for the advice after a failed connection."""
    names = {version: name for name, version in _VERSIONS.items()}
    if context is None:
        return VersionRange(min_version=None, max_version=None)
    return VersionRange(min_version=names.get(context.minimum_version),
                        max_version=names.get(context.maximum_version))


def client_context(*, trust: Sequence[x509.Certificate] | None = None, verify: bool = True,
                   server_name: str | None = None, identity: ClientIdentity | None = None,
                   min_version: str | None = None, max_version: str | None = None) -> SniContext:
    """A client context: trust from the given certificates (or the system's), optional client identity and SNI name.

    Raises:
        InvalidInputError: an unknown TLS version.
        TlsError: the client certificate and key cannot be loaded.
    """
    context = SniContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name_override = server_name
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif trust:
        pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in trust)
        context.load_verify_locations(cadata=pem)
    else:
        context.load_default_certs()
    check_version_range(min_version, max_version)
    for attribute, value in (("minimum_version", min_version), ("maximum_version", max_version)):
        if value is not None:
            setattr(context, attribute, _VERSIONS[value])
    if identity is not None:
        _load_identity(context, identity)
    return context


def trust_from_pem(data: bytes) -> tuple[x509.Certificate, ...]:
    """Certificates the HTTPS and MQTT clients trust (e.g. the local platform's CA file)."""
    return tuple(x509.load_pem_x509_certificates(data))


def server_context(trust: Sequence[x509.Certificate]) -> ssl.SSLContext:
    """The HTTPS trust for the platform client: the given certificates, or the system's when there are none."""
    return client_context(trust=list(trust) or None)


def watch_certificate_request(context: ssl.SSLContext) -> list[bool]:
    """Note whether the server sends a CertificateRequest (TLS 1.2 and 1.3); returns a one-slot flag list.

    Uses CPython's handshake message hook (``_msg_callback``), present since 3.8; without it the flag stays False.
    """
    seen = [False]

    def hook(_conn: object, direction: str, _version: object, content_type: object, msg_type: object,
             _data: bytes) -> None:
        # The message-type enums are private to CPython's ssl module and absent from typeshed.
        if (direction == "read" and content_type == ssl._TLSContentType.HANDSHAKE  # type: ignore[attr-defined]
                and msg_type == ssl._TLSMessageType.CERTIFICATE_REQUEST):  # type: ignore[attr-defined]
            seen[0] = True

    if hasattr(context, "_msg_callback"):
        context._msg_callback = hook
    return seen


@dataclass(frozen=True)
class HandshakeReport:
    """What `openssl s_client -showcerts` tells: the presented chain, version, cipher, and whether a client
    certificate was asked for."""

    host: str
    port: int
    server_name: str | None
    version: str
    cipher: str
    chain: tuple[x509.Certificate, ...]
    client_cert_requested: bool
    client_cert_sent: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """For --json: certificates as PEM text plus subject/issuer."""
        return {
            "host": self.host, "port": self.port, "server_name": self.server_name, "version": self.version,
            "cipher": self.cipher, "client_cert_requested": self.client_cert_requested,
            "client_cert_sent": self.client_cert_sent, "warnings": list(self.warnings),
            "chain": [{"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
                       "pem": c.public_bytes(serialization.Encoding.PEM).decode()} for c in self.chain],
        }


def chain_from_der(ders: Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    """Certificates from the DER blobs a handshake presented."""
    return tuple(x509.load_der_x509_certificate(d) for d in ders)


TRUST_CHOICES = ("leaf", "root", "chain")

# Which certificate a truststore needs, in words for `tls fetch --which`, its remarks and the docs.
TRUSTSTORE_ADVICE = (
    "A truststore needs one certificate of the server's chain that the device's TLS library accepts as an anchor. "
    "The guide stores the server's own certificate (leaf): its Java client accepts any certificate of the chain, "
    "but the leaf must be replaced whenever the server renews it. The root CA lasts, and OpenSSL-based clients "
    "(mosquitto, paho-mqtt for Python, this workbench) accept nothing else: store the root (--which root).")


def is_self_signed(cert: x509.Certificate) -> bool:
    """Whether ``cert`` is a root: issued by itself (a CA at the top of a chain)."""
    return cert.subject == cert.issuer


def _no_root_remark(top: x509.Certificate) -> str:
    return (f"The server did not send its root; the top certificate sent ('{top.subject.rfc4514_string()}') is not "
            f"a root: it was issued by '{top.issuer.rfc4514_string()}'. Java clients accept it as an anchor; "
            "OpenSSL-based clients (mosquitto, paho-mqtt for Python, this workbench) need that root CA: get it from "
            "the CA and add it with 'workbench truststore add'.")


@dataclass(frozen=True)
class TrustChoice:
    """The certificates to put into a truststore from a presented chain, and what the user should know about them."""

    certificates: tuple[x509.Certificate, ...]
    remarks: tuple[str, ...] = ()


def certificates_to_trust(chain: Sequence[x509.Certificate], which: str = "leaf") -> TrustChoice:
    """What `tls fetch --which leaf|root|chain` stores: the server's own certificate (the guide's
    serverCertificate.pem), the top of the chain it sent, or the whole chain as sent (leaf first).

    Raises:
        InvalidInputError: empty chain or unknown choice.
    """
    if not chain:
        raise InvalidInputError("The server presented no certificate", ("Check host, port and server name.",))
    if which not in TRUST_CHOICES:
        raise InvalidInputError(f"Unknown choice '{which}'", (f"Choose {', '.join(TRUST_CHOICES)}.",))
    top = chain[-1]
    remarks: list[str] = []
    if which == "leaf":
        picked: tuple[x509.Certificate, ...] = (chain[0],)
        if not is_self_signed(chain[0]):
            remarks.append("Stored the server's own certificate, as the guide does: Java clients trust it until the "
                           "server renews it. OpenSSL-based clients (mosquitto, paho-mqtt for Python, this "
                           "workbench) need the root CA instead: --which root.")
    elif which == "root":
        picked = (top,)
        if not is_self_signed(top):
            remarks.append(_no_root_remark(top))
    else:
        picked = tuple(chain)
        if not is_self_signed(top):
            remarks.append(_no_root_remark(top))
    return TrustChoice(picked, tuple(remarks))


def trust_anchor(chain: Sequence[x509.Certificate], which: str = "leaf") -> tuple[x509.Certificate, str | None]:
    """The one certificate to put in a truststore: the server's own ('leaf') or the top of its chain ('root').

    Returns the certificate and a remark when the server did not send its root (for 'root').

    Raises:
        InvalidInputError: empty chain or unknown choice.
    """
    if which not in ("leaf", "root"):
        raise InvalidInputError(f"Unknown choice '{which}'", ("Choose leaf or root.",))
    choice = certificates_to_trust(chain, which)
    return choice.certificates[0], (choice.remarks[0] if which == "root" and choice.remarks else None)


def anchor_remark(cert: x509.Certificate) -> str | None:
    """A remark when a certificate taken as the top of a server's chain is not a root (the GUI's "trust a server")."""
    return None if is_self_signed(cert) else _no_root_remark(cert)


_ALERT = re.compile(r"(?:ALERT_|TLSV1_)(?!ALERT)([A-Z_]+)")  # TLSV1_UNRECOGNIZED_NAME has no ALERT_


def _alert_name(exc: ssl.SSLError) -> str | None:
    match = _ALERT.search(str(getattr(exc, "reason", "") or exc))
    return match.group(1).lower().replace("_", " ") if match else None


# OpenSSL's X509_V_ERR_* numbers that get their own advice.
_HOSTNAME_MISMATCH, _IP_MISMATCH = 62, 64
_NOT_YET_VALID, _EXPIRED = 9, 10
_NO_ISSUER, _SELF_SIGNED_IN_CHAIN = 2, 19
_FETCH_ROOT = "workbench tls fetch HOST:PORT --which root --to-truststore FILE"


def _untrusted(exc: ssl.SSLCertVerificationError, where: str, sni: str, name: str) -> tuple[str, tuple[str, ...]]:
    """The summary and causes of a failed certificate check, by OpenSSL's verify code."""
    said = exc.verify_message or str(exc)
    code = exc.verify_code
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
        return (f"The server certificate of {where} is not valid for the name '{name}'",
                (said, "The certificate names other hosts: connect with a name it carries (workbench tls fetch "
                       "HOST:PORT shows the certificate), or send one of its names as the SNI server name "
                       "(--servername, or the profile's SNI override).",
                 "The CA is trusted; only the name differs, so changing the truststore does not help."))
    if code in (_EXPIRED, _NOT_YET_VALID):
        return (f"The server certificate of {where} is not valid now{sni}",
                (said, "Check this computer's clock and date; otherwise the server must renew its certificate."))
    causes = {
        _SELF_SIGNED_IN_CHAIN: "The server sent its root CA, but the truststore or CA file does not hold it: add "
                               f"that root ({_FETCH_ROOT}).",
        _NO_ISSUER: "The truststore holds a certificate of the chain, but not the root CA at its top: OpenSSL-based "
                    "clients accept only a root as anchor. Add the root CA.",
    }
    return (f"The server certificate of {where} is not trusted{sni}",
            (said, causes.get(code, "The truststore or CA file holds no CA this chain leads to: add the server's root "
                                    "CA, and its intermediate CA too when the server does not send it (workbench tls "
                                    "fetch HOST:PORT shows the chain the server sends).")))


def _version_causes(min_version: str | None, max_version: str | None) -> tuple[str, ...]:
    """Why client and server found no common TLS version, from what the client was allowed to offer."""
    if max_version == "1.2":
        return ("The server speaks TLS 1.3 only, and the client was held to TLS 1.2 (maximum version 1.2, "
                "--max-tls 1.2): raise the maximum to 1.3, or leave it out.",)
    if min_version == "1.3":
        return ("The server does not speak TLS 1.3 (it stops at TLS 1.2 or below), and the client offered TLS 1.3 "
                "only (minimum version 1.3, --min-tls 1.3): lower the minimum to 1.2, or leave it out.",)
    return ("The server speaks neither TLS 1.2 nor TLS 1.3: it may be an old server that stops at TLS 1.0 or 1.1, "
            "which the workbench does not offer.",)


def explain_failure(exc: BaseException, *, host: str, port: int, server_name: str | None = None,
                    timeout: float | None = None, cert_requested: bool = False, cert_sent: bool = False,
                    min_version: str | None = None, max_version: str | None = None,
                    kind: type[E] = TlsError) -> E:  # type: ignore[assignment]  # the default's E is TlsError
    """Turn a socket or TLS exception into words naming the likely causes: the one explanation of a failed
    connection, for the handshake inspector (a TlsError) and the MQTT session (kind=MqttConnectError) alike.
    ``min_version``/``max_version`` are the TLS versions the client was allowed ("1.2", "1.3"), for the advice."""
    where = f"{host}:{port}"
    sni = f" (server name '{server_name}')" if server_name else ""
    cert_causes = (("The server asked for a client certificate and none was sent: give the device keystore.",)
                   if cert_requested and not cert_sent else
                   ("The server did not accept the client certificate: its CA is not trusted there.",)
                   if cert_requested else ())
    if isinstance(exc, ConnectionRefusedError):
        return kind(f"Connection refused by {where}",
                    ("Nothing listens on that port: check the port (MQTT over TLS is usually 8883).",
                     "The server is not running, or a firewall rejects the connection."))
    if isinstance(exc, socket.gaierror):
        return kind(f"Cannot resolve the host name '{host}'", ("Check the spelling and your DNS/network.",))
    if isinstance(exc, TimeoutError | socket.timeout):
        waited = f" within {timeout:g} s" if timeout else ""
        return kind(f"No answer from {where}{waited}",
                    ("The host is down or a firewall drops the packets.",
                     "The port may not speak TLS (plain MQTT is 1883), so the handshake never completes."))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return kind(*_untrusted(exc, where, sni, server_name or host))
    if isinstance(exc, ssl.SSLError):
        alert = _alert_name(exc)
        if alert == "certificate required" or (alert in ("handshake failure", "bad certificate") and cert_requested):
            return kind(f"{where} asked for a client certificate and refused the connection (TLS alert "
                        f"'{alert}')", cert_causes or ("Give the device keystore (--keystore).",))
        if alert:
            causes = {"unrecognized name": (f"The server does not serve the name '{server_name or host}' (SNI).",),
                      "protocol version": _version_causes(min_version, max_version),
                      "unknown ca": ("The server does not trust the CA of the client certificate: upload the CA "
                                     "that signed the device certificate to the platform.",
                                     "Send the full chain: the keystore must hold the device key with its chain.")}
            return kind(f"{where} ended the handshake with the TLS alert '{alert}'{sni}",
                        causes.get(alert, cert_causes or (str(exc),)))
        if "UNSUPPORTED_PROTOCOL" in str(exc):  # the server chose a version the client does not offer
            return kind(f"{where} and this client share no TLS version{sni}", _version_causes(min_version, max_version))
        if "NO_PROTOCOLS_AVAILABLE" in str(exc):
            return kind("No TLS version is left to offer", (f"Allowed: {min_version or '1.2'} to {max_version or '1.3'}"
                                                            "; check the minimum and maximum TLS versions.",))
        if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc).lower():
            return kind(f"{where} does not speak TLS", ("It may be a plain (non-TLS) port, e.g. MQTT on 1883.",))
        if isinstance(exc, ssl.SSLEOFError) or "EOF" in str(exc):
            return _closed(where, sni, cert_causes, kind)
        return kind(f"The TLS handshake with {where} failed{sni}", (str(exc),))
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return _closed(where, sni, cert_causes, kind)
    if isinstance(exc, OSError):
        return kind(f"Cannot connect to {where}", (exc.strerror or str(exc),))
    return kind(f"The connection to {where} failed", (str(exc),))


def _closed(where: str, sni: str, cert_causes: tuple[str, ...], kind: type[E]) -> E:
    return kind(f"{where} closed the connection during the TLS handshake{sni}",
                (*cert_causes, "The server may not serve this SNI name.", "The port may not speak TLS."))
