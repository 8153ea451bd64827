"""SNI virtual hosts on the local platform and the sandbox (issue 20), checked the way Hono's guide checks them.

A key store made by `openssl pkcs12 -export` and `keytool -importkeystore` (independent tools) serves 8883, 8443
and the sandbox's TLS port; `openssl s_client -servername` reads which certificate each name gets, curl reaches a
tenant domain with `--resolve`, and a paho client sets the server name itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings
from tests.platform.conftest import wait_event
from tests.platform.support import ROOT, Cert, Rest, make_ca

PASSWORD = "vhost-store-pw"
HOSTS = {"alpha": ("alpha.example.test",), "beta": ("beta.example.test",), "wild": ("*.wild.example.test",)}
pytestmark = pytest.mark.skipif(not all(map(lambda t: subprocess.run(["which", t], capture_output=True).returncode
                                            == 0, ("openssl", "keytool", "curl"))),
                                reason="needs openssl, keytool and curl")


def _server(ca: Cert, names: tuple[str, ...]) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Cert(key, cert, [cert, ca.cert])


@pytest.fixture(scope="module")
def vhost_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One PKCS#12 key store with three entries (alpha, beta, a wildcard), built by openssl and keytool."""
    folder = tmp_path_factory.mktemp("vhosts")
    ca = make_ca("Virtual Host CA")
    (folder / "ca.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    (folder / "password").write_text(PASSWORD + "\n")
    store = folder / "vhosts.p12"
    env = {**os.environ, "STOREPW": PASSWORD}
    for alias, names in HOSTS.items():
        cert, key = _server(ca, names).write(folder, alias)
        single = folder / f"{alias}.p12"
        subprocess.run(["openssl", "pkcs12", "-export", "-name", alias, "-in", str(cert), "-inkey", str(key),
                        "-out", str(single), "-passout", "env:STOREPW"], check=True, env=env, capture_output=True)
        subprocess.run(["keytool", "-importkeystore", "-noprompt", "-srckeystore", str(single), "-srcstoretype",
                        "PKCS12", "-srcstorepass:env", "STOREPW", "-destkeystore", str(store), "-deststoretype",
                        "PKCS12", "-deststorepass:env", "STOREPW"], check=True, env=env, capture_output=True)
    return {"folder": folder, "store": store, "ca": folder / "ca.pem"}


def served(port: int, server_name: str | None) -> x509.Certificate:
    """The certificate `openssl s_client -servername` gets (no -servername: no SNI at all)."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"]
    command += ["-servername", server_name] if server_name else ["-noservername"]
    result = subprocess.run(command, input=b"", capture_output=True, timeout=20)
    return x509.load_pem_x509_certificates(result.stdout)[0]


def dns_names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)


def cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.fixture
def keystore_platform(vhost_store: dict[str, Any]) -> Iterator[BackgroundLocalPlatform]:
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0,
                                server_keystore=vhost_store["store"], server_keystore_password=PASSWORD.encode(),
                                default_server_alias="beta")
    background = BackgroundLocalPlatform(settings).start()
    yield background
    background.stop()


@pytest.mark.parametrize("listener", ["mqtts", "https"])
def test_the_key_store_serves_each_name_its_entry_and_unknown_names_the_default(keystore_platform, listener) -> None:
    port = keystore_platform.ports[listener]
    assert dns_names(served(port, "alpha.example.test")) == ["alpha.example.test"]
    assert dns_names(served(port, "beta.example.test")) == ["beta.example.test"]
    assert dns_names(served(port, "dev.wild.example.test")) == ["*.wild.example.test"]
    assert dns_names(served(port, "other.example")) == ["beta.example.test"]  # --default-server-alias beta
    assert dns_names(served(port, None)) == ["beta.example.test"]
    assert "SNI alpha.example.test → alias alpha" in wait_event(
        keystore_platform, "sni", lambda e: "alpha" in e["message"])["message"]
    assert "no entry matches" in wait_event(keystore_platform, "sni", lambda e: "other.example" in e["message"])[
        "message"]


def test_a_tenant_domain_gets_its_own_certificate_and_curl_reaches_it_as_that_tenant(local, rest: Rest,
                                                                                    ca_path: Path) -> None:
    created = rest.call("POST", "/platform/tenants", {"id": "t200"}).json
    for port in (local.ports["mqtts"], local.ports["https"]):
        t200 = served(port, "t200.localhost")
        assert (cn(t200), dns_names(t200)) == ("t200.localhost", ["t200.localhost"])
        assert cn(served(port, "t100.localhost")) == "t100.localhost"
        assert cn(served(port, "other.example")) == "localhost"  # unknown names: the platform's own, as before
        assert cn(served(port, None)) == "localhost"
    https = local.ports["https"]

    def curl(*extra: str, host: str = "t200.localhost", user: str = f"admin:{created['password']}") -> Any:
        command = ["curl", "-sS", "--resolve", f"{host}:{https}:127.0.0.1", "--cacert", str(ca_path),
                   "-u", user, "-w", "\n%{http_code}", *extra, f"https://{host}:{https}/tenant/currentTenant"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr  # the certificate has a name for the tenant domain
        body, _, code = out.stdout.rpartition("\n")
        return int(code), json.loads(body)

    assert curl() == (200, curl()[1]) and curl()[1]["name"] == "t200"  # a bare login is the domain's tenant's
    assert curl(host="t100.localhost", user=f"admin:{rest.password}")[1]["name"] == "t100"
    status, body = curl(user=f"t100/admin:{rest.password}")
    assert status == 401 and "this request is for tenant t200" in body["message"]
    status, body = curl("-H", f"Host: t100.localhost:{https}")  # SNI t200, Host t100
    assert status == 421 and body["error"] == "general/Misdirected Request"
    assert "t200.localhost" in body["message"] and "t100.localhost" in body["message"]


class _ServerName(ssl.SSLContext):
    """Sends a chosen SNI name whatever host paho connects to (paho passes its host as server_hostname)."""

    forced_name = ""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        kwargs["server_hostname"] = self.forced_name
        return super().wrap_socket(sock, *args, **kwargs)


def test_a_paho_client_with_server_hostname_verifies_the_tenant_certificate(local, rest: Rest, ca_path) -> None:
    rest.call("POST", "/platform/tenants", {"id": "t200"})
    ctx = _ServerName(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca_path))  # check_hostname stays on: the name must be in the served SAN
    ctx.forced_name = "t200.localhost"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sni-probe", protocol=mqtt.MQTTv311)
    client.tls_set_context(ctx)
    client.connect("127.0.0.1", local.ports["mqtts"], 10)
    try:
        peer = x509.load_der_x509_certificate(client.socket().getpeercert(binary_form=True))
    finally:
        client.disconnect()
    assert dns_names(peer) == ["t200.localhost"]
    assert "SNI t200.localhost → alias t200" in wait_event(local, "sni", lambda e: "t200" in e["message"])["message"]


def _ports(process: subprocess.Popen[str]) -> dict[str, int]:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("embedded-broker ports:"), line
    return {k: int(v) for k, v in (p.split("=") for p in line.split(": ", 1)[1].split())}


def test_the_sandbox_tls_port_serves_the_key_store(vhost_store: dict[str, Any]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--sandbox", "--port", "0", "--tls-port", "0",
                                "--server-keystore", str(vhost_store["store"]), "--server-keystore-password-file",
                                str(vhost_store["folder"] / "password"), "--sys-interval", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        port = _ports(process)["mqtts"]
        assert dns_names(served(port, "alpha.example.test")) == ["alpha.example.test"]
        assert dns_names(served(port, "beta.example.test")) == ["beta.example.test"]
        assert dns_names(served(port, "other.example")) == ["alpha.example.test"]  # no default alias: the first
        ctx = _ServerName(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(str(vhost_store["ca"]))
        ctx.forced_name = "beta.example.test"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sandbox-sni", protocol=mqtt.MQTTv5)
        client.tls_set_context(ctx)
        assert client.connect("127.0.0.1", port, 10) == mqtt.MQTT_ERR_SUCCESS
        peer = x509.load_der_x509_certificate(client.socket().getpeercert(binary_form=True))
        client.disconnect()
        assert cn(peer) == "beta.example.test"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        assert process.stdout is not None
        process.stdout.close()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "embedded_broker", "--ephemeral", "--mqtt-port", "0",
                           "--mqtts-port", "0", "--https-port", "0", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=30)


def test_key_store_mistakes_are_explained(vhost_store: dict[str, Any]) -> None:
    store = str(vhost_store["store"])
    no_password = _run("--server-keystore", store)
    assert no_password.returncode == 2 and "--server-keystore-password-env" in no_password.stderr
    wrong = _run("--server-keystore", store, "--server-keystore-password-env", "VH_PW", env={"VH_PW": "nope"})
    assert wrong.returncode == 1 and "password is wrong" in wrong.stderr and "Traceback" not in wrong.stderr
    alias = _run("--server-keystore", store, "--server-keystore-password-env", "VH_PW", "--default-server-alias",
                 "gamma", env={"VH_PW": PASSWORD})
    assert alias.returncode == 1 and "alpha, beta, wild" in alias.stderr and "gamma" in alias.stderr


def _mqtt_login(port: int, ca_path: Path, server_name: str, username: str, password: str) -> int:
    """paho's reason code for the CONNACK of a password login over mqtts that names `server_name` in its TLS hello
    (paho reports MQTT 3.1.1's code 4, bad user name or password, as 134)."""
    ctx = _ServerName(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca_path))
    ctx.forced_name = server_name
    codes: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sni-login", protocol=mqtt.MQTTv311)
    client.tls_set_context(ctx)
    client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, code, _p: codes.append(code.value)
    client.connect("127.0.0.1", port, 10)
    try:
        while not codes:
            client.loop(timeout=0.2)
    finally:
        client.disconnect()
    return codes[0]


def test_an_mqtt_login_on_a_tenant_domain_is_that_tenants(local, rest: Rest, ca_path) -> None:
    created = rest.call("POST", "/platform/tenants", {"id": "t200"}).json
    port, admin_password = local.ports["mqtts"], created["password"]
    assert _mqtt_login(port, ca_path, "t200.localhost", "admin", admin_password) == 0  # bare login: t200's admin
    assert _mqtt_login(port, ca_path, "localhost", "admin", admin_password) == 134  # elsewhere a bare login is t100's
    assert _mqtt_login(port, ca_path, "t200.localhost", "t100/admin", rest.password) == 134  # another tenant's
    refused = wait_event(local, "refused", lambda e: "belongs to tenant t100" in e["message"])
    assert "this connection is for tenant t200 (TLS server name t200.localhost)" in refused["message"]
