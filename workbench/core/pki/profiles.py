"""The guide's extension profiles (`v3_ca`, `v3_signed`) plus a server profile, as immutable validated values."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from enum import Enum

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from workbench.errors import InvalidInputError

from .keys import PublicKey


class ProfileKind(Enum):
    """What a certificate is for; decides its extension set."""

    ROOT_CA = "root-ca"
    INTERMEDIATE_CA = "intermediate-ca"
    DEVICE = "device"
    SERVER = "server"


DEFAULT_VALIDITY_DAYS = {
    ProfileKind.ROOT_CA: 7300,  # `openssl req ... -x509 -days 7300`
    ProfileKind.INTERMEDIATE_CA: 3650,  # `openssl ca -extensions v3_ca -days 3650`
    ProfileKind.DEVICE: 365,  # `openssl ca -extensions v3_signed -days 365`
    ProfileKind.SERVER: 825,  # the longest validity TLS clients accept for a server certificate
}


@dataclass(frozen=True)
class CertificateProfile:
    """What a certificate may be used for; validated once at construction.

    Attributes:
        kind: root CA, intermediate CA, device or server.
        path_length: basicConstraints pathlen for CAs (None = unlimited), the guide's example uses 10.
        client_auth: add EKU clientAuth to a device certificate (on by default; the guide's v3_signed has no EKU).
        validity_days: how long the certificate is valid from now.
        dns_names / ip_addresses: subjectAltName entries for server certificates.
    """

    kind: ProfileKind
    path_length: int | None = None
    client_auth: bool = True
    validity_days: int = 0
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    backdate: datetime.timedelta = field(default=datetime.timedelta(0))

    def __post_init__(self) -> None:
        if self.validity_days == 0:
            object.__setattr__(self, "validity_days", DEFAULT_VALIDITY_DAYS[self.kind])
        if self.validity_days < 1:
            raise InvalidInputError("The validity must be at least one day", (f"Got {self.validity_days} days.",))
        if self.path_length is not None and not self.is_ca:
            raise InvalidInputError("pathlen only applies to CA certificates",
                                    ("Remove the path length, or issue a root or intermediate CA.",))
        if self.path_length is not None and self.path_length < 0:
            raise InvalidInputError("pathlen cannot be negative", ("Use 0 for a CA that may sign only devices.",))
        for ip in self.ip_addresses:
            try:
                ipaddress.ip_address(ip)
            except ValueError as exc:
                raise InvalidInputError(f"'{ip}' is not an IP address", ("Put host names in the DNS list.",)) from exc
        if (self.dns_names or self.ip_addresses) and self.kind is not ProfileKind.SERVER:
            raise InvalidInputError("Subject alternative names are only written for server certificates", ())

    @property
    def is_ca(self) -> bool:
        """CA profiles carry CA:true and may sign other certificates."""
        return self.kind in (ProfileKind.ROOT_CA, ProfileKind.INTERMEDIATE_CA)

    def extensions(
        self, subject_key: PublicKey, issuer_key: PublicKey
    ) -> list[tuple[x509.ExtensionType, bool]]:
        """The extension set to write, as (extension, critical), in the order openssl writes them."""
        ski = x509.SubjectKeyIdentifier.from_public_key(subject_key)
        # keyid:always (v3_ca) and keyid,issuer (v3_signed) both yield the keyid only when the issuer has an SKI,
        # which openssl's own output confirms: 'issuer' is only a fallback.
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key)
        result: list[tuple[x509.ExtensionType, bool]] = [(ski, False), (aki, False)]
        if self.is_ca:
            result.append((x509.BasicConstraints(ca=True, path_length=self.path_length), True))
            result.append((_key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), False))
            return result
        result.append((x509.BasicConstraints(ca=False, path_length=None), True))
        if self.kind is ProfileKind.DEVICE:
            result.append((_key_usage(digital_signature=True, content_commitment=True, key_encipherment=True), False))
            if self.client_auth:
                result.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False))
            return result
        result.append((_key_usage(digital_signature=True, key_encipherment=True), False))
        result.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False))
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in self.dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in self.ip_addresses]
        if names:
            result.append((x509.SubjectAlternativeName(names), False))
        return result


def _key_usage(**on: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    flags.update(on)
    return x509.KeyUsage(**flags)


def root_ca_profile(path_length: int | None = None, validity_days: int = 0) -> CertificateProfile:
    """The guide's `v3_ca` for a self-signed CA."""
    return CertificateProfile(ProfileKind.ROOT_CA, path_length=path_length, validity_days=validity_days)


def intermediate_ca_profile(path_length: int | None = 0, validity_days: int = 0) -> CertificateProfile:
    """The guide's `v3_ca` signed by another CA; pathlen 0 by default so it signs only devices."""
    return CertificateProfile(ProfileKind.INTERMEDIATE_CA, path_length=path_length, validity_days=validity_days)


def device_profile(validity_days: int = 0, client_auth: bool = True) -> CertificateProfile:
    """The guide's `v3_signed`, plus EKU clientAuth unless turned off."""
    return CertificateProfile(ProfileKind.DEVICE, validity_days=validity_days, client_auth=client_auth)


def server_profile(dns_names: tuple[str, ...] = ("localhost",), ip_addresses: tuple[str, ...] = ("127.0.0.1",),
                   validity_days: int = 0) -> CertificateProfile:
    """A TLS server certificate for the local platform and demo sets."""
    return CertificateProfile(ProfileKind.SERVER, dns_names=dns_names, ip_addresses=ip_addresses,
                              validity_days=validity_days)
