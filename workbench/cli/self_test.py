"""`workbench --self-test`: proves an installed bundle works end to end, offscreen, and says what failed.

It starts Qt, issues a certificate with the CA core, round-trips a keystore, starts the local platform as the
app does (a child process of this very executable), connects a device over mutual TLS, gets its token, and
shuts everything down. Exit code 0 means every check passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

CHECKS: list[tuple[str, Callable[[dict], str]]] = []


def check(name: str) -> Callable[[Callable[[dict], str]], Callable[[dict], str]]:
    """Register a check; it returns a one-line result or raises."""
    def register(func: Callable[[dict], str]) -> Callable[[dict], str]:
        CHECKS.append((name, func))
        return func
    return register


@check("qt")
def _qt(state: dict) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from workbench.ui.app import create_application
    from workbench.ui.assembly import build_workbench

    app = create_application()
    bench = build_workbench()  # every page: a module the bundle left out fails here, not in the user's hands
    window = bench.window
    window.show()
    image = window.grab()
    window.close()
    app.processEvents()
    from workbench.ui.widgets.icons import FONT, fonts_loaded

    if not fonts_loaded():  # the window still works with drawn icons, but a bundle must carry the icon font
        raise RuntimeError(f"the icon font {FONT[1]} did not load: is it in the bundle (installer/workbench.spec)?")
    return (f"Qt {app.platformName()} started, main window with {window.pages.count()} pages painted "
            f"{image.width()}×{image.height()}, icons from {FONT[1]}")


@check("ca")
def _ca(state: dict) -> str:
    from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
    from workbench.core.pki.keys import KeySpec, generate_key
    from workbench.core.pki.profiles import device_profile, root_ca_profile

    ca_key = generate_key(KeySpec.EC_P256)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-test CA")])
    ca = Issuer(create_root_ca(name, ca_key, root_ca_profile()), ca_key)
    key = generate_key(KeySpec.EC_P256)
    device = issue_certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-test-device")]),
                               key.public_key(), device_profile(), ca, serial=0x1000)
    state.update(ca=ca, key=key, device=device)
    return f"issued {device.subject.rfc4514_string()} valid until {device.not_valid_after_utc:%Y-%m-%d}"


@check("keystore")
def _keystore(state: dict) -> str:
    from workbench.core.pki.fleet import KeystoreOptions
    from workbench.services.device_bundle import BundleSpec, bundle_files
    from workbench.services.keystores import load_bytes

    kinds = []
    for kind in ("pkcs12", "jks"):
        spec = BundleSpec(keystore=KeystoreOptions(kind, b"self-test"))
        files = bundle_files(spec, state["key"], (state["device"], state["ca"].certificate))
        data = files[spec.names()["keystore"]][0]
        store = load_bytes(data, b"self-test")
        assert [e.alias for e in store.key_entries()] == ["devicekeyentry"], store
        kinds.append(f"{kind} {len(data)} bytes")
    return "device keystore written and read back: " + ", ".join(kinds)


SELF_TEST_PROTO = """syntax = "proto3";
package selftest;
import "google/protobuf/timestamp.proto";
message Reading { string sensor = 1; double value = 2; google.protobuf.Timestamp at = 3; }
"""


@check("payloads")
def _payloads(state: dict) -> str:
    """The payload codecs a bundle must carry: protoc compiles a .proto importing a well-known type (grpc_tools'
    `_proto` folder), the protobuf runtime decodes what it encodes, and CBOR and MessagePack round-trip."""
    import tempfile
    from pathlib import Path

    from workbench.core.console.decoders import CborDecoder, DecoderKind, DecoderSpec, MsgpackDecoder
    from workbench.services.payload_codecs import build_decoder, build_encoder

    with tempfile.TemporaryDirectory(prefix="workbench-self-test-") as folder:
        proto = Path(folder) / "selftest.proto"
        proto.write_text(SELF_TEST_PROTO, encoding="utf-8")
        spec = DecoderSpec(DecoderKind.PROTOBUF, str(proto), "selftest.Reading")
        payload = build_encoder(spec).encode('{"sensor": "t1", "value": 21.5, "at": "2024-01-02T03:04:05Z"}')
        decoded = build_decoder(spec).decode(payload)
    if not decoded.ok or decoded.value.get("sensor") != "t1" or decoded.value.get("value") != 21.5:
        raise RuntimeError(f"a Protobuf payload did not round-trip: {decoded.reason or decoded.text}")
    document = '{"temperature": 21.5, "ok": true}'
    for kind, decoder in ((DecoderKind.CBOR, CborDecoder()), (DecoderKind.MSGPACK, MsgpackDecoder())):
        back = decoder.decode(build_encoder(DecoderSpec(kind)).encode(document))
        if not back.ok or back.value != {"temperature": 21.5, "ok": True}:
            raise RuntimeError(f"a {decoder.name} payload did not round-trip: {back.reason or back.text}")
    return f"Protobuf from a .proto compiled now ({len(payload)} bytes), CBOR and MessagePack round-trip"


@check("local platform")
def _platform(state: dict) -> str:
    from workbench.core.platform_client import requests as api
    from workbench.core.tls import ClientIdentity, client_context, server_context, trust_from_pem
    from workbench.services.local_platform import LocalPlatformProcess
    from workbench.services.platform_http import PlatformCredentials, PlatformHttp
    from workbench.services.token_flow import DeviceConnection

    process = LocalPlatformProcess(ephemeral=True)
    started = time.monotonic()
    info = process.start_or_reuse()
    try:
        trust = trust_from_pem(info.server_ca.read_bytes())

        async def upload() -> None:
            credentials = PlatformCredentials("admin", info.admin_password, "t100")
            async with PlatformHttp(info.rest_url, credentials, trust=server_context(trust)) as http:
                await http.trusted_certificate_call(api.upload_trusted_certificate(
                    "t100", state["ca"].certificate, "Self-test CA"))

        asyncio.run(upload())
        identity = ClientIdentity(state["key"], (state["device"], state["ca"].certificate))
        connection = DeviceConnection("localhost", info.ports["mqtts"], "d:self-test-device",
                                      client_context(trust=list(trust), identity=identity))
        try:
            connection.connect()
            token = connection.request_token().token
        finally:
            connection.close()
    finally:
        process.stop()
    took = time.monotonic() - started
    return (f"started in a child process, device connected over mutual TLS and got a token for "
            f"{token.claims.get('sub')} ({took:.1f} s), then stopped")


def run_self_test() -> int:
    """Run every check in order; print one line each; 0 when all passed."""
    state: dict = {}
    failed = 0
    print(f"workbench self-test, {dt.datetime.now():%Y-%m-%d %H:%M:%S}", flush=True)
    for name, func in CHECKS:
        started = time.monotonic()
        try:
            message = func(state)
        except Exception as exc:  # a self-test reports every failure in words, whatever it is
            failed += 1
            print(f"✗ {name}: {type(exc).__name__}: {exc}", flush=True)
            if name in ("ca",):
                break  # later checks need the certificate
            continue
        print(f"✓ {name}: {message} ({time.monotonic() - started:.2f} s)", flush=True)
    print("self-test passed" if not failed else f"self-test FAILED: {failed} check(s)", flush=True)
    return 0 if not failed else 1
