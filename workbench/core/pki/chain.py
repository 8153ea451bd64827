"""Chain building: put certificates in the order the platform wants, every certificate followed by its signer.

The issuer lookup follows openssl's rules (subject name equals issuer name, and the authority key id, when both
sides have one, matches the subject key id), so that we build the same chain `openssl verify` builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from workbench.errors import ChainError

from .names import common_name, format_dn


def cert_label(cert: x509.Certificate) -> str:
    """The short name people recognise in messages: the CN, or the whole DN when there is no CN."""
    return common_name(cert.subject) or format_dn(cert.subject) or "(empty subject)"


def name_label(name: x509.Name) -> str:
    """A DN as RFC 4514 text for messages about certificates we do not have."""
    return format_dn(name) or "(empty name)"


def _extension(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a duplicate or malformed extension: treat as absent, the inspector shows it raw
        return None


def key_ids_consistent(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """openssl's akid check: when the cert names its issuer's key id and the issuer states one, they must agree."""
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    ski = _extension(issuer, x509.SubjectKeyIdentifier)
    if not isinstance(aki, x509.AuthorityKeyIdentifier) or not isinstance(ski, x509.SubjectKeyIdentifier):
        return True
    if aki.key_identifier is not None and aki.key_identifier != ski.digest:
        return False
    serial = aki.authority_cert_serial_number
    return serial is None or serial == issuer.serial_number


def may_have_issued(issuer: x509.Certificate, cert: x509.Certificate) -> bool:
    """Whether ``issuer`` is a candidate signer of ``cert`` by name and key id (the signature is checked apart)."""
    return issuer.subject == cert.issuer and key_ids_consistent(cert, issuer)


def is_self_issued(cert: x509.Certificate) -> bool:
    """A root by openssl's test: issuer equals subject and the key ids do not contradict it."""
    return may_have_issued(cert, cert)


def signature_verifies(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``cert``'s signature checks out with ``issuer``'s public key (RSA, RSA-PSS, ECDSA, EdDSA)."""
    key = issuer.public_key()
    data, signature = cert.tbs_certificate_bytes, cert.signature
    try:
        params = cert.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and isinstance(params, padding.PKCS1v15 | padding.PSS):
            key.verify(signature, data, params, cert.signature_hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            key.verify(signature, data, params)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey) and params is None:
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def same_name_hint(cert: x509.Certificate, candidates: Iterable[x509.Certificate]) -> str:
    """Explain a lookalike: a certificate with the issuer's name but another key (a re-made CA)."""
    if any(c.subject == cert.issuer and c is not cert for c in candidates):
        return (f" (a certificate named '{name_label(cert.issuer)}' is there, but with a different key: "
                "probably a CA re-created under the same name)")
    return ""


def find_issuer(cert: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    """The best signer among ``candidates``: one whose key verifies the signature, else the first name match."""
    matches = [c for c in candidates if may_have_issued(c, cert)]
    for candidate in matches:
        if signature_verifies(cert, candidate):
            return candidate
    return matches[0] if matches else None


def _dedupe(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: list[x509.Certificate] = []
    for cert in certs:
        if cert not in seen:
            seen.append(cert)
    return seen


def find_leaf(bundle: Sequence[x509.Certificate]) -> x509.Certificate:
    """The end-entity certificate of an unordered bundle: the one that signed none of the others.

    Among several candidates, a non-CA certificate wins, then the earliest in the file (what openssl takes).

    Raises:
        ChainError: the bundle is empty.
    """
    certs = _dedupe(bundle)
    if not certs:
        raise ChainError("There is no certificate to build a chain from", ("The file holds no certificate.",))
    signers = {id(find_issuer(c, [o for o in certs if o is not c])) for c in certs}
    leaves = [c for c in certs if id(c) not in signers]
    if not leaves:
        return certs[0]
    non_ca = [c for c in leaves if not _is_ca(c)]
    return (non_ca or leaves)[0]


def _is_ca(cert: x509.Certificate) -> bool:
    bc = _extension(cert, x509.BasicConstraints)
    return isinstance(bc, x509.BasicConstraints) and bc.ca


@dataclass(frozen=True)
class ChainBuild:
    """A chain as built from a leaf: leaf first, each certificate followed by the one that signed it.

    Attributes:
        chain: the certificates in order, starting with the leaf.
        complete: the chain ends with a self-signed root.
        missing_issuer: the name of the first signer we could not find, if any.
        cycle: the certificates sign each other in a loop and never reach a root.
        unused: certificates of the bundle that are not part of this chain.
        from_pool: certificates taken from the pool (e.g. the CA store) rather than the bundle.
        problems: every problem above, in words.
        stop_reason: why the chain is incomplete (missing signer or loop), in words; None when complete.
    """

    chain: tuple[x509.Certificate, ...]
    complete: bool
    missing_issuer: x509.Name | None = None
    cycle: bool = False
    unused: tuple[x509.Certificate, ...] = ()
    from_pool: tuple[x509.Certificate, ...] = ()
    problems: tuple[str, ...] = ()
    stop_reason: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The chain as names, for display ('dev-1 → Inter → Root')."""
        return tuple(cert_label(c) for c in self.chain)


def build_chain(
    bundle: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate] = (),
    *,
    leaf: x509.Certificate | None = None,
    source: str = "the file",
) -> ChainBuild:
    """Order a bundle leaf → … → root, filling gaps from ``pool`` and saying what is still missing.

    ``leaf`` picks the starting certificate; by default it is the one certificate of the bundle that signed
    no other. ``source`` names where the bundle came from in messages ("the file").

    Raises:
        ChainError: there is no certificate at all.
    """
    certs = _dedupe(bundle)
    start = leaf if leaf is not None else find_leaf(certs)
    candidates = _dedupe([*certs, *pool])
    chain = [start]
    problems: list[str] = []
    missing: x509.Name | None = None
    cycle = False
    while not is_self_issued(chain[-1]):
        current = chain[-1]
        issuer = find_issuer(current, [c for c in candidates if c is not current])
        if issuer is None:
            missing = current.issuer
            where = source if not pool else f"{source} or the CA store"
            problems.append(f"the chain stops at '{name_label(current.subject)}'; "
                            f"its issuer '{name_label(current.issuer)}' is not in {where}"
                            + same_name_hint(current, candidates))
            break
        if issuer in chain:
            cycle = True
            loop = " → ".join(cert_label(c) for c in [*chain[chain.index(issuer):], issuer])
            problems.append(f"the certificates sign each other in a loop ({loop}) and never reach a self-signed root")
            break
        chain.append(issuer)
    unused = tuple(c for c in certs if c not in chain)
    if unused:
        names = ", ".join(f"'{cert_label(c)}'" for c in unused)
        problems.append(f"{len(unused)} certificate(s) in {source} are not part of the chain of "
                        f"'{cert_label(start)}': {names}")
    from_pool = tuple(c for c in chain if c not in certs)
    complete = missing is None and not cycle
    stop_reason = None if complete else problems[0]
    return ChainBuild(tuple(chain), complete, missing, cycle, unused, from_pool, tuple(problems), stop_reason)


def order_chain(bundle: Sequence[x509.Certificate], pool: Sequence[x509.Certificate] = (),
                *, source: str = "the file") -> list[x509.Certificate]:
    """Return the complete chain, leaf first and root last, as the guide's `cat device inter ca > chain`.

    Raises:
        ChainError: a signer is missing, the certificates loop, or the bundle is empty.
    """
    built = build_chain(bundle, pool, source=source)
    if not built.complete:
        raise ChainError(f"Cannot build a complete chain for '{cert_label(built.chain[0])}'",
                         (*built.problems, "Add the missing CA certificate, or pick the CA that issued it."))
    return list(built.chain)


def check_order(certs: Sequence[x509.Certificate]) -> tuple[str, ...]:
    """Check a chain as given: "every certificate followed by the one that signed it"; say where it breaks."""
    problems = []
    for index in range(len(certs) - 1):
        cert, nxt = certs[index], certs[index + 1]
        if may_have_issued(nxt, cert):
            continue
        if nxt.subject == cert.issuer:
            problems.append(f"position {index + 2}: '{cert_label(nxt)}' follows '{cert_label(cert)}' and has the "
                            "name of its issuer, but its key does not match the authority key id of "
                            f"'{cert_label(cert)}' (a different CA with the same name)")
            continue
        problems.append(
            f"position {index + 2}: '{cert_label(nxt)}' follows '{cert_label(cert)}' but did not sign it "
            f"(its issuer is '{name_label(cert.issuer)}')")
    return tuple(problems)
