"""Our verifier and the machine's `openssl verify` must agree on a matrix of good and bad chains."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.core.pki.test_chain_factory import T0, device, ec_key, make_cert
from tests.core.pki.test_inspect import as_version1
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, intermediate_ca_profile, root_ca_profile
from workbench.core.pki.verify import verify_chain

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")]

DAY = datetime.timedelta(days=1)
_ERROR_LINE = re.compile(r"error (\d+) at (\d+) depth lookup")


@dataclass
class Case:
    leaf: x509.Certificate
    anchors: list[x509.Certificate]
    untrusted: list[x509.Certificate] = field(default_factory=list)
    partial: bool = False
    at: datetime.datetime = T0


def _cases() -> dict[str, Callable[[], Case]]:
    def three_level(**leaf_kwargs: object) -> Case:
        root = make_cert("Root", ec_key(0))
        inter = make_cert("Inter", ec_key(1), root, pathlen=0)
        return Case(device("dev-1", inter, **leaf_kwargs).cert, [root.cert], [inter.cert])

    def intermediate_anchor(partial: bool) -> Case:
        root = make_cert("Root", ec_key(0))
        inter = make_cert("Inter", ec_key(1), root, pathlen=0)
        return Case(device("dev-1", inter).cert, [inter.cert], partial=partial)

    def guide_pathlens() -> Case:
        a = make_cert("A", ec_key(0), pathlen=2)
        b = make_cert("B", ec_key(1), a, pathlen=1)
        c = make_cert("C", ec_key(2), b, pathlen=0)
        return Case(device("D", c).cert, [a.cert], [c.cert, b.cert])

    def pathlen(root_len: int, depth: int) -> Case:
        root = make_cert("Root", ec_key(0), pathlen=root_len)
        signer, chain = root, []
        for i in range(depth):
            signer = make_cert(f"I{i}", ec_key(i + 1), signer)
            chain.append(signer.cert)
        return Case(device("dev-1", signer).cert, [root.cert], chain)

    def signer_case(**signer_kwargs: object) -> Case:
        root = make_cert("Root", ec_key(0))
        signer = make_cert("X", ec_key(1), root, **signer_kwargs)  # type: ignore[arg-type]
        return Case(device("dev-1", signer).cert, [root.cert], [signer.cert])

    def untrusted_root() -> Case:
        case = three_level()
        return Case(case.leaf, [make_cert("Other", ec_key(5)).cert], [*case.untrusted, *case.anchors])

    def impostor_root() -> Case:
        case = three_level()
        return Case(case.leaf, [make_cert("Root", ec_key(6)).cert], case.untrusted)

    def leaf_anchor(partial: bool) -> Case:
        case = three_level()
        return Case(case.leaf, [case.leaf], partial=partial)

    def expired_anchor(partial: bool) -> Case:
        root = make_cert("Root", ec_key(0), not_after=T0 - DAY)
        return Case(device("dev-1", root).cert, [root.cert], partial=partial)

    def bad_signature() -> Case:
        case = three_level(wrong_signing_key=ec_key(8))
        return case

    def our_issuer() -> Case:
        root_key = generate_key(KeySpec.RSA_2048)
        root = Issuer(create_root_ca(parse_dn("/C=PL/O=ACME/CN=Root CA"), root_key, root_ca_profile(path_length=1),
                                     now=T0 - DAY), root_key)
        inter_key = generate_key(KeySpec.EC_P256)
        inter = Issuer(issue_certificate(parse_dn("CN=Intermediate"), inter_key.public_key(),
                                         intermediate_ca_profile(), root, now=T0 - DAY), inter_key)
        leaf = issue_certificate(parse_dn("CN=dev-1"), generate_key(KeySpec.ED25519).public_key(), device_profile(),
                                 inter, now=T0 - DAY)
        return Case(leaf, [root.certificate], [inter.certificate])

    def bad_root_self_signature() -> Case:
        good_root = make_cert("Root", ec_key(0))
        bad_root = make_cert("Root", ec_key(0), wrong_signing_key=ec_key(7))
        return Case(device("dev-1", good_root).cert, [bad_root.cert])

    def noise_in_untrusted() -> Case:
        case = three_level()
        return Case(case.leaf, case.anchors, [make_cert("Noise", ec_key(6)).cert, *case.untrusted])

    def critical() -> Case:
        odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
        return three_level(extra=((odd, True),))

    def v1_root() -> Case:
        root = make_cert("Root", ec_key(0))
        return Case(device("dev-1", root).cert, [as_version1(root)])

    def v1_intermediate() -> Case:
        root = make_cert("Root", ec_key(0))
        inter = make_cert("Inter", ec_key(1), root)
        return Case(device("dev-1", inter).cert, [root.cert], [as_version1(inter)])

    def both_in_ca_file(root_expired: bool, partial: bool = False) -> Case:
        root = make_cert("Root", ec_key(0), not_after=T0 - DAY if root_expired else None)
        inter = make_cert("Inter", ec_key(1), root, pathlen=0)
        return Case(device("dev-1", inter).cert, [inter.cert, root.cert], partial=partial)

    return {
        "good three levels": three_level,
        "root and intermediate in CA file": lambda: both_in_ca_file(False),
        "root and intermediate in CA file, root expired": lambda: both_in_ca_file(True),
        "root and intermediate in CA file, root expired, partial": lambda: both_in_ca_file(True, partial=True),
        "v1 root anchor": v1_root,
        "v1 intermediate": v1_intermediate,
        "good two levels": lambda: Case(device("dev-1", r := make_cert("Root", ec_key(0))).cert, [r.cert]),
        "guide pathlen 2-1-0": guide_pathlens,
        "our issuer rsa/ec/ed25519": our_issuer,
        "intermediate missing": lambda: Case((c := three_level()).leaf, c.anchors),
        "intermediate anchor": lambda: intermediate_anchor(False),
        "intermediate anchor partial": lambda: intermediate_anchor(True),
        "leaf anchor": lambda: leaf_anchor(False),
        "leaf anchor partial": lambda: leaf_anchor(True),
        "untrusted root": untrusted_root,
        "impostor root": impostor_root,
        "self-signed leaf": lambda: Case(make_cert("Root", ec_key(0)).cert, [make_cert("Other", ec_key(5)).cert]),
        "self-signed leaf trusted": lambda: Case((r := make_cert("Root", ec_key(0))).cert, [r.cert]),
        "expired leaf": lambda: three_level(not_after=T0 - DAY),
        "not yet valid leaf": lambda: three_level(not_before=T0 + DAY),
        "expired anchor": lambda: expired_anchor(False),
        "expired anchor partial": lambda: expired_anchor(True),
        "signer CA:false": lambda: signer_case(ca=False, key_cert_sign=None),
        "signer without basicConstraints": lambda: signer_case(ca=None, key_cert_sign=True),
        "signer without keyCertSign": lambda: signer_case(key_cert_sign=False),
        "root CA:false": lambda: Case(device("dev-1", r := make_cert("Root", ec_key(0), ca=False,
                                                                     key_cert_sign=None)).cert, [r.cert]),
        "pathlen 0 signs a CA": lambda: pathlen(0, 1),
        "pathlen 1 with two below": lambda: pathlen(1, 2),
        "pathlen 1 with one below": lambda: pathlen(1, 1),
        "bad signature": bad_signature,
        "bad root self-signature": bad_root_self_signature,
        "noise in untrusted": noise_in_untrusted,
        "unknown critical extension": critical,
    }


CASES = _cases()


def _write(path: Path, certs: list[x509.Certificate]) -> str:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return str(path)


def _openssl_verify(case: Case, tmp_path: Path) -> tuple[bool, list[int], str]:
    args = ["openssl", "verify", "-attime", str(int(case.at.timestamp())),
            "-CAfile", _write(tmp_path / "ca.pem", case.anchors)]
    if case.untrusted:
        args += ["-untrusted", _write(tmp_path / "untrusted.pem", case.untrusted)]
    if case.partial:
        args.append("-partial_chain")
    args.append(_write(tmp_path / "leaf.pem", [case.leaf]))
    run = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    output = run.stdout + run.stderr
    return run.returncode == 0, [int(m.group(1)) for m in _ERROR_LINE.finditer(output)], output


@pytest.mark.parametrize("name", list(CASES))
def test_openssl_and_we_agree(name: str, tmp_path: Path) -> None:
    case = CASES[name]()
    ours = verify_chain(case.leaf, case.anchors, case.untrusted, partial_chain=case.partial, at=case.at)
    openssl_ok, openssl_errors, output = _openssl_verify(case, tmp_path)
    assert ours.ok == openssl_ok, f"{name}: openssl says {output!r}, we say {ours.to_dict()}"
    if not openssl_ok:
        ours_codes = {f.openssl_error for f in ours.findings}
        assert set(openssl_errors) & ours_codes, (
            f"{name}: none of openssl's errors {openssl_errors} is among ours {ours_codes}: {output!r}")


def test_the_matrix_has_both_outcomes() -> None:
    outcomes = {verify_chain((c := make()).leaf, c.anchors, c.untrusted, partial_chain=c.partial, at=c.at).ok
                for make in CASES.values()}
    assert outcomes == {True, False}


def test_guide_commands_accept_our_certificates(tmp_path: Path) -> None:
    """The guide's own checks: `openssl verify -CAfile caCert.pem intermediateCert.pem` and the -partial_chain one."""
    now = datetime.datetime.now(datetime.UTC)
    root_key = generate_key(KeySpec.EC_P256)
    root = Issuer(create_root_ca(parse_dn("CN=Root CA"), root_key, root_ca_profile(path_length=10), now=now),
                  root_key)
    inter_key = generate_key(KeySpec.EC_P256)
    inter = Issuer(issue_certificate(parse_dn("CN=Intermediate"), inter_key.public_key(),
                                     intermediate_ca_profile(path_length=0), root, now=now), inter_key)
    leaf = issue_certificate(parse_dn("CN=dev-1"), generate_key(KeySpec.EC_P256).public_key(), device_profile(),
                             inter, now=now)
    ca_file = _write(tmp_path / "caCert.pem", [root.certificate])
    inter_file = _write(tmp_path / "intermediateCert.pem", [inter.certificate])
    leaf_file = _write(tmp_path / "deviceCert.pem", [leaf])
    for args in (["-CAfile", ca_file, inter_file], ["-partial_chain", "-CAfile", inter_file, leaf_file],
                 ["-CAfile", ca_file, "-untrusted", inter_file, leaf_file]):
        run = subprocess.run(["openssl", "verify", *args], capture_output=True, text=True, timeout=30, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
    assert verify_chain(inter.certificate, [root.certificate]).ok
    assert verify_chain(leaf, [inter.certificate], partial_chain=True).ok
