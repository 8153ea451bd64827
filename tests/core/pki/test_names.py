import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.pki.names import (
    DnStyle,
    PolicyRule,
    SubjectFields,
    apply_signing_policy,
    check_device_common_name,
    common_name,
    format_dn,
    parse_dn,
)
from workbench.errors import InvalidInputError, PolicyError


def test_parses_rfc4514_and_openssl_forms_to_the_same_name() -> None:
    a = parse_dn("CN=device-01,O=ACME,C=PL")
    b = parse_dn("/C=PL/O=ACME/CN=device-01")
    assert a == b
    assert format_dn(a) == "CN=device-01,O=ACME,C=PL"
    assert format_dn(a, DnStyle.OPENSSL) == "/C=PL/O=ACME/CN=device-01"
    assert format_dn(a, DnStyle.ONELINE) == "C = PL, O = ACME, CN = device-01"


def test_openssl_form_escapes_slashes_and_knows_long_names() -> None:
    name = parse_dn("/countryName=PL/organizationName=A\\/B/commonName=x/emailAddress=a@b.example")
    assert name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "A/B"
    assert format_dn(name, DnStyle.OPENSSL) == "/C=PL/O=A\\/B/CN=x/emailAddress=a@b.example"


@pytest.mark.parametrize("text", ["", "   ", "CN", "/CN", "XX=1", "/C=POL/CN=x", "/Bogus=1"])
def test_bad_names_give_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_dn(text)


_value = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda v: v.strip() == v)


@given(cn=_value, org=_value, ou=st.one_of(st.none(), _value))
def test_both_notations_round_trip(cn: str, org: str, ou: str | None) -> None:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if ou is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    name = x509.Name(attributes)
    assert parse_dn(format_dn(name)) == name
    assert parse_dn(format_dn(name, DnStyle.OPENSSL)) == name


def test_subject_fields_skip_empty_values_in_openssl_order() -> None:
    name = SubjectFields("dev-1", country="PL", organization="ACME").to_name()
    assert format_dn(name, DnStyle.OPENSSL) == "/C=PL/O=ACME/CN=dev-1"
    assert common_name(name) == "dev-1"


def test_device_cn_with_colon_is_refused_with_the_reason() -> None:
    with pytest.raises(PolicyError) as info:
        check_device_common_name("dev:1")
    assert "':' separates fields" in info.value.causes[0]
    with pytest.raises(PolicyError):
        check_device_common_name(None)
    assert check_device_common_name("dev-1") == "dev-1"


def test_signing_policy_needs_cn_drops_unknown_fields_and_supports_match() -> None:
    ca = parse_dn("/C=PL/O=ACME/CN=CA")
    ordered = apply_signing_policy(parse_dn("CN=d,O=ACME,L=Krakow"), ca)
    assert format_dn(ordered, DnStyle.OPENSSL) == "/O=ACME/CN=d"  # localityName is not in the guide's policy
    with pytest.raises(PolicyError, match="signing policy") as info:
        apply_signing_policy(parse_dn("O=ACME"), ca)
    assert info.value.causes == ("CN must be supplied",)
    strict = {NameOID.ORGANIZATION_NAME: PolicyRule.MATCH, NameOID.COMMON_NAME: PolicyRule.SUPPLIED}
    with pytest.raises(PolicyError) as info:
        apply_signing_policy(parse_dn("CN=d,O=Other"), ca, strict)
    assert "must match the CA's value 'ACME'" in info.value.causes[0]
