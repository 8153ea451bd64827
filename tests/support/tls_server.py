"""A real TLS listener on 127.0.0.1:0 in a thread, with SNI virtual hosts and optional client-certificate demand."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from tests.support.certs import Issued


@dataclass
class TlsServer:
    port: int
    server_names: list[str | None] = field(default_factory=list)
    client_subjects: list[str] = field(default_factory=list)


def _context(identity: Issued, folder: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert = folder / f"{name}.pem"
    cert.write_bytes(identity.key_pem() + identity.chain_pem())
    ctx.load_cert_chain(str(cert))
    return ctx


@contextmanager
def tls_server(identity: Issued, folder: Path, *, vhosts: dict[str, Issued] | None = None,
               client_ca: x509.Certificate | None = None, min_version: ssl.TLSVersion | None = None,
               max_version: ssl.TLSVersion | None = None, strict_sni: bool = False) -> Iterator[TlsServer]:
    """Serve TLS handshakes until the block ends; record SNI names and client certificate subjects."""
    contexts = {name: _context(ident, folder, f"vhost-{i}") for i, (name, ident) in enumerate((vhosts or {}).items())}
    default = _context(identity, folder, "default")
    for ctx in (default, *contexts.values()):
        if client_ca is not None:
            from cryptography.hazmat.primitives import serialization
            ctx.load_verify_locations(cadata=client_ca.public_bytes(serialization.Encoding.PEM).decode())
            ctx.verify_mode = ssl.CERT_REQUIRED
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
    listener = socket.create_server(("127.0.0.1", 0))
    server = TlsServer(listener.getsockname()[1])

    def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        server.server_names.append(name)
        if name in contexts:
            sslobj.context = contexts[name]
        elif strict_sni:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    default.sni_callback = pick

    def serve() -> None:
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with default.wrap_socket(conn, server_side=True) as tls:
                    peer = tls.getpeercert()
                    if peer:
                        server.client_subjects.append(str(peer.get("subject")))
                    tls.recv(1)  # wait for the client to close
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(timeout=5)
