"""TLS for the broker's listeners: live contexts with runtime trust anchors, SNI virtual hosts, the peer's full chain.

The stdlib cannot remove an anchor from a live SSLContext, so every change builds fresh contexts and new
connections use them at once; open connections keep theirs. A TLS listener's sockets run `TlsServerProtocol`:
the handshake over memory BIOs on each socket's own clock (its CPU part on worker threads), a failure reported in
words with OpenSSL's alert sent to the client, then a `TlsTransport` under the MQTT connection.
A chain that reaches no anchor fails inside OpenSSL, which does not hand the rejected chain to Python, so the
reason names the failure but not the client's subject.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from embedded_broker.errors import ConfigError

log = logging.getLogger("embedded_broker.tls")
ClientAuth = Literal["none", "optional", "required"]
_VERIFY = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME, which the ssl module does not name
_DER_ENCODING = 2  # _ssl.ENCODING_DER, for Python 3.11's private chain accessors


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
    """Owns a listener's SSL contexts; anchors and client-auth mode may change while the broker runs."""

    def __init__(self, cert_chain_pem: bytes, key_pem: bytes, *, key_password: bytes | None = None,
                 client_auth: ClientAuth = "optional", trust_anchors: Iterable[bytes | x509.Certificate] = (),
                 minimum_version: str = "TLSv1.2", maximum_version: str | None = None,
                 virtual_hosts: Mapping[str, tuple[bytes, bytes]] | None = None, check_time: bool = True) -> None:
        if minimum_version not in _VERSIONS or (maximum_version and maximum_version not in _VERSIONS):
            raise ConfigError(f"TLS versions must be one of {', '.join(_VERSIONS)}")
        self._identity = _Identity(cert_chain_pem, key_pem, key_password)
        self._vhosts = {name.lower(): _Identity(c, k, None) for name, (c, k) in (virtual_hosts or {}).items()}
        self._client_auth: ClientAuth = client_auth
        self._check_time = check_time
        self._anchors: dict[str, x509.Certificate] = {}
        self._versions = (_VERSIONS[minimum_version], _VERSIONS[maximum_version] if maximum_version else None)
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
        current context before the client certificate is verified.
        """
        wrapper = self._context(self._identity)

        def switch(ssl_object: ssl.SSLObject, _server_name: str | None, _ctx: ssl.SSLContext) -> None:
            ssl_object.context = self._default

        wrapper.sni_callback = switch  # type: ignore[assignment]
        return wrapper

    def _add(self, cert: bytes | x509.Certificate) -> str:
        certificate = cert if isinstance(cert, x509.Certificate) else load_certificates(cert)[0]
        key = fingerprint(certificate)
        self._anchors[key] = certificate
        return key

    def _rebuild(self) -> None:
        vhost_contexts = {name: self._context(identity) for name, identity in self._vhosts.items()}
        default = self._context(self._identity)

        def choose(ssl_object: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            """Remember the client's server name and switch to its virtual host; unknown names keep the default."""
            ssl_object._workbench_sni = server_name  # type: ignore[attr-defined]
            chosen = vhost_contexts.get((server_name or "").lower())
            if chosen is not None:
                ssl_object.context = chosen

        default.sni_callback = choose  # type: ignore[assignment]
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


def _chain(ssl_object: Any, verified: bool) -> tuple[bytes, ...]:
    """The peer chain as DER; Python 3.13 has a public method, 3.11 only the private one (platform-notes)."""
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
    return _chain(ssl_object, False) if ssl_object is not None else ()


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


_OPEN, _HANDSHAKING, _FAILED, _CLOSED = range(4)
_WANT_READ = "want-read"  # a handshake step that needs more bytes from the client
_READ_SIZE = 65536
_HANDSHAKE_NICE = 10  # how much lower the handshake threads' OS priority is than the event loop's
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
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="tls-handshake",
                                       initializer=_yield_to_the_loop) if threads > 0 else None

    def close(self) -> None:
        """Abort every socket still in its handshake and stop the threads."""
        for protocol in list(self.pending):
            protocol.abort_handshake()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _yield_to_the_loop() -> None:
    """Handshake threads run at a lower OS priority (Linux: per thread): when the cores are busy, the event loop,
    which serves the connected clients, gets them first, and handshakes take what is left."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HANDSHAKE_NICE)
    except (AttributeError, OSError):  # not on this platform: same priority as the loop
        pass


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
            transport.abort()
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
                           _chain(ssl_object, False), _chain(ssl_object, True))
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
        return self._raw.get_write_buffer_limits()  # type: ignore[no-any-return]

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
