"""A TLS front door on 127.0.0.1:0 that demands an ALPN protocol (as AWS IoT does with x-amzn-mqtt-ca on port 443)
and passes the decrypted bytes to a plain MQTT broker behind it; it records what each client negotiated."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AlpnProxy:
    """The port, and per accepted handshake the protocol the client and the server agreed on (None: none)."""

    port: int
    negotiated: list[str | None] = field(default_factory=list)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def alpn_proxy(cert_chain: Path, key: Path, backend_port: int, protocols: list[str]) -> Iterator[AlpnProxy]:
    """Serve TLS with `protocols` as the only ALPN choices; a client that agrees on none is closed before MQTT."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_chain), str(key))
    context.set_alpn_protocols(protocols)
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = AlpnProxy(listener.getsockname()[1])
    threads: list[threading.Thread] = []

    def serve_one(conn: socket.socket) -> None:
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        chosen = tls.selected_alpn_protocol()
        proxy.negotiated.append(chosen)
        if chosen not in protocols:  # what AWS IoT does on 443: no agreed protocol, no MQTT
            tls.close()
            return
        backend = socket.create_connection(("127.0.0.1", backend_port))
        back = threading.Thread(target=_pump, args=(backend, tls), daemon=True)
        back.start()
        _pump(tls, backend)
        back.join(timeout=5)
        tls.close()
        backend.close()

    def accept() -> None:
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=serve_one, args=(conn,), daemon=True)
            threads.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield proxy
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        acceptor.join(timeout=5)
        for worker in threads:
            worker.join(timeout=5)
