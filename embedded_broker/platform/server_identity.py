"""The local platform's own certificates: a CA for truststores, a localhost server certificate, one server
certificate per tenant domain (`<tenant>.localhost`, for SNI virtual hosts), and a placeholder anchor.

The CA and server keys persist with the platform's data (the keys sealed by key_vault), so truststores made once
keep working after restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from embedded_broker.platform.key_vault import get_secret, set_secret
from embedded_broker.server_keystore import VirtualHost, virtual_host
from embedded_broker.store import Store

_PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class ServerIdentity:
    """PEM of the platform CA, the server chain (server + CA) and the server key."""

    ca_pem: bytes
    chain_pem: bytes
    key_pem: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Device Onboarding Workbench"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _build(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
           signer: ec.EllipticCurvePrivateKey, days: int, ca: bool) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    usage = dict(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
    return builder.add_extension(x509.KeyUsage(**usage), critical=True)


def load_or_create(store: Store, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> ServerIdentity:
    """The persisted CA and server certificate; created on first start, renewed when a host is missing."""
    ca_pem, ca_key_pem = store.get_meta("server_ca_pem"), get_secret(store, "server_ca_key_pem")
    if ca_pem is None or ca_key_pem is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _build(_name("Local Platform CA"), _name("Local Platform CA"), ca_key, ca_key, 3650, True) \
            .sign(ca_key, hashes.SHA256())
        ca_pem, ca_key_pem = ca.public_bytes(_PEM).decode(), _key_pem(ca_key).decode()
        with store.transaction():
            store.set_meta("server_ca_pem", ca_pem)
            set_secret(store, "server_ca_key_pem", ca_key_pem)
    server_pem, server_key_pem = store.get_meta("server_cert_pem"), get_secret(store, "server_key_pem")
    if server_pem is None or server_key_pem is None or not _covers(server_pem, hosts):
        server_pem, server_key_pem = _issue_server(ca_pem, ca_key_pem, "localhost", hosts)
        with store.transaction():
            store.set_meta("server_cert_pem", server_pem)
            set_secret(store, "server_key_pem", server_key_pem)
    return ServerIdentity(ca_pem.encode(), (server_pem + ca_pem).encode(), server_key_pem.encode())


def _issue_server(ca_pem: str, ca_key_pem: str, cn: str, hosts: tuple[str, ...]) -> tuple[str, str]:
    """A server certificate (PEM) and its key (PEM) for `hosts`, signed by the platform CA."""
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    loaded = serialization.load_pem_private_key(ca_key_pem.encode(), None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    ca_key = loaded
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server = (_build(_name(cn), ca.subject, key, ca_key, 825, False)
              .add_extension(x509.SubjectAlternativeName(names), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    return server.public_bytes(_PEM).decode(), _key_pem(key).decode()


def tenant_domain_hosts(store: Store, tenants: list[str]) -> list[VirtualHost]:
    """One virtual host per tenant: alias = tenant id, SAN `<tenant>.localhost`, issued by the platform CA.

    Made on first need and kept (key sealed) like the localhost certificate; renewed when it nears expiry or the
    CA changed. Call `load_or_create` first (it makes the CA).
    """
    ca_pem, ca_key_pem = store.get_meta("server_ca_pem"), get_secret(store, "server_ca_key_pem")
    assert ca_pem is not None and ca_key_pem is not None, "load_or_create makes the CA first"
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    hosts = []
    for tenant in tenants:
        domain = f"{tenant}.localhost"
        cert_pem, key_pem = store.get_meta(f"tenant_cert_pem/{tenant}"), get_secret(store, f"tenant_key_pem/{tenant}")
        if cert_pem is None or key_pem is None or not _covers(cert_pem, (domain,)) or \
                x509.load_pem_x509_certificate(cert_pem.encode()).issuer != ca.subject:
            cert_pem, key_pem = _issue_server(ca_pem, ca_key_pem, domain, (domain,))
            with store.transaction():
                store.set_meta(f"tenant_cert_pem/{tenant}", cert_pem)
                set_secret(store, f"tenant_key_pem/{tenant}", key_pem)
        chain = x509.load_pem_x509_certificates((cert_pem + ca_pem).encode())
        hosts.append(virtual_host(tenant, chain, serialization.load_pem_private_key(key_pem.encode(), None)))
    return hosts


def _covers(server_pem: str, hosts: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(server_pem.encode())
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC) + dt.timedelta(days=7):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
    return all(h in present for h in hosts)


def placeholder_anchor() -> bytes:
    """A CA nobody holds the key of: keeps client-certificate checking on while no CA is uploaded yet
    (docs/platform-reference.md A3)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("No certificate uploaded yet")
    return _build(name, name, key, key, 3650, True).sign(key, hashes.SHA256()).public_bytes(_PEM)
