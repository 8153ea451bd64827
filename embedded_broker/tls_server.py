"""The sockets of a TLS listener: each one's handshake over memory BIOs on its own clock, then a TLS transport.

A silent or slow client costs only its own socket: waiting for its bytes holds no lock or slot. The CPU part of a
handshake step runs on low-priority worker threads (OpenSSL releases the GIL inside SSL_do_handshake), a failure
is reported in words with OpenSSL's alert sent to the client, and an established connection gets a `TlsTransport`
that the MQTT connection reads and writes like any stream.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from embedded_broker.tls import TlsManager, TlsPeer, describe_ssl_error, peer_chain_der
from embedded_broker.worker_threads import niced_pool

log = logging.getLogger("embedded_broker.tls")

_OPEN, _HANDSHAKING, _FAILED, _CLOSED = range(4)
_WANT_READ = "want-read"  # a handshake step that needs more bytes from the client
_READ_SIZE = 65536
_ALERT_LINGER = 2.0  # seconds a refused client has to read our alert and close before the socket is aborted


class HandshakeGate:
    """The sockets in the TLS handshake phase (bounded by the listener) and the threads for handshake CPU work.

    Waiting for a client's bytes costs nothing but its socket: no lock or slot is held meanwhile. Only a handshake
    step whose bytes have arrived runs, on one of `threads` worker threads (OpenSSL releases the GIL inside
    SSL_do_handshake, so handshakes use the other cores while the event loop keeps serving connected clients).
    The threads are the CPU limiter: at most `threads` handshake steps compute at once, at a lower OS priority.
    """

    def __init__(self, threads: int) -> None:
        self.pending: set[TlsServerProtocol] = set()
        self.pool = niced_pool(threads, "tls-handshake") if threads > 0 else None

    def close(self) -> None:
        """Abort every socket still in its handshake and stop the threads."""
        for protocol in list(self.pending):
            protocol.abort_handshake()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _handshake_step(ssl_object: ssl.SSLObject) -> BaseException | str | None:
    """One do_handshake call (on a worker thread or the loop): None when done, _WANT_READ, or the failure."""
    try:
        ssl_object.do_handshake()
    except ssl.SSLWantReadError:
        return _WANT_READ
    except Exception as exc:  # reported with words by the protocol, never raised into the loop
        return exc
    return None


class TlsServerProtocol(asyncio.Protocol):
    """One accepted socket of a TLS listener: the handshake over memory BIOs on its own clock, then a TLS transport.

    After the handshake the MQTT side gets an ordinary StreamReader/StreamWriter pair over `TlsTransport`.
    A failed handshake sends OpenSSL's alert (e.g. unknown_ca) and a FIN before the socket closes, so the client
    learns why, instead of a bare reset.
    """

    def __init__(self, manager: TlsManager, gate: HandshakeGate, timeout: float, admit: Callable[[str], bool],
                 established: Callable[[asyncio.StreamReader, asyncio.StreamWriter, TlsPeer], None],
                 failed: Callable[[str, str, str], None]) -> None:
        self._manager = manager
        self._gate = gate
        self._timeout = timeout
        self._admit = admit
        self._established = established
        self._failed = failed
        self._state = _HANDSHAKING
        self._raw: Any = None
        self._ssl: Any = None
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._held: list[bytes] = []
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self._app: asyncio.StreamReaderProtocol | None = None
        self._loop = asyncio.get_running_loop()
        self.peer = ""

    # --- the handshake ------------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit the socket (or close it at once) and start its own handshake clock."""
        self._raw = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        if not self._admit(self.peer):
            self._state = _CLOSED
            self._raw.abort()
            return
        self._gate.pending.add(self)
        self._timer = self._loop.call_later(self._timeout, self._timed_out)

    def data_received(self, data: bytes) -> None:
        """Handshake bytes go to OpenSSL when no step is running; afterwards records are decrypted for MQTT."""
        state = self._state
        if state == _OPEN:
            self._decrypt(data)
        elif state == _HANDSHAKING:
            if self._busy:
                self._held.append(data)
                return
            if self._ssl is None:  # created at the first byte: a silent socket costs no SSL object
                self._ssl = self._manager.context.wrap_bio(self._in, self._out, server_side=True)
            self._in.write(data)
            self._step()

    def _step(self) -> None:
        pool = self._gate.pool
        if pool is None:
            self._stepped(_handshake_step(self._ssl))
            return
        self._busy = True
        pool.submit(_handshake_step, self._ssl).add_done_callback(self._from_thread)

    def _from_thread(self, future: Future[BaseException | str | None]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._stepped_in_thread, future)
        except RuntimeError:  # the loop has ended (broker stopped)
            pass

    def _stepped_in_thread(self, future: Future[BaseException | str | None]) -> None:
        self._busy = False
        if self._state != _HANDSHAKING:  # timed out or closed while the step ran
            return
        # _handshake_step returns its failure rather than raising it; a cancelled step means the server stops.
        self._stepped(ConnectionAbortedError("the server is stopping") if future.cancelled() else future.result())

    def _stepped(self, result: BaseException | str | None) -> None:
        out = self._out.read()
        if result is _WANT_READ:
            if out:
                self._raw.write(out)
            if self._held:
                self._in.write(b"".join(self._held))
                self._held.clear()
                self._step()
            return
        if result is None:
            if out:
                self._raw.write(out)
            self._open()
            return
        assert isinstance(result, BaseException)
        self._fail(result, out)

    def _fail(self, exc: BaseException, alert_bytes: bytes) -> None:
        """Report, send OpenSSL's alert and a FIN, and close once the client has closed (or after a grace)."""
        self._state = _FAILED
        self._held.clear()
        alert, reason = describe_ssl_error(exc)
        self._failed(self.peer, reason, alert)
        raw = self._raw
        if alert_bytes and not raw.is_closing():
            raw.write(alert_bytes)
        if raw.can_write_eof() and not raw.is_closing():
            raw.write_eof()
        else:
            raw.close()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(_ALERT_LINGER, raw.abort)

    def _timed_out(self) -> None:
        self._timer = None
        if self._state == _HANDSHAKING:
            self._state = _FAILED
            self._failed(self.peer, f"the client did not complete the TLS handshake within {self._timeout:g} s "
                                    "(TLS handshake timed out)", "handshake_timeout")
            self._raw.abort()

    def abort_handshake(self) -> None:
        """Close a socket that is still in its handshake, without an event (the server is stopping)."""
        if self._state == _HANDSHAKING:
            self._state = _FAILED
            self._raw.abort()

    def eof_received(self) -> bool | None:
        """The client half-closed: during the handshake that ends it; afterwards the MQTT side sees the end."""
        if self._state == _OPEN:
            self._decrypt(b"", eof=True)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the socket; a handshake cut short by the client is reported in words."""
        self._gate.pending.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        state, self._state = self._state, _CLOSED
        if state == _HANDSHAKING:
            if self._ssl is None:  # a port probe or an idle socket that gave up: no handshake was attempted
                log.debug("%s closed the connection without starting a TLS handshake", self.peer)
            else:
                self._failed(self.peer, "the client closed the connection during the TLS handshake "
                                        f"({exc or 'end of stream'})", "connection_closed")
        elif state == _OPEN and self._app is not None:
            self._app.connection_lost(exc)

    def pause_writing(self) -> None:
        """Backpressure from the socket reaches the MQTT side's writer."""
        if self._app is not None:
            self._app.pause_writing()

    def resume_writing(self) -> None:
        """The socket drained."""
        if self._app is not None:
            self._app.resume_writing()

    # --- after the handshake ------------------------------------------------------------------------------------
    def _open(self) -> None:
        self._state = _OPEN
        self._gate.pending.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ssl_object = self._ssl
        cipher = ssl_object.cipher()
        tls_peer = TlsPeer(ssl_object.version() or "", cipher[0] if cipher else "", _sni(ssl_object),
                           peer_chain_der(ssl_object, False), peer_chain_der(ssl_object, True))
        reader = asyncio.StreamReader(loop=self._loop)
        app = asyncio.StreamReaderProtocol(reader, loop=self._loop)
        self._app = app
        transport = TlsTransport(self)
        app.connection_made(transport)
        writer = asyncio.StreamWriter(transport, app, reader, self._loop)
        self._established(reader, writer, tls_peer)
        held, self._held = b"".join(self._held), []
        self._decrypt(held)  # the client may have sent its CONNECT with its Finished

    def _decrypt(self, data: bytes, eof: bool = False) -> None:
        if data:
            self._in.write(data)
        read = self._ssl.read
        chunks = []
        try:
            while True:
                chunk = read(_READ_SIZE)
                if not chunk:
                    eof = True
                    break
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:  # close_notify
            eof = True
        except ssl.SSLError as exc:
            log.info("TLS error from %s: %s", self.peer, exc.reason or exc)
            self._flush()
            self._raw.abort()
            return
        self._flush()  # post-handshake messages (key update) need an answer
        app = self._app
        assert app is not None
        if chunks:
            app.data_received(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if eof:
            app.eof_received()
            self._raw.close()

    def _flush(self) -> None:
        if self._out.pending and not self._raw.is_closing():
            self._raw.write(self._out.read())


class TlsTransport(asyncio.Transport):
    """The MQTT connection's transport over an established TLS socket: encrypts writes, delegates the rest."""

    def __init__(self, protocol: TlsServerProtocol) -> None:
        super().__init__()
        self._protocol = protocol
        self._raw = protocol._raw
        self._ssl = protocol._ssl
        self._out = protocol._out
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send (the ssl write never blocks on memory BIOs)."""
        if self._closing:
            return
        try:
            self._ssl.write(data)
        except ssl.SSLError as exc:
            log.info("TLS write to %s failed: %s", self._protocol.peer, exc)
            self.abort()
            return
        self._raw.write(self._out.read())

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """One TLS write for all of them."""
        self.write(b"".join(list_of_data))

    def get_write_buffer_size(self) -> int:
        """Encrypted bytes waiting in the socket's buffer."""
        return int(self._raw.get_write_buffer_size())

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The socket's flow-control limits."""
        return self._raw.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the socket's flow-control limits."""
        self._raw.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        """True once close() or abort() was called, or the socket is closing."""
        return self._closing or bool(self._raw.is_closing())

    def close(self) -> None:
        """Send close_notify, then close the socket once its buffer is written (no wait for the client's)."""
        if self._closing:
            return
        self._closing = True
        try:
            self._ssl.unwrap()
        except (ssl.SSLError, ValueError):
            pass  # SSLWantReadError: the client's close_notify is not awaited
        if self._out.pending and not self._raw.is_closing():
            self._raw.write(self._out.read())
        self._raw.close()

    def abort(self) -> None:
        """Close the socket now, dropping unsent data."""
        self._closing = True
        self._raw.abort()

    def pause_reading(self) -> None:
        """Flow control from the reader."""
        self._raw.pause_reading()

    def resume_reading(self) -> None:
        """Flow control from the reader."""
        self._raw.resume_reading()

    def is_reading(self) -> bool:
        """Whether the socket is being read."""
        return bool(self._raw.is_reading())

    def can_write_eof(self) -> bool:
        """TLS has no half-close here."""
        return False

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The MQTT side's protocol."""
        app = self._protocol._app
        assert app is not None
        return app

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """TLS details (ssl_object, sslcontext, peercert, cipher) or the socket's (peername, sockname, ...)."""
        if name == "ssl_object":
            return self._ssl
        if name == "sslcontext":
            return self._ssl.context
        if name == "peercert":
            return self._ssl.getpeercert()
        if name == "cipher":
            return self._ssl.cipher()
        return self._raw.get_extra_info(name, default)


def _sni(ssl_object: Any) -> str | None:
    """The SNI the client sent (kept by the context switch in the SNI callback)."""
    return getattr(ssl_object, "_workbench_sni", None)
