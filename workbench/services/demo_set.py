"""The demo certificate set (Hono's demo-certs idea): a CA, a local-platform server certificate and two devices.

One call gives a newcomer everything needed to try mutual TLS against the local platform, with a README that
says what each file is and which openssl/keytool/mosquitto commands use it. With virtual hosts it also writes
Hono's SNI set-up: one key store with a key entry per domain (the domain in its SAN) for
`embedded-broker --server-keystore`, and the `openssl s_client -servername` check of each domain.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from workbench.core.files import write_atomic
from workbench.core.keystore.codec import dump_keystore
from workbench.core.keystore.model import Keystore, PrivateKeyEntry, StoreKind
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.fleet import DeviceMaker, FleetTemplate, KeystoreOptions
from workbench.core.pki.fleet_ids import DeviceEntry, bulk_registration_csv, id_problem
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem
from workbench.core.pki.profiles import root_ca_profile, server_profile
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services.device_bundle import PRIVATE, PUBLIC, SERVER, BundleSpec, bundle_files, fleet_spec, truststore

DEMO_DEVICES = ("demo-device-1", "demo-device-2")
SERVER_DNS = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")
VHOST_STORE = "server/virtualHosts"  # + .p12 or .jks
_DOMAIN_LABEL = re.compile(r"^(\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")


@dataclass(frozen=True)
class DemoFile:
    """One file of the set: where it goes, its bytes and mode, and one line saying what it is for."""

    path: str
    data: bytes
    mode: int
    what: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workbench Demo"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def domain_problem(domain: str) -> str | None:
    """Why `domain` cannot be a virtual host's DNS name (None when it can); a wildcard only as the first label."""
    labels = domain.lower().split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return "A domain is two or more labels of letters, digits and inner hyphens, like t200.localhost."
    if "*" in labels[1:]:
        return "A wildcard may only be the first label, like *.example.com."
    return None


def vhost_alias(domain: str, taken: set[str]) -> str:
    """The key store alias of a domain: its first label (`t200.localhost` → t200), the domain itself when taken."""
    first = domain.split(".")[0]
    alias = ("wildcard." + domain.split(".", 1)[1]) if first == "*" else first
    return domain if alias in taken else alias


def build_demo_set(password: bytes | None, *, key_spec: KeySpec = KeySpec.EC_P256,
                   device_ids: Sequence[str] = DEMO_DEVICES, now: datetime.datetime | None = None,
                   virtual_hosts: Sequence[str] = (), vhost_store: str = "pkcs12") -> list[DemoFile]:
    """Make the whole set in memory: CA, server certificate (SAN localhost, 127.0.0.1, ::1), devices, README.

    Keys are encrypted with ``password``; keystores and the truststore are written only when there is one
    (an unprotected PKCS#12 fails keytool's integrity check). ``virtual_hosts`` adds one key store (PKCS#12 or
    JKS) with a key entry per domain, issued by the demo CA with the domain in its SAN.

    Raises:
        InvalidInputError: a device id breaks the CN rules, a domain is not a DNS name (or given twice), or
            virtual hosts are asked for without a password.
    """
    for device_id in device_ids:
        problem = id_problem(device_id)
        if problem:
            raise InvalidInputError(f"Cannot use '{device_id}' as a demo device id", (problem,))
    domains = [d.strip().lower().rstrip(".") for d in virtual_hosts]
    for domain in domains:
        problem = domain_problem(domain)
        if problem:
            raise InvalidInputError(f"Cannot use '{domain}' as a virtual host", (problem,))
    if len(set(domains)) != len(domains):
        raise InvalidInputError("A virtual host is given twice", ("Give each domain once.",))
    if domains and not password:
        raise InvalidInputError("The virtual-host key store needs a password",
                                ("Give --password-file or --password-env instead of --no-password; the platform "
                                 "opens the key store with it (--server-keystore-password-env).",))
    store_kind = StoreKind.parse(vhost_store)
    if domains and store_kind not in (StoreKind.PKCS12, StoreKind.JKS):
        raise InvalidInputError(f"Cannot write a {store_kind.label} key store", ("Choose pkcs12 or jks.",))
    moment = now or datetime.datetime.now(datetime.UTC)
    ca_key = key_spec.generate()
    ca = Issuer(create_root_ca(_name("Workbench Demo Root CA"), ca_key, root_ca_profile(), now=moment), ca_key)
    ca_pem = dump_certificates_pem([ca.certificate])
    files = [
        DemoFile("ca/caCert.pem", ca_pem, PUBLIC, "the demo root CA: upload it to the platform as trusted certificate"),
        DemoFile("ca/caKey.pem", dump_private_key_pem(ca_key, password), PRIVATE,
                 "the CA's private key (sign more devices with `workbench fleet issue --ca-key`)"),
    ]
    server_key = key_spec.generate()
    server_cert = issue_certificate(_name("localhost"), server_key.public_key(),
                                    server_profile(SERVER_DNS, SERVER_IPS), ca, now=moment)
    server_files = bundle_files(BundleSpec(SERVER, key_password=password), server_key, [server_cert, ca.certificate])
    files += [DemoFile(f"server/{name}", data, mode, _SERVER_FILES[name]) for name, (data, mode) in
              server_files.items()]
    vhosts: list[tuple[str, str]] = []
    if domains and password:
        store = Keystore(store_kind)
        for domain in domains:
            alias = vhost_alias(domain, {a for a, _d in vhosts})
            vhosts.append((alias, domain))
            key = key_spec.generate()
            cert = issue_certificate(_name(domain), key.public_key(), server_profile((domain,), ()), ca, now=moment)
            store = store.with_entry(PrivateKeyEntry(alias, key, (cert, ca.certificate)))
        files.append(DemoFile(vhost_store_path(store_kind), dump_keystore(store, password, store_kind), PRIVATE,
                              f"SNI virtual hosts: one key entry per domain ({', '.join(a for a, _d in vhosts)}) for "
                              "embedded-broker --server-keystore"))
    if password:
        files.append(DemoFile("truststore/deviceTruststore.pkcs12",
                              truststore([ca.certificate], password, "pkcs12"), PUBLIC,
                              "Java truststore with the CA as 'servercertificate' (devices trust the server)"))
    maker = DeviceMaker(FleetTemplate.for_issuer(ca, key_spec=key_spec, key_password=password, now=moment,
                                                 keystore=KeystoreOptions() if password else None))
    entries = [DeviceEntry(device_id) for device_id in device_ids]
    for entry in entries:
        device = maker.issue(entry, x509.random_serial_number())
        chain = [device.certificate, *maker.chain]
        for name, (data, mode) in bundle_files(fleet_spec(maker), device.key, chain).items():
            files.append(DemoFile(f"devices/{entry.device_id}/{name}", data, mode, _DEVICE_FILES.get(name, name)))
    files.append(DemoFile("bulk-registration.csv", bulk_registration_csv(entries), PUBLIC,
                          "register both devices on the platform in one upload"))
    files.append(DemoFile("README.md", render_readme(files, device_ids, encrypted=password is not None,
                                                     vhosts=vhosts).encode(), PUBLIC, "this file"))
    return files


def vhost_store_path(kind: StoreKind) -> str:
    """Where the set keeps its virtual-host key store."""
    return f"{VHOST_STORE}.{'jks' if kind is StoreKind.JKS else 'p12'}"


_SERVER_FILES = {
    "serverCert.pem": "the local platform's TLS certificate, SAN " + ", ".join((*SERVER_DNS, *SERVER_IPS)),
    "serverCertChain.pem": "server certificate followed by the CA",
    "serverKey.pem": "the server's key",
}
_DEVICE_FILES = {
    "deviceKey.pem": "the device's private key",
    "deviceCert.pem": "the device certificate (CN = device id = MQTT client id)",
    "deviceCertChain.pem": "device certificate followed by the CA (the guide's `cat` order)",
    "deviceKeystore.pkcs12": "PKCS#12 keystore with key and chain under alias 'devicekeyentry'",
}


def render_vhosts(files: Sequence[DemoFile], vhosts: Sequence[tuple[str, str]]) -> str:
    """The README section of Hono's SNI set-up: start the platform with the key store, check each domain."""
    if not vhosts:
        return ""
    store = next(f.path for f in files if f.path.startswith(VHOST_STORE))
    checks = "\n".join(
        f"openssl s_client -connect 127.0.0.1:8883 -servername {_probe(domain)} -CAfile ca/caCert.pem "
        f"-verify_hostname {_probe(domain)} -verify_return_error </dev/null | grep -E 'subject=|Verification'"
        f"   # alias {alias}" for alias, domain in vhosts)
    return f"""
## SNI virtual hosts (Hono's set-up)

`{store}` holds one key entry per domain, each certificate with its domain in the SAN and signed by the demo CA.
The platform chooses the certificate from the name the device sends in its TLS hello (SNI); a name that matches
no entry gets the first entry (or the one named by `--default-server-alias`).

```sh
# start the local platform with the key store (every TLS listener: 8883 and 8443); the password as you chose it
DEMO_STORE_PASSWORD=... embedded-broker --server-keystore {store} --server-keystore-password-env DEMO_STORE_PASSWORD
# check each domain: the served certificate's subject, and "Verification: OK"
{checks}
```
"""


def _probe(domain: str) -> str:
    """A name to send for `domain` (a wildcard is probed with one concrete label)."""
    return "device." + domain[2:] if domain.startswith("*.") else domain


def render_readme(files: Sequence[DemoFile], device_ids: Sequence[str], *, encrypted: bool,
                  vhosts: Sequence[tuple[str, str]] = ()) -> str:
    """The README: what each file is, and the commands that use them, ready to paste from this folder."""
    dev = device_ids[0]
    d = f"devices/{dev}"
    table = "\n".join(f"| `{f.path}` | {f.what} |" for f in files) + "\n| `README.md` | this file |"
    protection = ("Private keys are PKCS#8, AES-256 encrypted with the password you chose; keystores use it too."
                  if encrypted else "Private keys are NOT encrypted (created with --no-password); no keystores.")
    keytool = (f"keytool -list -v -storetype PKCS12 -keystore {d}/deviceKeystore.pkcs12\n"
               "keytool -list -v -storetype PKCS12 -keystore truststore/deviceTruststore.pkcs12\n"
               f"openssl pkcs12 -info -noout -in {d}/deviceKeystore.pkcs12\n") if encrypted else ""
    return f"""# Workbench demo certificates

A throw-away PKI for trying device certificates against the local platform. Do not use it in production.
{protection}

| File | What it is |
|---|---|
{table}

## Check the certificates

```sh
openssl x509 -noout -text -in server/serverCert.pem     # SAN: DNS:localhost, IP:127.0.0.1, IP:::1
openssl verify -CAfile ca/caCert.pem server/serverCert.pem
openssl verify -CAfile ca/caCert.pem {d}/deviceCert.pem
openssl pkey -in {d}/deviceKey.pem -noout && echo key OK
{keytool}```

## Try mutual TLS

```sh
# a TLS server with the server certificate that requires a client certificate from the demo CA
openssl s_server -accept 8883 -cert server/serverCert.pem -key server/serverKey.pem -CAfile ca/caCert.pem -Verify 2
# connect as device {dev} (its CN is the MQTT client id)
openssl s_client -connect 127.0.0.1:8883 -CAfile ca/caCert.pem -cert {d}/deviceCert.pem -key {d}/deviceKey.pem
# publish over MQTT to a broker using server/ and ca/ (mosquitto asks for the key password if there is one)
mosquitto_pub -h localhost -p 8883 --cafile ca/caCert.pem --cert {d}/deviceCert.pem --key {d}/deviceKey.pem \\
  -i {dev} -t s/us -m '100,{dev},c8y_MQTTDevice'
```

## Register on the platform

1. Upload `ca/caCert.pem` as a trusted certificate (enable auto-registration, or use `bulk-registration.csv`).
2. Connect each device with its keystore or key + chain; the client id must equal the CN ({", ".join(device_ids)}).
{render_vhosts(files, vhosts)}"""


def write_demo_set(folder: Path, files: Sequence[DemoFile]) -> None:
    """Write the set into a new (or empty) folder all at once: a staging folder renamed into place.

    Raises:
        InvalidInputError: the folder exists and is not empty.
        WorkbenchError: the folder cannot be written.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInputError(f"The folder '{folder}' already exists and is not empty",
                                ("Choose a new folder for the demo certificates.",))
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    except OSError as exc:
        raise WorkbenchError(f"Cannot create '{folder}'", (exc.strerror or str(exc),)) from exc
    try:
        for demo_file in files:
            write_atomic(staging / demo_file.path, demo_file.data, mode=demo_file.mode)
        if folder.exists():
            folder.rmdir()
        os.rename(staging, folder)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise WorkbenchError(f"Cannot write the demo set to '{folder}'", (exc.strerror or str(exc),)) from exc
        raise

