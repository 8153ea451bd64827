"""Black-box helpers for the local platform tests: a certificate factory with the knobs the refusal rules need,
a plain urllib REST client, and a paho device client over mutual TLS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import queue
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings

WAIT = 10.0
ROOT = Path(__file__).resolve().parents[2]
PROCESS_ADMIN_PASSWORD = "process-test-Admin-passw0rd"
_V3_CODES = {0: 0, 0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}
NOW = dt.datetime.now(dt.UTC)
PEM = serialization.Encoding.PEM


@dataclass
class Cert:
    """A certificate, its key and the chain above it (leaf first)."""

    key: Any
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(PEM).decode()

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(PEM) for c in self.chain)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def write(self, folder: Path, name: str, leaf_only: bool = False) -> tuple[Path, Path]:
        """cert chain and key files (0600) for paho, mosquitto and openssl."""
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
        cert_path.write_bytes(self.cert.public_bytes(PEM) if leaf_only else self.chain_pem())
        key_path.write_bytes(self.key_pem())
        key_path.chmod(0o600)
        return cert_path, key_path

    def issue(self, cn: str, *, ca: bool = False, path_length: int | None = None, days: int = 365,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None) -> Cert:
        """A device (client) certificate or an intermediate CA signed by this one."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or NOW - dt.timedelta(days=1)
        builder = _builder(cn, key, self.cert.subject, start, not_after or start + dt.timedelta(days=days))
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                                        critical=True)
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                        critical=False)
        if ca:
            builder = builder.add_extension(_ca_usage(), critical=True)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Cert(key, cert, [cert, *self.chain])


def _builder(cn: str, key: Any, issuer: x509.Name, start: dt.datetime, end: dt.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def make_ca(cn: str = "Rehearsal Root CA", *, path_length: int | None = None, ca: bool = True,
            days: int = 3650, not_after: dt.datetime | None = None, key: Any = None) -> Cert:
    """A self-signed root (ca=False gives the non-CA certificate the upload must refuse)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = NOW - dt.timedelta(days=2)
    builder = _builder(cn, key, name, start, not_after or start + dt.timedelta(days=days))
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                                    critical=True)
    if ca:
        builder = builder.add_extension(_ca_usage(), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    return Cert(key, cert, [cert])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Rest:
    """urllib over HTTPS, trusting the platform's CA; Basic auth by default, or a Bearer token or a client cert."""

    def __init__(self, port: int, ca_path: Path, user: str = "t100/admin", password: str = "") -> None:
        self.port = port
        self.base = f"https://127.0.0.1:{port}"
        self.ca_path = ca_path
        self.user, self.password = user, password

    def as_user(self, user: str, password: str) -> Rest:
        """A client of the same platform that logs in as someone else."""
        return Rest(self.port, self.ca_path, user, password)

    @property
    def basic_auth(self) -> str:
        """The Authorization header value for this user, for clients that build their own requests."""
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def context(self, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None, auth: bool = True,
             cert: tuple[Path, Path] | None = None, headers: dict[str, str] | None = None,
             accept: str | None = "application/json", raw: bytes | None = None,
             content_type: str = "application/json", timeout: float = WAIT) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if accept:
            request.add_header("Accept", accept)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        elif auth:
            request.add_header("Authorization", self.basic_auth)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, context=self.context(cert), timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read())

    def object_id(self, serial: str) -> str:
        """The managed object id of the device whose `c8y_Serial` is `serial`."""
        return self.call("GET", f"/identity/externalIds/c8y_Serial/{serial}").json["managedObject"]["id"]

    def upload(self, ca: Cert, *, auto: bool = True, status: str = "ENABLED", name: str = "Rehearsal CA",
               tenant: str = "t100") -> Response:
        return self.call("POST", f"/tenant/tenants/{tenant}/trusted-certificates",
                         {"name": name, "status": status, "autoRegistrationEnabled": auto, "certInPemFormat": ca.pem})

    def multipart(self, path: str, filename: str, content: bytes, fields: dict[str, str] | None = None,
                  timeout: float = WAIT) -> Response:
        boundary = "----workbench-test-boundary"
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                 for k, v in (fields or {}).items()]
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                     "Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
        raw = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.call("POST", path, raw=raw, content_type=f"multipart/form-data; boundary={boundary}",
                         timeout=timeout)



def admin_rest(background: BackgroundLocalPlatform) -> Rest:
    """The tenant admin's REST client of a running in-process platform."""
    assert background.local is not None and background.local.server_ca_path is not None
    return Rest(background.ports["https"], background.local.server_ca_path, "t100/admin",
                background.local.admin_password or "")


class EnrolledPlatform:
    """A running platform with an admin client, an uploaded root CA (auto-registration on), one device certificate
    and its token, and one managed object: the common ground of the tests that throw hostile input at it."""

    def __init__(self, background: BackgroundLocalPlatform, folder: Path, name: str) -> None:
        self.background = background
        self.rest = admin_rest(background)
        self.root = make_ca(f"{name} Root")
        uploaded = self.rest.upload(self.root)
        assert uploaded.status == 201, uploaded.body
        self.fingerprint: str = uploaded.json["fingerprint"]
        self.device_cert = self.root.issue(f"dev-{name.lower()}")
        self.device_files = self.device_cert.write(folder, f"dev-{name.lower()}")
        answer = self.rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=self.device_files)
        assert answer.status == 200, answer.body
        self.token: str = answer.json["accessToken"]
        created = self.rest.call("POST", "/inventory/managedObjects", {"name": name.lower(), "c8y_IsDevice": {}})
        assert created.status == 201, created.body
        self.mo_id: str = created.json["id"]


@contextmanager
def enrolled_platform(folder: Path, name: str) -> Iterator[EnrolledPlatform]:
    """An in-process platform on free ports, enrolled as `EnrolledPlatform` describes, stopped when the block ends."""
    background = BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0,
                                                          sys_interval=0)).start()
    try:
        yield EnrolledPlatform(background, folder, name)
    finally:
        background.stop()


def start_platform(data_dir: Path, admin_password: str = PROCESS_ADMIN_PASSWORD) -> tuple[subprocess.Popen[str], Rest]:
    """`python -m embedded_broker --data-dir` on free ports, as the workbench starts it, for tests that kill it."""
    env = {**os.environ, "EMBEDDED_BROKER_ADMIN_PASSWORD": admin_password}
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--data-dir", str(data_dir),
                                "--mqtt-port", "0", "--mqtts-port", "0", "--https-port", "0", "--sys-interval", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    assert process.stdout is not None
    ports_line, ca_line = process.stdout.readline().strip(), process.stdout.readline().strip()
    assert ports_line.startswith("embedded-broker ports:"), ports_line
    ports = dict(p.split("=") for p in ports_line.split(": ", 1)[1].split())
    return process, Rest(int(ports["https"]), Path(ca_line.split(": ", 1)[1]), "t100/admin", admin_password)


def stop_platform(process: subprocess.Popen[str], how: signal.Signals) -> None:
    """Signal the platform process of `start_platform` (if it still runs), reap it and close its pipe."""
    if process.poll() is None:
        process.send_signal(how)
    process.wait(30)
    if process.stdout is not None:
        process.stdout.close()


class Device:
    """paho 2.x MQTT 3.1.1 client over TLS with a client certificate; queues for CONNACKs and messages."""

    def __init__(self, port: int, ca_path: Path, client_id: str, cert: tuple[Path, Path] | None = None,
                 username: str | None = None, password: str | None = None, version: int = 4,
                 clean: bool = True) -> None:
        protocol = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}[version]
        options: dict[str, Any] = {} if version == 5 else {"clean_session": clean}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, **options)
        self.client.tls_set(ca_certs=str(ca_path), certfile=str(cert[0]) if cert else None,
                            keyfile=str(cert[1]) if cert else None)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.port, self.version = port, version
        self.connacks: queue.Queue[Any] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subacks: queue.Queue[Any] = queue.Queue()
        self.disconnects: queue.Queue[Any] = queue.Queue()
        self.session_present: bool | None = None
        self.client.on_connect = lambda c, u, flags, rc, props: (
            setattr(self, "session_present", flags.session_present), self.connacks.put(rc))
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subacks.put(codes)
        self.client.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put(rc)
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def connect(self) -> int:
        """The CONNACK return code (0 accepted, 5 not authorized).

        Raises:
            ConnectionError: the server closed the connection before any CONNACK (a TLS 1.3 rejection of the
                client certificate arrives after the client's handshake finished).
        """
        self.client.connect("127.0.0.1", self.port, 30)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                rc = self.connacks.get(timeout=0.05)
            except queue.Empty:
                if self._closed.is_set():
                    raise ConnectionError(f"closed before CONNACK: {self._error}") from None
                continue
            code = rc.value if hasattr(rc, "value") else int(rc)
            # paho 2 reports v3 return codes as v5 reason codes; give back what was on the wire
            return code if self.version == 5 else _V3_CODES.get(code, code)
        raise TimeoutError("no CONNACK")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.client.loop(0.02) != mqtt.MQTT_ERR_SUCCESS:
                    break
            except (OSError, ssl.SSLError) as exc:
                self._error = exc
                break
        self._closed.set()

    def subscribe(self, topic: str, qos: int = 0) -> list[Any]:
        self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=WAIT)

    def publish(self, topic: str, payload: str | bytes = b"", qos: int = 0) -> None:
        info = self.client.publish(topic, payload, qos)
        if qos:
            info.wait_for_publish(WAIT)

    def expect(self, topic: str, timeout: float = WAIT) -> str:
        """The payload of the next message on `topic` (others are skipped)."""
        while True:
            msg = self.messages.get(timeout=timeout)
            if msg.topic == topic:
                return msg.payload.decode()

    def token(self) -> str:
        """s/dat + empty s/uat → the JWT of `71,<jwt>`."""
        self.subscribe("s/dat")
        self.publish("s/uat", b"")
        line = self.expect("s/dat")
        assert line.startswith("71,"), line
        return line[3:]

    def close(self) -> None:
        self._stop.set()
        try:
            self.client.disconnect()
        except Exception:
            pass
        if self._thread is not None:
            self._thread.join(WAIT)
        self.client._reset_sockets()  # paho keeps its sockets open after a failed TLS connect
