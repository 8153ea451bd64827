"""The cloud's wire formats for certificates and times: Java-style DNs and algorithm names, millisecond UTC stamps."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

_JAVA_NAMES = {
    NameOID.COMMON_NAME: "CN", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.ORGANIZATION_NAME: "O",
    NameOID.COUNTRY_NAME: "C", NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.LOCALITY_NAME: "L",
    NameOID.EMAIL_ADDRESS: "EMAILADDRESS", NameOID.STREET_ADDRESS: "STREET", NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID", NameOID.SERIAL_NUMBER: "SERIALNUMBER",
}
_SPECIAL = set(',+"\\<>;=')


def _escape(value: str) -> str:
    escaped = "".join("\\" + ch if ch in _SPECIAL else ch for ch in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def java_dn(name: x509.Name, separator: str = ", ") -> str:
    """`X500Principal.toString()` style, most specific first: what the cloud shows as issuer and subject."""
    rdns = []
    for rdn in reversed(name.rdns):
        parts = []
        for attribute in rdn:
            label = _JAVA_NAMES.get(attribute.oid, f"OID.{attribute.oid.dotted_string}")
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
            parts.append(f"{label}={_escape(value)}")
        rdns.append(" + ".join(parts))
    return separator.join(rdns)


def java_algorithm(cert: x509.Certificate) -> str:
    """The Java signature algorithm name (`SHA256withRSA`), as in the `algorithmName` field."""
    key = cert.public_key()
    hash_name = cert.signature_hash_algorithm.name.upper().replace("-", "") if cert.signature_hash_algorithm else ""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, rsa.RSAPublicKey):
        if cert.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.10":
            return "RSASSA-PSS"
        return f"{hash_name}withRSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"{hash_name}withECDSA"
    return cert.signature_algorithm_oid.dotted_string


def iso_ms(moment: float | dt.datetime) -> str:
    """`2021-09-03T07:42:00.000Z`: the cloud's date-time form."""
    when = moment if isinstance(moment, dt.datetime) else dt.datetime.fromtimestamp(moment, dt.UTC)
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    """An ISO 8601 time from a client (with Z or an offset) as a timestamp.

    Raises:
        ValueError: not an ISO 8601 date-time.
    """
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def common_name(cert: x509.Certificate) -> str | None:
    """The subject CN, or None when there is none."""
    found = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not found:
        return None
    value = found[0].value
    return value if isinstance(value, str) else value.decode(errors="replace")


def serial_hex(serial: int | str) -> str:
    """A serial as lower-case hex without leading zeros, so uploaded and presented serials compare equal."""
    number = serial if isinstance(serial, int) else int(serial.strip().lower().removeprefix("0x") or "0", 16)
    return format(number, "x")
