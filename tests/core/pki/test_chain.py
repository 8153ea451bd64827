import pytest

from tests.core.pki.test_chain_factory import device, ec_key, make_cert
from workbench.core.pki.chain import (
    build_chain,
    cert_label,
    check_order,
    find_leaf,
    is_self_issued,
    order_chain,
    signature_verifies,
)
from workbench.errors import ChainError


@pytest.fixture(scope="module")
def pki():  # type: ignore[no-untyped-def]
    root = make_cert("Root", ec_key(0), pathlen=2)
    inter = make_cert("Intermediate", ec_key(1), root, pathlen=1)
    sub = make_cert("Sub CA", ec_key(2), inter, pathlen=0)
    leaf = device("dev-1", sub)
    return root, inter, sub, leaf


def test_orders_a_shuffled_bundle_leaf_first(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    ordered = order_chain([inter.cert, root.cert, leaf.cert, sub.cert])
    assert [cert_label(c) for c in ordered] == ["dev-1", "Sub CA", "Intermediate", "Root"]


def test_fills_gaps_from_the_pool_and_says_which_came_from_it(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    built = build_chain([leaf.cert], pool=[root.cert, sub.cert, inter.cert])
    assert built.complete and built.labels == ("dev-1", "Sub CA", "Intermediate", "Root")
    assert set(built.from_pool) == {root.cert, inter.cert, sub.cert}
    assert built.problems == ()


def test_says_what_is_missing(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    built = build_chain([leaf.cert, sub.cert, inter.cert])
    assert not built.complete
    assert built.missing_issuer == root.cert.subject
    assert built.stop_reason == "the chain stops at 'CN=Intermediate'; its issuer 'CN=Root' is not in the file"
    with pytest.raises(ChainError) as err:
        order_chain([leaf.cert, sub.cert, inter.cert])
    assert "Cannot build a complete chain for 'dev-1'" in err.value.summary
    assert any("its issuer 'CN=Root' is not in the file" in c for c in err.value.causes)


def test_a_ca_with_the_same_name_but_another_key_is_not_taken_for_the_issuer(pki) -> None:  # type: ignore[no-untyped-def]
    _, inter, _, _ = pki
    impostor = make_cert("Root", ec_key(5))
    built = build_chain([inter.cert, impostor.cert])
    assert not built.complete
    assert "with a different key" in (built.stop_reason or "")


def test_detects_a_cycle() -> None:
    placeholder_b = make_cert("B", ec_key(4))
    a = make_cert("A", ec_key(3), placeholder_b)  # A issued by B
    b = make_cert("B", ec_key(4), a)  # B issued by A
    leaf = device("dev-1", a)
    built = build_chain([leaf.cert, a.cert, b.cert])
    assert built.cycle and not built.complete
    assert "sign each other in a loop (A → B → A)" in (built.stop_reason or "")


def test_reports_unrelated_certificates(pki) -> None:  # type: ignore[no-untyped-def]
    root, _, _, _ = pki
    other_root = make_cert("Other Root", ec_key(6))
    other_leaf = device("dev-2", other_root)
    built = build_chain([other_leaf.cert, other_root.cert, root.cert])
    assert built.complete and built.labels == ("dev-2", "Other Root")
    assert built.unused == (root.cert,)
    assert any("'Root'" in p and "not part of the chain" in p for p in built.problems)


def test_find_leaf_prefers_the_certificate_that_signed_nothing(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    assert find_leaf([root.cert, sub.cert, leaf.cert, inter.cert]) == leaf.cert
    assert find_leaf([inter.cert, root.cert]) == inter.cert
    with pytest.raises(ChainError):
        find_leaf([])


def test_check_order_names_the_break(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    assert check_order([leaf.cert, sub.cert, inter.cert, root.cert]) == ()
    problems = check_order([leaf.cert, inter.cert, sub.cert, root.cert])
    assert problems[0] == ("position 2: 'Intermediate' follows 'dev-1' but did not sign it "
                           "(its issuer is 'CN=Sub CA')")


def test_self_issued_and_signatures(pki) -> None:  # type: ignore[no-untyped-def]
    root, inter, sub, leaf = pki
    assert is_self_issued(root.cert) and not is_self_issued(inter.cert)
    assert signature_verifies(leaf.cert, sub.cert)
    assert not signature_verifies(leaf.cert, inter.cert)
    forged = make_cert("Sub CA", ec_key(2), inter, wrong_signing_key=ec_key(7))
    assert not signature_verifies(forged.cert, inter.cert)
