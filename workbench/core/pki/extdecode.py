"""Certificate extensions decoded into display lines, worded as `openssl x509 -text` words them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID

from .names import DnStyle, format_dn

# (openssl's display name, the short name used in configs)
_NAMES: dict[x509.ObjectIdentifier, tuple[str, str]] = {
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: ("X509v3 Subject Key Identifier", "subjectKeyIdentifier"),
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: ("X509v3 Authority Key Identifier", "authorityKeyIdentifier"),
    ExtensionOID.BASIC_CONSTRAINTS: ("X509v3 Basic Constraints", "basicConstraints"),
    ExtensionOID.KEY_USAGE: ("X509v3 Key Usage", "keyUsage"),
    ExtensionOID.EXTENDED_KEY_USAGE: ("X509v3 Extended Key Usage", "extendedKeyUsage"),
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME: ("X509v3 Subject Alternative Name", "subjectAltName"),
    ExtensionOID.ISSUER_ALTERNATIVE_NAME: ("X509v3 Issuer Alternative Name", "issuerAltName"),
    ExtensionOID.CRL_DISTRIBUTION_POINTS: ("X509v3 CRL Distribution Points", "crlDistributionPoints"),
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: ("Authority Information Access", "authorityInfoAccess"),
    ExtensionOID.CERTIFICATE_POLICIES: ("X509v3 Certificate Policies", "certificatePolicies"),
    ExtensionOID.NAME_CONSTRAINTS: ("X509v3 Name Constraints", "nameConstraints"),
}

_KEY_USAGE = (
    ("digital_signature", "Digital Signature"), ("content_commitment", "Non Repudiation"),
    ("key_encipherment", "Key Encipherment"), ("data_encipherment", "Data Encipherment"),
    ("key_agreement", "Key Agreement"), ("key_cert_sign", "Certificate Sign"), ("crl_sign", "CRL Sign"),
)

EKU_NAMES: dict[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "TLS Web Server Authentication",
    ExtendedKeyUsageOID.CLIENT_AUTH: "TLS Web Client Authentication",
    ExtendedKeyUsageOID.CODE_SIGNING: "Code Signing",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "E-mail Protection",
    ExtendedKeyUsageOID.TIME_STAMPING: "Time Stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSP Signing",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "Any Extended Key Usage",
}


@dataclass(frozen=True)
class ExtensionSummary:
    """One extension for display: openssl's name, criticality, and the decoded value lines (hex if unknown)."""

    name: str
    short_name: str
    oid: str
    critical: bool
    lines: tuple[str, ...]
    known: bool = True

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`."""
        return {"name": self.name, "short_name": self.short_name, "oid": self.oid, "critical": self.critical,
                "value": list(self.lines), "known": self.known}


def colon_hex(data: bytes, upper: bool = False) -> str:
    """'ab:cd:ef', as openssl prints key ids (upper case) and keys and signatures (lower case)."""
    text = ":".join(f"{b:02x}" for b in data)
    return text.upper() if upper else text


def general_name(name: x509.GeneralName) -> str:
    """One SAN-style entry in openssl's words: 'DNS:x', 'IP Address:1.2.3.4', 'email:..', 'URI:..'."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        value = name.value
        if isinstance(value, ipaddress.IPv6Address):
            return "IP Address:" + ":".join(f"{int(g, 16):X}" for g in value.exploded.split(":"))
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return f"IP:{value.network_address}/{value.netmask}"
        return f"IP Address:{value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{format_dn(name.value, DnStyle.OPENSSL)}"
    if isinstance(name, x509.RegisteredID):
        return f"Registered ID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        return f"othername: {name.type_id.dotted_string}::<{colon_hex(name.value)}>"
    return str(name)


def _key_usage(value: x509.KeyUsage) -> tuple[str, ...]:
    names = [label for attr, label in _KEY_USAGE if getattr(value, attr)]
    if value.key_agreement:
        names += ["Encipher Only"] * value.encipher_only + ["Decipher Only"] * value.decipher_only
    return (", ".join(names),)


def _aki(value: x509.AuthorityKeyIdentifier) -> tuple[str, ...]:
    extra = value.authority_cert_issuer or value.authority_cert_serial_number is not None
    lines = []
    if value.key_identifier is not None:
        key_id = colon_hex(value.key_identifier, upper=True)
        lines.append(f"keyid:{key_id}" if extra else key_id)
    lines += [general_name(n) for n in value.authority_cert_issuer or ()]
    if value.authority_cert_serial_number is not None:
        serial = value.authority_cert_serial_number
        lines.append("serial:" + colon_hex(serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big"),
                                           upper=True))
    return tuple(lines)


def _crl_dp(value: x509.CRLDistributionPoints) -> tuple[str, ...]:
    lines = []
    for point in value:
        if point.full_name:
            lines.append("Full Name:")
            lines += [f"  {general_name(n)}" for n in point.full_name]
        elif point.relative_name is not None:
            lines.append(f"Relative Name: {point.relative_name.rfc4514_string()}")
        if point.crl_issuer:
            lines.append("CRL Issuer:")
            lines += [f"  {general_name(n)}" for n in point.crl_issuer]
    return tuple(lines)


def _aia(value: x509.AuthorityInformationAccess) -> tuple[str, ...]:
    labels = {AuthorityInformationAccessOID.OCSP: "OCSP", AuthorityInformationAccessOID.CA_ISSUERS: "CA Issuers"}
    return tuple(f"{labels.get(d.access_method, d.access_method.dotted_string)} - {general_name(d.access_location)}"
                 for d in value)


def _policies(value: x509.CertificatePolicies) -> tuple[str, ...]:
    lines = []
    for policy in value:
        lines.append(f"Policy: {policy.policy_identifier.dotted_string}")
        for qualifier in policy.policy_qualifiers or ():
            if isinstance(qualifier, str):
                lines.append(f"  CPS: {qualifier}")
            else:
                lines.append("  User Notice:")
                if qualifier.explicit_text:
                    lines.append(f"    Explicit Text: {qualifier.explicit_text}")
    return tuple(lines)


def _name_constraints(value: x509.NameConstraints) -> tuple[str, ...]:
    lines = []
    for label, subtrees in (("Permitted", value.permitted_subtrees), ("Excluded", value.excluded_subtrees)):
        if subtrees:
            lines.append(f"{label}:")
            lines += [f"  {general_name(n)}" for n in subtrees]
    return tuple(lines)


def _lines(value: x509.ExtensionType) -> tuple[str, ...] | None:
    """Decoded value lines, or None for an extension we show as hex."""
    if isinstance(value, x509.SubjectKeyIdentifier):
        return (colon_hex(value.digest, upper=True),)
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return _aki(value)
    if isinstance(value, x509.BasicConstraints):
        if not value.ca:
            return ("CA:FALSE",)
        return ("CA:TRUE" + (f", pathlen:{value.path_length}" if value.path_length is not None else ""),)
    if isinstance(value, x509.KeyUsage):
        return _key_usage(value)
    if isinstance(value, x509.ExtendedKeyUsage):
        return (", ".join(EKU_NAMES.get(oid, oid.dotted_string) for oid in value),)
    if isinstance(value, x509.SubjectAlternativeName | x509.IssuerAlternativeName):
        return (", ".join(general_name(n) for n in value),)
    if isinstance(value, x509.CRLDistributionPoints):
        return _crl_dp(value)
    if isinstance(value, x509.AuthorityInformationAccess):
        return _aia(value)
    if isinstance(value, x509.CertificatePolicies):
        return _policies(value)
    if isinstance(value, x509.NameConstraints):
        return _name_constraints(value)
    return None


def summarize_extension(ext: x509.Extension[x509.ExtensionType]) -> ExtensionSummary:
    """Decode one extension; anything we do not decode is shown as the hex of its DER value."""
    name, short = _NAMES.get(ext.oid, (ext.oid.dotted_string, getattr(ext.oid, "_name", ext.oid.dotted_string)))
    lines = _lines(ext.value)
    if lines is None:
        try:
            raw = ext.value.public_bytes()
        except (NotImplementedError, ValueError, AttributeError):
            raw = b""
        return ExtensionSummary(name, short, ext.oid.dotted_string, ext.critical, (colon_hex(raw),), known=False)
    return ExtensionSummary(name, short, ext.oid.dotted_string, ext.critical, lines)


def summarize_extensions(cert: x509.Certificate) -> tuple[ExtensionSummary, ...]:
    """Every extension in certificate order; a damaged extension list becomes one line that says so."""
    try:
        extensions = list(cert.extensions)
    except ValueError as exc:
        return (ExtensionSummary("(unreadable extensions)", "", "", False, (str(exc),), known=False),)
    return tuple(summarize_extension(ext) for ext in extensions)
