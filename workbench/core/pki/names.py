"""Distinguished names: parse and format RFC 4514 and openssl `/C=../CN=..` forms, and the guide's signing policy."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from workbench.errors import InvalidInputError, PolicyError

# Short names people type, in both notations; the openssl names are those of `openssl req` and `openssl ca`.
_ATTRS: dict[str, ObjectIdentifier] = {
    "C": NameOID.COUNTRY_NAME, "countryName": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME, "S": NameOID.STATE_OR_PROVINCE_NAME,
    "stateOrProvinceName": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME, "localityName": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME, "organizationName": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "organizationalUnitName": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME, "commonName": NameOID.COMMON_NAME,
    "emailAddress": NameOID.EMAIL_ADDRESS, "E": NameOID.EMAIL_ADDRESS, "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER, "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "DC": NameOID.DOMAIN_COMPONENT, "UID": NameOID.USER_ID,
}
_ATTRS_UPPER = {key.upper(): oid for key, oid in _ATTRS.items()}
# Output labels: openssl's for the slash form, RFC 4514's (plus emailAddress as openssl writes it) otherwise.
_SHORT = {
    NameOID.COUNTRY_NAME: "C", NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.COMMON_NAME: "CN",
    NameOID.EMAIL_ADDRESS: "emailAddress", NameOID.SERIAL_NUMBER: "serialNumber", NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
}
_RFC4514_OVERRIDES = {NameOID.EMAIL_ADDRESS: "emailAddress", NameOID.SERIAL_NUMBER: "serialNumber"}


def _oid_for(label: str, text: str) -> ObjectIdentifier:
    oid = _ATTRS.get(label) or _ATTRS_UPPER.get(label.upper())
    if oid is not None:
        return oid
    if re.fullmatch(r"\d+(\.\d+)+", label):
        return ObjectIdentifier(label)
    raise InvalidInputError(
        f"Unknown name attribute '{label}' in '{text}'",
        ("Use C, ST, L, O, OU, CN or emailAddress (e.g. 'CN=device-01,O=ACME' or '/C=PL/O=ACME/CN=device-01').",),
    )


def parse_dn(text: str) -> x509.Name:
    """Read a name in either notation people copy around: RFC 4514 ('CN=a,O=b') or openssl's ('/O=b/CN=a').

    Raises:
        InvalidInputError: the text is not a distinguished name.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError("The distinguished name is empty", ("Give at least CN=<name>.",))
    if stripped.startswith("/"):
        return _parse_openssl(stripped)
    try:
        name = x509.Name.from_rfc4514_string(stripped, {k: v for k, v in _ATTRS.items()})
    except ValueError as exc:
        raise InvalidInputError(
            f"'{text}' is not a distinguished name",
            ("Write it as 'CN=device-01,O=ACME,C=PL' (RFC 4514) or '/C=PL/O=ACME/CN=device-01' (openssl).",
             "Escape a comma inside a value as '\\,'."),
        ) from exc
    return name


def _split_escaped(text: str, separators: str) -> list[tuple[str, str]]:
    """Split on unescaped separators, unescaping '\\x' to 'x'; returns (piece, separator-before-it) pairs."""
    pieces: list[tuple[str, str]] = []
    current: list[str] = []
    before = ""
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char in separators:
            pieces.append(("".join(current), before))
            current, before = [], char
        else:
            current.append(char)
    pieces.append(("".join(current), before))
    return pieces


def _parse_openssl(text: str) -> x509.Name:
    """openssl's `-subj` form: most significant first; a backslash escapes '/', '+' and itself; '+' joins RDNs."""
    rdns: list[list[x509.NameAttribute[str]]] = []
    for piece, separator in _split_escaped(text[1:], "/+"):
        if not piece and separator != "+":
            continue
        label, sep, value = piece.partition("=")
        if not sep or not label:
            raise InvalidInputError(f"'{piece}' in '{text}' is not ATTRIBUTE=value",
                                    ("Write it as '/C=PL/O=ACME/CN=device-01'.",))
        attribute = _attribute(_oid_for(label.strip(), text), value, text)
        if separator == "+" and rdns:
            rdns[-1].append(attribute)
        else:
            rdns.append([attribute])
    if not rdns:
        raise InvalidInputError(f"'{text}' has no name attributes", ("Write it as '/C=PL/O=ACME/CN=device-01'.",))
    return x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns])


def _attribute(oid: ObjectIdentifier, value: str, text: str) -> x509.NameAttribute[str]:
    try:
        return x509.NameAttribute(oid, value)
    except ValueError as exc:  # e.g. a country name that is not two letters
        raise InvalidInputError(f"Invalid value '{value}' in '{text}'", (str(exc),)) from exc


class DnStyle(Enum):
    """The notations we print: RFC 4514 (least significant first), openssl's slash form, and openssl's one-line."""

    RFC4514 = "rfc4514"
    OPENSSL = "openssl"
    ONELINE = "oneline"


def format_dn(name: x509.Name, style: DnStyle = DnStyle.RFC4514) -> str:
    """Write a name for people or for tools; the openssl form can be pasted into `openssl req -subj`."""
    if style is DnStyle.RFC4514:
        return name.rfc4514_string(_RFC4514_OVERRIDES)
    rdn_texts = []
    for rdn in name.rdns:
        pieces = []
        for attr in rdn:
            label = _SHORT.get(attr.oid, attr.oid.dotted_string)
            value = str(attr.value)
            if style is DnStyle.OPENSSL:
                escaped = value.replace("\\", "\\\\").replace("/", "\\/").replace("+", "\\+")
                pieces.append(f"{label}={escaped}")
            else:
                pieces.append(f"{label} = {value}")
        rdn_texts.append(" + ".join(pieces) if style is DnStyle.ONELINE else "+".join(pieces))
    if style is DnStyle.OPENSSL:
        return "/" + "/".join(rdn_texts)
    return ", ".join(rdn_texts)


def common_name(name: x509.Name) -> str | None:
    """The CN the platform matches against the MQTT client id, or None when the name has none."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


@dataclass(frozen=True)
class SubjectFields:
    """The guide's `req_distinguished_name` fields, built in openssl's order (C, ST, L, O, OU, CN, emailAddress)."""

    common_name: str
    country: str = ""
    state: str = ""
    locality: str = ""
    organization: str = ""
    organizational_unit: str = ""
    email: str = ""

    def to_name(self) -> x509.Name:
        """Build the x509 name, skipping empty fields (the guide's 'optional')."""
        pairs = (
            (NameOID.COUNTRY_NAME, self.country), (NameOID.STATE_OR_PROVINCE_NAME, self.state),
            (NameOID.LOCALITY_NAME, self.locality), (NameOID.ORGANIZATION_NAME, self.organization),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, self.organizational_unit), (NameOID.COMMON_NAME, self.common_name),
            (NameOID.EMAIL_ADDRESS, self.email),
        )
        return x509.Name([_attribute(oid, value.strip(), value) for oid, value in pairs if value.strip()])


def check_device_common_name(cn: str | None) -> str:
    """Refuse a device CN the platform cannot use: it must equal the MQTT client id, where ':' separates fields.

    Raises:
        PolicyError: the CN is missing, empty or contains ':'.
    """
    if cn is None or not cn.strip():
        raise PolicyError("The device certificate needs a common name (CN)",
                          ("The CN is the device id: it must equal the MQTT client id (d:<CN>).",))
    if ":" in cn:
        raise PolicyError(
            f"The device CN '{cn}' contains ':'",
            ("The CN must equal the MQTT client id, and ':' separates fields there (d:<id>:<template>).",
             "Choose an id without ':', e.g. replace it with '-'."),
        )
    return cn


class PolicyRule(Enum):
    """openssl `ca` policy values for one name field."""

    SUPPLIED = "supplied"
    OPTIONAL = "optional"
    MATCH = "match"


# The guide's [signing_policy]: only the CN must be supplied.
GUIDE_SIGNING_POLICY: Mapping[ObjectIdentifier, PolicyRule] = {
    NameOID.COUNTRY_NAME: PolicyRule.OPTIONAL,
    NameOID.STATE_OR_PROVINCE_NAME: PolicyRule.OPTIONAL,
    NameOID.ORGANIZATION_NAME: PolicyRule.OPTIONAL,
    NameOID.ORGANIZATIONAL_UNIT_NAME: PolicyRule.OPTIONAL,
    NameOID.COMMON_NAME: PolicyRule.SUPPLIED,
    NameOID.EMAIL_ADDRESS: PolicyRule.OPTIONAL,
}


def apply_signing_policy(
    subject: x509.Name, issuer: x509.Name, policy: Mapping[ObjectIdentifier, PolicyRule] = GUIDE_SIGNING_POLICY
) -> x509.Name:
    """Check a requested subject against the policy and return it in policy order, as `openssl ca` with preserve=no.

    Fields the policy does not name are dropped, exactly as openssl does.

    Raises:
        PolicyError: a 'supplied' field is missing or a 'match' field differs from the issuer's.
    """
    problems = []
    attributes = []
    for oid, rule in policy.items():
        values = subject.get_attributes_for_oid(oid)
        label = _SHORT.get(oid, oid.dotted_string)
        if rule is PolicyRule.SUPPLIED and not values:
            problems.append(f"{label} must be supplied")
        if rule is PolicyRule.MATCH:
            wanted = [a.value for a in issuer.get_attributes_for_oid(oid)]
            if [a.value for a in values] != wanted:
                problems.append(f"{label} must match the CA's value {wanted[0] if wanted else '(empty)'!r}")
        attributes.extend(values)
    if problems:
        raise PolicyError("The subject does not meet the signing policy", tuple(problems))
    return x509.Name(attributes)
