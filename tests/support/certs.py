"""A small certificate factory for keystore/TLS tests, built on cryptography directly (independent of our PKI code)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@cache
def _rsa_pool(index: int) -> rsa.RSAPrivateKey:
    """RSA keygen is slow; tests share a few keys (per process) where the key itself does not matter."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_key(index: int = 0) -> rsa.RSAPrivateKey:
    return _rsa_pool(index)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Issued:
    """A certificate with its key and the chain above it (leaf first, root last, leaf included)."""

    key: PrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    def key_pem(self, password: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def issue(self, cn: str, *, key: PrivateKey | None = None, ca: bool = False, server: bool = False,
              sans: tuple[str, ...] = ()) -> Issued:
        """Sign a child certificate: an intermediate CA, a device (client) or a server certificate."""
        key = key or ec_key()
        builder = _builder(cn, key, self.cert.subject)
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)  # type: ignore[arg-type]
        if ca:
            builder = builder.add_extension(_ca_usage(), critical=True)
        else:
            eku = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        if sans:
            names: list[x509.GeneralName] = []
            for san in sans:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(san)))
                except ValueError:
                    names.append(x509.DNSName(san))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(key, cert, [cert, *self.chain])


def _builder(cn: str, key: PrivateKey, issuer: x509.Name) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - datetime.timedelta(days=1))
            .not_valid_after(_NOW + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def make_ca(cn: str = "Test Root CA", key: PrivateKey | None = None) -> Issued:
    """A self-signed root CA."""
    key = key or ec_key()
    builder = _builder(cn, key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    builder = builder.add_extension(_ca_usage(), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    return Issued(key, cert, [cert])


@dataclass
class Pki:
    """Root → intermediate → devices (RSA and EC) and a server certificate for 127.0.0.1/localhost."""

    root: Issued
    intermediate: Issued
    device_rsa: Issued
    device_ec: Issued
    server: Issued


def make_pki() -> Pki:
    root = make_ca("Test Root CA")
    inter = root.issue("Test Intermediate CA", ca=True)
    return Pki(
        root=root,
        intermediate=inter,
        device_rsa=inter.issue("device-rsa-001", key=rsa_key()),
        device_ec=inter.issue("device-ec-001"),
        server=root.issue("localhost", server=True, sans=("localhost", "127.0.0.1", "mqtt.example.test")),
    )


def simple_cert(cn: str, key: PrivateKey, issuer: x509.Certificate | None, issuer_key: PrivateKey) -> x509.Certificate:
    """A CA (issuer None: self-signed, CA:TRUE) or a device certificate valid from yesterday for 30 days."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))
