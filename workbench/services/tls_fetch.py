"""`tls fetch`: connect to a server and read the certificate chain it presents, like the guide's
`openssl s_client -showcerts -connect HOST:PORT`. Blocking: the GUI runs it in an executor."""

from __future__ import annotations

import socket
from collections.abc import Sequence

from cryptography import x509

from workbench.core.tls import (
    ClientIdentity,
    HandshakeReport,
    chain_from_der,
    client_context,
    explain_failure,
    watch_certificate_request,
)
from workbench.errors import InvalidInputError, TlsError

DEFAULT_TIMEOUT = 10.0
_DER = 2  # _ssl.ENCODING_DER: Certificate.public_bytes() defaults to PEM text


def parse_endpoint(text: str, default_port: int = 8883) -> tuple[str, int]:
    """HOST:PORT, [v6]:PORT or HOST (default port: MQTT over TLS).

    Raises:
        InvalidInputError: an empty host or a bad port.
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise InvalidInputError(f"No host in '{text}'", ("Write HOST:PORT, e.g. mqtt.example.com:8883.",))
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidInputError(f"'{port_text}' is not a port number", ("Use 1-65535, e.g. 8883.",))
    return host, int(port_text)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def fetch_server_chain(host: str, port: int, *, server_name: str | None = None,
                       identity: ClientIdentity | None = None, timeout: float = DEFAULT_TIMEOUT,
                       min_version: str | None = None, max_version: str | None = None,
                       trust: Sequence[x509.Certificate] | None = None) -> HandshakeReport:
    """Handshake with host:port and return the presented chain without trusting it (it is what you came to get).

    With ``trust`` the handshake also verifies the chain and the name (SNI name, else host).

    Raises:
        InvalidInputError: an unknown TLS version, or a minimum above the maximum (before connecting).
        TlsError: refused, timed out, not TLS, a TLS alert, or a client certificate demanded; said in words.
    """
    context = client_context(verify=trust is not None, trust=trust, server_name=server_name, identity=identity,
                             min_version=min_version, max_version=max_version)
    requested = watch_certificate_request(context)
    hostname = server_name or (None if _is_ip(host) else host)
    if trust is not None and hostname is None:
        context.check_hostname = False  # an IP literal: the certificate chain is still verified
    explain = {"host": host, "port": port, "server_name": server_name, "timeout": timeout,
               "cert_sent": identity is not None, "min_version": min_version, "max_version": max_version}
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise explain_failure(exc, **explain) from exc  # type: ignore[arg-type]
    try:
        with raw, context.wrap_socket(raw, server_hostname=hostname) as tls:
            ders = [c.public_bytes(_DER) for c in tls._sslobj.get_unverified_chain() or ()]  # type: ignore[attr-defined]
            version = tls.version() or "?"
            cipher = (tls.cipher() or ("?",))[0]
    except (OSError, TimeoutError) as exc:
        raise explain_failure(exc, cert_requested=requested[0], **explain) from exc  # type: ignore[arg-type]
    warnings = []
    if requested[0] and identity is None:
        warnings.append("The server asked for a client certificate; none was sent. An MQTT connection will "
                        "need the device keystore.")
    try:
        chain = chain_from_der(ders)
    except ValueError as exc:
        raise TlsError(f"{host}:{port} sent a certificate we cannot read", (str(exc),)) from exc
    return HandshakeReport(host, port, server_name, version, cipher, chain, requested[0], identity is not None,
                           tuple(warnings))

