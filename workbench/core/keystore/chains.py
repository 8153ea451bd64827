"""Order the certificates of a key entry leaf first, as keytool shows them and TLS sends them."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from workbench.core.pki.chain import find_issuer, is_self_issued
from workbench.core.pki.keys import public_key_matches
from workbench.errors import KeystoreError

MAX_DEPTH = 10


def chain_from(leaf: x509.Certificate, pool: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """Follow issuers from ``leaf`` through ``pool`` until a root or a missing issuer (Java does the same)."""
    chain = [leaf]
    current = leaf
    while len(chain) < MAX_DEPTH and not is_self_issued(current):
        issuer = find_issuer(current, [c for c in pool if c not in chain])
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


def key_chain(key: object, certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The chain for a key from an unordered certificate list: the certificate of this key first, then its issuers.

    Raises:
        KeystoreError: no certificate in the list belongs to the key.
    """
    leaf = next((c for c in certs if public_key_matches(key, c.public_key())), None)  # type: ignore[arg-type]
    if leaf is None:
        raise KeystoreError(
            "None of the certificates belongs to this private key",
            ("Give the device certificate that was issued for this key (its public key must match).",
             "The key and the certificate may be from different runs of the generator."))
    return chain_from(leaf, [c for c in certs if c is not leaf])
