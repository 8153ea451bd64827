import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.core.pki.test_chain_factory import T0, device, ec_key, make_cert
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, intermediate_ca_profile, root_ca_profile
from workbench.core.pki.verify import verify_chain

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def pki():  # type: ignore[no-untyped-def]
    root = make_cert("Root", ec_key(0))
    inter = make_cert("Inter", ec_key(1), root, pathlen=0)
    leaf = device("dev-1", inter)
    return root, inter, leaf


def _codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in result.findings]


def test_a_good_chain_verifies(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, leaf = pki
    result = verify_chain(leaf.cert, [root.cert], [inter.cert], at=T0)
    assert result.ok and result.findings == ()
    assert result.chain == (leaf.cert, inter.cert, root.cert) and result.anchor == root.cert
    assert result.summary == "OK: 'dev-1' → 'Inter' → 'Root' (trusted via 'Root')"


def test_our_issuer_chain_verifies_with_rsa_and_ec() -> None:
    root_key = generate_key(KeySpec.RSA_2048)
    root = Issuer(create_root_ca(parse_dn("CN=RSA Root"), root_key, root_ca_profile(path_length=1), now=T0),
                  root_key)
    inter_key = generate_key(KeySpec.EC_P384)
    inter = Issuer(issue_certificate(parse_dn("CN=EC Inter"), inter_key.public_key(), intermediate_ca_profile(),
                                     root, now=T0), inter_key)
    leaf = issue_certificate(parse_dn("CN=dev-9"), generate_key(KeySpec.ED25519).public_key(), device_profile(),
                             inter, now=T0)
    assert verify_chain(leaf, [root.certificate], [inter.certificate], at=T0 + DAY).ok


def test_rsa_pss_signatures_are_checked() -> None:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PSS Root")])
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(T0 - DAY).not_valid_after(T0 + DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256(), rsa_padding=pss))
    leaf_key = ec_key(9)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d")]))
            .issuer_name(name).public_key(leaf_key.public_key()).serial_number(2)
            .not_valid_before(T0 - DAY).not_valid_after(T0 + DAY).sign(key, hashes.SHA256(), rsa_padding=pss))
    assert verify_chain(leaf, [cert], at=T0).ok


def test_missing_issuer_is_named(pki) -> None:  # type: ignore[no-untyped-def]
    root, _, leaf = pki
    result = verify_chain(leaf.cert, [root.cert], at=T0)
    assert not result.ok and _codes(result) == ["issuer-not-found"]
    assert result.findings[0].message == ("the chain stops at 'CN=dev-1'; its issuer 'CN=Inter' is in neither the "
                                          "CA file nor the untrusted certificates")
    assert result.findings[0].openssl_error == 20


def test_without_partial_chain_an_intermediate_anchor_is_not_enough(pki) -> None:  # type: ignore[no-untyped-def]
    _, inter, leaf = pki
    result = verify_chain(leaf.cert, [inter.cert], at=T0)
    assert _codes(result) == ["anchor-not-root"]
    assert "'Inter' is in the CA file but is not a self-signed root" in result.findings[0].message
    partial = verify_chain(leaf.cert, [inter.cert], partial_chain=True, at=T0)
    assert partial.ok and partial.anchor == inter.cert and partial.chain == (leaf.cert, inter.cert)
    assert "partial chain" in partial.notes[0]


def test_with_root_and_intermediate_in_the_ca_file_the_root_is_the_anchor() -> None:
    root = make_cert("Root", ec_key(0), not_after=T0 - DAY)
    inter = make_cert("Inter", ec_key(1), root, pathlen=0)
    leaf = device("dev-1", inter)
    result = verify_chain(leaf.cert, [inter.cert, root.cert], at=T0)
    assert result.anchor == root.cert and result.chain == (leaf.cert, inter.cert, root.cert)
    assert [(f.code, f.certificate) for f in result.findings] == [("expired", "Root")]


def test_partial_chain_trusts_the_leaf_itself(pki) -> None:  # type: ignore[no-untyped-def]
    _, _, leaf = pki
    assert verify_chain(leaf.cert, [leaf.cert], partial_chain=True, at=T0).ok
    assert _codes(verify_chain(leaf.cert, [leaf.cert], at=T0)) == ["issuer-not-found"]


def test_untrusted_self_signed_root(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, leaf = pki
    other = make_cert("Other", ec_key(5))
    result = verify_chain(leaf.cert, [other.cert], [inter.cert, root.cert], at=T0)
    assert _codes(result) == ["untrusted-root"]
    assert result.findings[0].message == ("the chain ends at the self-signed 'Root', which is not in the CA file, "
                                          "so it is not trusted")
    assert _codes(verify_chain(root.cert, [other.cert], at=T0)) == ["self-signed-leaf"]


def test_expired_and_not_yet_valid() -> None:
    root = make_cert("Root", ec_key(0))
    expired = device("dev-1", root, not_after=datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC))
    result = verify_chain(expired.cert, [root.cert], at=T0)
    assert _codes(result) == ["expired"]
    assert result.findings[0].message == "'dev-1' expired on 2025-12-31 00:00:00 UTC"
    early = device("dev-2", root, not_before=T0 + DAY)
    assert [f.message for f in verify_chain(early.cert, [root.cert], at=T0).findings] == [
        "'dev-2' is not valid before 2026-01-02 00:00:00 UTC"]


def test_an_expired_anchor_fails_even_with_partial_chain() -> None:
    root = make_cert("Root", ec_key(0), not_after=T0 - DAY)
    leaf = device("dev-1", root)
    for partial in (False, True):
        result = verify_chain(leaf.cert, [root.cert], partial_chain=partial, at=T0)
        assert _codes(result) == ["expired"] and result.findings[0].certificate == "Root"


def test_the_clock_is_injectable(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, leaf = pki
    later = T0 + datetime.timedelta(days=400)
    result = verify_chain(leaf.cert, [root.cert], [inter.cert], at=later)
    assert sorted(f.certificate for f in result.findings) == ["Inter", "Root", "dev-1"]
    assert result.checked_at == later


def test_a_non_ca_signer_is_refused() -> None:
    root = make_cert("Root", ec_key(0))
    signer = make_cert("X", ec_key(1), root, ca=False, key_cert_sign=None)
    leaf = device("dev-1", signer)
    result = verify_chain(leaf.cert, [root.cert], [signer.cert], at=T0)
    assert _codes(result) == ["not-a-ca"]
    assert result.findings[0].message == "'X' is not a CA (CA:FALSE) but signed 'dev-1'"
    assert result.findings[0].openssl_error == 79


def test_a_signer_without_basic_constraints_is_refused() -> None:
    root = make_cert("Root", ec_key(0))
    signer = make_cert("X", ec_key(1), root, ca=None, key_cert_sign=True)
    result = verify_chain(device("dev-1", signer).cert, [root.cert], [signer.cert], at=T0)
    assert [f.message for f in result.findings] == ["'X' is not a CA (it has no basicConstraints) but signed 'dev-1'"]


def test_a_trusted_root_must_be_a_ca_too() -> None:
    root = make_cert("Root", ec_key(0), ca=False, key_cert_sign=None)
    result = verify_chain(device("dev-1", root).cert, [root.cert], at=T0)
    assert _codes(result) == ["not-a-ca"]


def test_missing_key_cert_sign() -> None:
    root = make_cert("Root", ec_key(0))
    signer = make_cert("Sub CA", ec_key(1), root, key_cert_sign=False)
    result = verify_chain(device("dev-1", signer).cert, [root.cert], [signer.cert], at=T0)
    assert _codes(result) == ["no-keycertsign"]
    assert result.findings[0].message == ("'Sub CA' signed 'dev-1' but its keyUsage lacks keyCertSign "
                                          "(Certificate Sign)")


def test_pathlen_zero_intermediate_signing_another_ca() -> None:
    root = make_cert("Root", ec_key(0))
    inter = make_cert("X", ec_key(1), root, pathlen=0)
    sub = make_cert("Sub CA", ec_key(2), inter, pathlen=None)
    leaf = device("dev-1", sub)
    result = verify_chain(leaf.cert, [root.cert], [inter.cert, sub.cert], at=T0)
    assert _codes(result) == ["pathlen-exceeded"]
    assert result.findings[0].message == "intermediate 'X' has pathlen 0 but signs another CA ('Sub CA')"
    assert result.findings[0].depth == 2


def test_pathlen_counts_every_intermediate_below() -> None:
    root = make_cert("Root", ec_key(0), pathlen=1)
    a = make_cert("A", ec_key(1), root)
    b = make_cert("B", ec_key(2), a)
    leaf = device("dev-1", b)
    result = verify_chain(leaf.cert, [root.cert], [a.cert, b.cert], at=T0)
    assert [f.message for f in result.findings] == [
        "root 'Root' has pathlen 1 but 2 intermediate CAs follow it in the chain ('A', 'B')"]
    # The guide's example of minimal values: A (pathlen 2) -> B (1) -> C (0) -> D (device).
    ga = make_cert("A", ec_key(0), pathlen=2)
    gb = make_cert("B", ec_key(1), ga, pathlen=1)
    gc = make_cert("C", ec_key(2), gb, pathlen=0)
    assert verify_chain(device("D", gc).cert, [ga.cert], [gb.cert, gc.cert], at=T0).ok


def test_bad_signature_names_both_certificates(pki) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = pki
    sub = make_cert("Sub CA", ec_key(1), root)
    forged = device("dev-1", sub, wrong_signing_key=ec_key(8))
    result = verify_chain(forged.cert, [root.cert], [sub.cert], at=T0)
    assert [f.message for f in result.findings] == [
        "the signature of 'dev-1' does not verify with the key of 'Sub CA'"]


def test_unknown_critical_extension(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, _ = pki
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    leaf = device("dev-1", inter, extra=((odd, True),))
    result = verify_chain(leaf.cert, [root.cert], [inter.cert], at=T0)
    assert _codes(result) == ["critical-extension"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    root = make_cert("Root", ec_key(0), pathlen=0, not_after=T0 - DAY)
    signer = make_cert("X", ec_key(1), root, ca=False, key_cert_sign=False)
    leaf = device("dev-1", signer, wrong_signing_key=ec_key(8))
    result = verify_chain(leaf.cert, [root.cert], [signer.cert], at=T0)
    # openssl counts every certificate between the leaf and a CA for pathlen, CA or not, and so do we.
    assert set(_codes(result)) == {"expired", "not-a-ca", "no-keycertsign", "bad-signature", "pathlen-exceeded"}
    assert result.to_dict()["ok"] is False
