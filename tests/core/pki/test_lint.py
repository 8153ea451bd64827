import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.core.pki.test_chain_factory import T0, Node, device, ec_key, make_cert
from tests.core.pki.test_inspect import as_version1
from workbench.core.pki.lint import (
    POP_ADVICE,
    LintReport,
    Severity,
    format_report,
    lint_ca_for_upload,
    lint_device_chain,
)

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def root() -> Node:
    return make_cert("Root", ec_key(0), pathlen=1)


def _codes(report: LintReport, severity: Severity | None = None) -> list[str]:
    return [f.code for f in report.findings if severity is None or f.severity is severity]


def test_a_good_ca_passes(root: Node) -> None:
    report = lint_ca_for_upload([root.cert], now=T0)
    assert report.ok and _codes(report, Severity.ERROR) == [] and _codes(report, Severity.WARNING) == []
    assert "pathlen 1" in report.findings[0].message


def test_ca_must_be_a_ca_and_valid(root: Node) -> None:
    leaf = device("dev-1", root)
    report = lint_ca_for_upload([leaf.cert], now=T0)
    assert not report.ok and "not-a-ca" in _codes(report, Severity.ERROR)
    assert "must have BasicConstraints CA:true" in report.errors[0].message
    no_bc = make_cert("Old CA", ec_key(1), ca=None, key_cert_sign=None)
    assert "has no basicConstraints" in lint_ca_for_upload([no_bc.cert], now=T0).errors[0].message
    expired = lint_ca_for_upload([root.cert], now=T0 + 400 * DAY)
    assert _codes(expired, Severity.ERROR) == ["expired"]
    soon = lint_ca_for_upload([root.cert], now=T0 + 350 * DAY)
    assert soon.ok and _codes(soon, Severity.WARNING) == ["expires-soon"]


def test_ca_key_size_and_key_usage() -> None:
    weak = make_cert("Weak", rsa.generate_private_key(65537, 1024))  # type: ignore[arg-type]
    report = lint_ca_for_upload([weak.cert], now=T0)
    assert _codes(report, Severity.ERROR) == ["weak-key"]
    assert "at least 2048 bits" in report.errors[0].fix
    no_sign = make_cert("CA", ec_key(1), key_cert_sign=False)
    assert _codes(lint_ca_for_upload([no_sign.cert], now=T0), Severity.ERROR) == ["no-keycertsign"]


def test_ca_without_cn_and_bundles(root: Node) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    nameless = make_cert("x", ec_key(2), issuer_name=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O")]))
    # issuer_name makes it look issued by someone else, which the lint reports as an intermediate.
    assert "intermediate" in _codes(lint_ca_for_upload([nameless.cert], now=T0), Severity.INFO)
    report = lint_ca_for_upload([root.cert, nameless.cert], now=T0)
    assert _codes(report, Severity.WARNING) == ["several-certificates"]
    assert _codes(lint_ca_for_upload([], now=T0)) == ["empty"]


def test_a_good_device_chain_passes(root: Node) -> None:
    leaf = device("dev-1", root)
    report = lint_device_chain([leaf.cert, root.cert], client_id="d:dev-1", now=T0)
    assert report.ok, format_report(report)
    assert _codes(report, Severity.WARNING) == []
    assert set(_codes(report, Severity.INFO)) == {"client-id", "client-auth", "ends-at-root"}


def test_device_cn_rules(root: Node) -> None:
    colon = device("dev:1", root)
    assert "colon-in-cn" in _codes(lint_device_chain([colon.cert, root.cert], now=T0), Severity.ERROR)
    good = device("dev-1", root)
    mismatch = lint_device_chain([good.cert, root.cert], client_id="dev-2", now=T0)
    assert _codes(mismatch, Severity.ERROR) == ["client-id-mismatch"]
    assert mismatch.errors[0].message == "the device CN 'dev-1' differs from the client id 'dev-2'"


def test_eku_present_absent_or_wrong(root: Node) -> None:
    plain = device("dev-1", root, client_auth=False)
    assert "no-eku" in _codes(lint_device_chain([plain.cert, root.cert], now=T0), Severity.INFO)
    server_only = device("dev-1", root, client_auth=False, server_auth=True)
    assert _codes(lint_device_chain([server_only.cert, root.cert], now=T0), Severity.ERROR) == ["no-client-auth"]


def test_incomplete_and_misordered_chains(root: Node) -> None:
    inter = make_cert("Inter", ec_key(1), root, pathlen=0)
    leaf = device("dev-1", inter)
    only_leaf = lint_device_chain([leaf.cert], now=T0)
    assert _codes(only_leaf, Severity.ERROR) == ["incomplete"]
    assert only_leaf.errors[0].message == "the chain stops at 'CN=dev-1'; its issuer 'CN=Inter' is not in the file"
    to_inter = lint_device_chain([leaf.cert, inter.cert], now=T0)
    assert to_inter.ok and _codes(to_inter, Severity.WARNING) == ["incomplete"]  # fine if Inter is the uploaded CA
    assert "fine only if 'Inter' itself is the CA uploaded" in to_inter.findings[-1].message
    shuffled = lint_device_chain([leaf.cert, root.cert, inter.cert], now=T0)
    assert _codes(shuffled, Severity.ERROR) == ["misordered"]
    assert shuffled.errors[0].fix == "Reorder the file as 'dev-1' → 'Inter' → 'Root'."
    root_first = lint_device_chain([root.cert, leaf.cert, inter.cert], now=T0)
    assert root_first.errors[0].message == ("the file starts with 'Root', but the device certificate 'dev-1' "
                                            "must come first")
    assert root_first.subject == "dev-1"


def test_trusted_cas_must_be_in_the_chain(root: Node) -> None:
    leaf = device("dev-1", root)
    other = make_cert("Other", ec_key(5))
    assert lint_device_chain([leaf.cert, root.cert], trusted=[root.cert], now=T0).ok
    report = lint_device_chain([leaf.cert, root.cert], trusted=[other.cert], now=T0)
    assert _codes(report, Severity.ERROR) == ["no-trusted-ca"]


def test_long_chains_get_the_pop_advice_and_the_length_limit(root: Node) -> None:
    top = make_cert("Top", ec_key(0))
    signer, chain = top, [top.cert]
    for i in range(3):
        signer = make_cert(f"I{i}", ec_key(i + 1), signer)
        chain.insert(0, signer.cert)
    leaf = device("dev-1", signer)
    report = lint_device_chain([leaf.cert, *chain], now=T0)
    assert report.ok and _codes(report, Severity.WARNING) == ["longer-than-cloud"]
    warning = next(f for f in report.findings if f.code == "longer-than-cloud")
    assert POP_ADVICE in warning.message and "proof of possession" in warning.message
    assert "restricted to 2" in warning.message
    too_long = lint_device_chain([leaf.cert, *chain], max_chain=4, now=T0)
    assert _codes(too_long, Severity.ERROR) == ["too-long"]


def test_verifier_problems_become_lint_errors() -> None:
    root = make_cert("Root", ec_key(0), pathlen=0)
    inter = make_cert("Inter", ec_key(1), root)
    leaf = device("dev-1", inter)
    report = lint_device_chain([leaf.cert, inter.cert, root.cert], now=T0)
    assert _codes(report, Severity.ERROR) == ["pathlen-exceeded"]
    assert report.errors[0].message == "root 'Root' has pathlen 0 but signs another CA ('Inter')"
    not_ca = make_cert("Signer", ec_key(1), root, ca=False, key_cert_sign=None)
    bad = lint_device_chain([device("dev-1", not_ca).cert, not_ca.cert, root.cert], now=T0)
    assert "not-a-ca" in _codes(bad, Severity.ERROR)


def test_validity_and_weak_keys_in_the_chain(root: Node) -> None:
    expired = device("dev-1", root, not_after=T0 - DAY)
    report = lint_device_chain([expired.cert, root.cert], now=T0)
    assert _codes(report, Severity.ERROR) == ["expired"]
    assert report.errors[0].message.startswith("the device certificate 'dev-1' expired on")
    weak_leaf = make_cert("dev-1", rsa.generate_private_key(65537, 1024), root, ca=False,  # type: ignore[arg-type]
                          key_cert_sign=False, client_auth=True)
    assert _codes(lint_device_chain([weak_leaf.cert, root.cert], now=T0), Severity.ERROR) == ["weak-key"]


def test_report_text(root: Node) -> None:
    text = format_report(lint_device_chain([device("dev:1", root).cert, root.cert], now=T0))
    assert "ERROR   the device CN 'dev:1' contains ':'" in text
    assert text.splitlines()[-1] == "FAIL: 'dev:1': 1 error(s), 0 warning(s)"


def test_a_version_1_ca_is_refused_for_upload(root: Node) -> None:
    report = lint_ca_for_upload([as_version1(root)], now=T0)
    assert _codes(report, Severity.ERROR) == ["not-v3", "not-a-ca"]
    assert "only X.509 version 3" in report.errors[0].fix


def test_a_self_signed_device_certificate_is_refused() -> None:
    lonely = make_cert("dev-1", ec_key(3), ca=False, key_cert_sign=False, client_auth=True)
    report = lint_device_chain([lonely.cert], now=T0)
    assert _codes(report, Severity.ERROR) == ["self-signed-device"]
