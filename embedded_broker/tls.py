"""TLS for the broker's listeners: live contexts with runtime trust anchors, SNI virtual hosts, the peer's full chain.

The stdlib cannot remove an anchor from a live SSLContext, so every change builds fresh contexts and new
connections use them at once; open connections keep theirs. The sockets of a TLS listener are served by
`tls_server.py`. A chain that reaches no anchor fails inside OpenSSL, which does not hand the rejected chain to
Python, so the reason names the failure but not the client's subject.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import ssl
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from embedded_broker.errors import ConfigError
from embedded_broker.server_keystore import VirtualHost, san_dns_names

log = logging.getLogger("embedded_broker.tls")
ClientAuth = Literal["none", "optional", "required"]
_VERIFY = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME, which the ssl module does not name
_DER_ENCODING = 2  # _ssl.ENCODING_DER, for Python 3.11's private chain accessors
DEFAULT_ALIAS = "default"  # the alias of the certificate given directly (no key store)


@dataclass(frozen=True)
class TlsPeer:
    """What the handshake established; `chain_der` is everything the client sent, leaf first."""

    version: str
    cipher: str
    server_name: str | None
    chain_der: tuple[bytes, ...]
    verified_chain_der: tuple[bytes, ...]

    @property
    def leaf(self) -> x509.Certificate | None:
        """The client certificate, if one was sent."""
        return x509.load_der_x509_certificate(self.chain_der[0]) if self.chain_der else None

    def chain(self) -> list[x509.Certificate]:
        """The sent chain as certificates."""
        return [x509.load_der_x509_certificate(d) for d in self.chain_der]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """PEM bundle or one DER certificate, for anchors given as files or API bytes.

    Raises:
        ConfigError: no certificate in the bytes.
    """
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigError(f"not a PEM or DER certificate: {exc}") from exc


def fingerprint(cert: x509.Certificate) -> str:
    """Lower-case SHA-1 hex of the DER certificate: the platform's certificate id."""
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class TlsManager:
    """Owns a listener's SSL contexts; anchors and client-auth mode may change while the broker runs.

    Virtual hosts (SNI): `server_hosts` (the entries of a server key store) and `extra_hosts` (the local platform's
    tenant domains) each serve the SNI names of their certificate's SAN. An exact name beats a wildcard
    (`*.example.com` matches one label), a key store entry beats an extra host of the same name, and a name that
    matches nothing gets the default: the entry `default_alias`, else the key store's first entry, else the
    certificate given as `cert_chain_pem`. `on_choice(server_name, alias, matched)` is told each choice; it may be
    called on a handshake thread.
    """

    def __init__(self, cert_chain_pem: bytes | None = None, key_pem: bytes | None = None, *,
                 key_password: bytes | None = None, client_auth: ClientAuth = "optional",
                 trust_anchors: Iterable[bytes | x509.Certificate] = (), minimum_version: str = "TLSv1.2",
                 maximum_version: str | None = None, virtual_hosts: Mapping[str, tuple[bytes, bytes]] | None = None,
                 check_time: bool = True, server_hosts: Sequence[VirtualHost] = (), default_alias: str | None = None,
                 extra_hosts: Sequence[VirtualHost] = ()) -> None:
        if minimum_version not in _VERSIONS or (maximum_version and maximum_version not in _VERSIONS):
            raise ConfigError(f"TLS versions must be one of {', '.join(_VERSIONS)}")
        self._server_hosts = [_Host(h, "key store") for h in server_hosts]
        if default_alias is not None:
            aliases = [h.host.alias for h in self._server_hosts]
            if default_alias.lower() not in [a.lower() for a in aliases]:
                raise ConfigError(f"--default-server-alias {default_alias!r} is not an entry of the server key store"
                                  f" (its entries: {', '.join(aliases) or 'none'})")
        if self._server_hosts:
            first = next(h for h in self._server_hosts if default_alias is None or
                         h.host.alias.lower() == default_alias.lower())
            self._default_host = first
            self._identity = first.identity
        elif cert_chain_pem is None or key_pem is None:
            raise ConfigError("a TLS listener needs a server certificate and key, or a server key store")
        else:
            self._identity = _Identity(cert_chain_pem, key_pem, key_password)
            names = san_dns_names(load_certificates(cert_chain_pem)[0])
            self._default_host = _Host(VirtualHost(DEFAULT_ALIAS, names, cert_chain_pem, b""), "server certificate",
                                       self._identity)
        self._server_hosts += [_Host(VirtualHost(name.lower(), (name.lower(),), c, k), "virtual host")
                               for name, (c, k) in (virtual_hosts or {}).items()]
        self._extra_hosts = [_Host(h, "tenant domain") for h in extra_hosts]
        self._client_auth: ClientAuth = client_auth
        self._check_time = check_time
        self._anchors: dict[str, x509.Certificate] = {}
        self._versions = (_VERSIONS[minimum_version], _VERSIONS[maximum_version] if maximum_version else None)
        self.on_choice: Callable[[str | None, str, bool], None] | None = None
        for anchor in trust_anchors:
            self._add(anchor)
        self._rebuild()

    # --- configuration --------------------------------------------------------------------------------------
    def add_trust_anchors(self, data: bytes) -> list[str]:
        """Trust every CA certificate in a PEM bundle (or one DER certificate); returns their fingerprints."""
        added = [self._add(c) for c in load_certificates(data)]
        self._rebuild()
        return added

    def add_trust_anchor(self, cert: bytes | x509.Certificate) -> str:
        """Trust one more CA; new connections see it at once."""
        added = self._add(cert)
        self._rebuild()
        return added

    def remove_trust_anchor(self, cert_or_fingerprint: str | x509.Certificate) -> bool:
        """Stop trusting a CA for new connections (open ones are the broker's business)."""
        key = cert_or_fingerprint.lower() if isinstance(cert_or_fingerprint, str) else fingerprint(cert_or_fingerprint)
        removed = self._anchors.pop(key, None) is not None
        if removed:
            self._rebuild()
        return removed

    def set_trust_anchors(self, certs: Iterable[bytes | x509.Certificate]) -> None:
        """Replace every anchor."""
        self._anchors.clear()
        for cert in certs:
            self._add(cert)
        self._rebuild()

    def trust_anchors(self) -> list[x509.Certificate]:
        """The anchors new connections are checked against."""
        return list(self._anchors.values())

    def set_extra_hosts(self, hosts: Sequence[VirtualHost]) -> None:
        """Replace the extra virtual hosts (the platform's tenant domains); new connections see them at once."""
        self._extra_hosts = [_Host(h, "tenant domain") for h in hosts]
        self._rebuild()

    def virtual_hosts(self) -> list[dict[str, Any]]:
        """What each virtual host serves, default first: alias, names, subject, issuer, expiry, fingerprint, source."""
        listed = []
        for host in [self._default_host] + [h for h in self._server_hosts + self._extra_hosts
                                            if h is not self._default_host]:
            cert = host.host.certificate
            listed.append({"alias": host.host.alias, "names": list(host.host.names), "source": host.source,
                           "default": host is self._default_host, "subject": cert.subject.rfc4514_string(),
                           "issuer": cert.issuer.rfc4514_string(), "notAfter": cert.not_valid_after_utc.isoformat(),
                           "sha256": cert.fingerprint(hashes.SHA256()).hex()})
        return listed

    def set_client_cert_mode(self, mode: str) -> None:
        """none, optional or required."""
        if mode not in _VERIFY:
            raise ConfigError(f"client certificate mode must be none, optional or required, not {mode!r}")
        self._client_auth = mode  # type: ignore[assignment]
        self._rebuild()

    @property
    def client_auth(self) -> ClientAuth:
        """The current client-certificate mode."""
        return self._client_auth

    @property
    def context(self) -> ssl.SSLContext:
        """The context for the next connection (its SNI callback switches to a virtual host's)."""
        return self._default

    def stable_context(self) -> ssl.SSLContext:
        """One context that always verifies with the current anchors, for servers that keep the context they got.

        Its SNI callback (called for every ClientHello, with or without SNI) switches the connection to the
        current context of the name asked for before the client certificate is verified.
        """
        wrapper = self._context(self._identity)

        def switch(ssl_object: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
            self._choose(ssl_object, server_name, ctx)

        wrapper.sni_callback = switch
        return wrapper

    def _add(self, cert: bytes | x509.Certificate) -> str:
        certificate = cert if isinstance(cert, x509.Certificate) else load_certificates(cert)[0]
        key = fingerprint(certificate)
        self._anchors[key] = certificate
        return key

    def _rebuild(self) -> None:
        default = self._context(self._identity)
        exact: dict[str, tuple[str, ssl.SSLContext]] = {}
        wild: dict[str, tuple[str, ssl.SSLContext]] = {}
        for host in [*self._server_hosts, *self._extra_hosts, self._default_host]:  # key store entries win a name
            ctx = default if host is self._default_host else self._context(host.identity)
            for name in host.host.names:
                table = wild if name.startswith("*.") else exact
                table.setdefault(name.removeprefix("*."), (host.host.alias, ctx))
        fallback = (self._default_host.host.alias, default)

        def choose(ssl_object: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            """Remember the client's server name and switch to its virtual host; unknown names get the default."""
            name = (server_name or "").lower().rstrip(".")
            found = exact.get(name) or (wild.get(name.split(".", 1)[1]) if "." in name else None)
            alias, chosen = found or fallback
            ssl_object._workbench_sni = server_name  # type: ignore[attr-defined]
            ssl_object._workbench_alias = alias  # type: ignore[attr-defined]
            if ssl_object.context is not chosen:
                ssl_object.context = chosen
            callback = self.on_choice
            if callback is not None and server_name:
                try:
                    callback(server_name, alias, found is not None)
                except Exception:  # a listener's failure must not fail the client's handshake
                    log.exception("SNI listener failed")

        default.sni_callback = choose
        self._choose = choose
        self._default = default

    def _context(self, identity: _Identity) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = self._versions[0]
        if self._versions[1] is not None:
            ctx.maximum_version = self._versions[1]
        identity.load_into(ctx)
        # With no anchors an optional certificate could only be rejected: do not ask for one then.
        ctx.verify_mode = ssl.CERT_NONE if self._client_auth == "optional" and not self._anchors \
            else _VERIFY[self._client_auth]
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # an uploaded intermediate is an anchor
        if not self._check_time:  # the application judges validity dates itself and says so in words
            ctx.verify_flags |= _NO_CHECK_TIME
        if self._anchors:
            ctx.load_verify_locations(cadata="".join(
                c.public_bytes(serialization.Encoding.PEM).decode() for c in self._anchors.values()))
        return ctx


class _Host:
    """A virtual host and its loaded identity; `source` says where it came from (key store, tenant domain...)."""

    def __init__(self, host: VirtualHost, source: str, identity: _Identity | None = None) -> None:
        self.host = host
        self.source = source
        self.identity = identity or _Identity(host.chain_pem, host.key_pem, None)


class _Identity:
    """A server certificate and key; the key reaches OpenSSL only re-encrypted, through a 0600 temp file."""

    def __init__(self, cert_chain_pem: bytes, key_pem: bytes, password: bytes | None) -> None:
        try:
            key = serialization.load_pem_private_key(key_pem, password)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot read the server key: {exc}") from exc
        self._password = secrets.token_hex(16).encode()
        self._key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(self._password))
        self._chain = cert_chain_pem

    def load_into(self, ctx: ssl.SSLContext) -> None:
        fd_c, cert_path = tempfile.mkstemp(suffix=".pem")
        fd_k, key_path = tempfile.mkstemp(suffix=".pem")
        try:
            for fd, data in ((fd_c, self._chain), (fd_k, self._key)):
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            ctx.load_cert_chain(cert_path, key_path, password=self._password)
        except ssl.SSLError as exc:
            raise ConfigError(f"the server certificate and key do not fit together: {exc}") from exc
        finally:
            os.unlink(cert_path)
            os.unlink(key_path)


def peer_chain_der(ssl_object: Any, verified: bool) -> tuple[bytes, ...]:
    """The peer chain as DER; Python 3.13 has a public method, 3.11 only the private one (docs/platform-notes.md)."""
    public = getattr(ssl_object, "get_verified_chain" if verified else "get_unverified_chain", None)
    if public is not None:
        return tuple(c for c in (public() or ()) if c is not None)
    inner = getattr(ssl_object, "_sslobj", None)
    method = getattr(inner, "get_verified_chain" if verified else "get_unverified_chain", None)
    if method is None:
        return ()
    try:
        return tuple(c.public_bytes(_DER_ENCODING) for c in (method() or ()) if c is not None)
    except ssl.SSLError:
        return ()


def peer_chain(ssl_object: Any) -> tuple[bytes, ...]:
    """The DER chain a client sent on an established TLS connection (leaf first), e.g. for the HTTPS listener."""
    return peer_chain_der(ssl_object, False) if ssl_object is not None else ()


def describe_ssl_error(exc: BaseException) -> tuple[str, str]:
    """An ssl failure as (alert, sentence) for the event log."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = (exc.verify_message or "").lower()
        if "expired" in message:
            return "certificate_expired", "the client's certificate (or a CA in its chain) has expired"
        if "not yet valid" in message:
            return "certificate_not_yet_valid", "the client's certificate is not valid yet (check the clocks)"
        if "issuer" in message or "self-signed" in message or "self signed" in message:
            return "unknown_ca", ("the client's certificate chain does not reach any trusted CA; upload that CA "
                                  "or send the full chain")
        return "bad_certificate", f"the client's certificate was rejected: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc)).upper()
        if "PEER_DID_NOT_RETURN_A_CERTIFICATE" in reason or "CERTIFICATE_REQUIRED" in reason:
            return "certificate_required", "the client sent no certificate, but this listener requires one"
        if "UNKNOWN_CA" in reason or ("BAD_CERTIFICATE" in reason and "ALERT" in reason):
            return "client_rejected_server", "the client does not trust this server's certificate (add our CA)"
        if "VERSION" in reason or "UNSUPPORTED_PROTOCOL" in reason:
            if "WRONG_VERSION_NUMBER" in reason:
                return "not_tls", "the client does not speak TLS on this port (plain MQTT goes to the plain port)"
            return "protocol_version", "the client and this listener share no TLS version"
        if "HTTP_REQUEST" in reason or "UNEXPECTED_MESSAGE" in reason or "RECORD" in reason:
            return "not_tls", "the client does not speak TLS on this port (plain MQTT goes to the plain port)"
        if "NO_SHARED_CIPHER" in reason:
            return "handshake_failure", "the client and this listener share no cipher"
        return "handshake_failure", f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "handshake_timeout", "the client did not complete the TLS handshake in time"
    return "connection_closed", f"the client closed the connection during the TLS handshake ({exc!r})"
