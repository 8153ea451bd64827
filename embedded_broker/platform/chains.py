"""Device chain decisions: which uploaded certificate a device chains to, which tenant it belongs to, and why not.

The TLS layer has already checked signatures up to an uploaded certificate (except for the REST header chain);
this module rebuilds the path in Python so that every refusal can name the certificate and the rule
(docs/platform-reference.md A4, A5).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from embedded_broker.errors import BrokerError
from embedded_broker.platform.formats import common_name, iso_ms, java_dn, serial_hex
from embedded_broker.platform.options import CRL_CATEGORY, CRL_OFFLINE_KEY, Options
from embedded_broker.platform.trust import TrustedCertificates, fingerprint
from embedded_broker.store import Store

DEFAULT_MAX_CHAIN = 10
CLOCK_SKEW = 300.0  # seconds a certificate may start "in the future": device and platform clocks differ


class ChainRefused(BrokerError):
    """A device chain is refused; `unknown_ca` marks the case that the cloud rejects in the TLS handshake
    (platform reference A3)."""

    def __init__(self, reason: str, *, unknown_ca: bool = False, revoked: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_ca = unknown_ca
        self.revoked = revoked


@dataclass(frozen=True)
class ChainMatch:
    """A chain that reaches an uploaded, enabled certificate of exactly one tenant."""

    tenant: str
    anchor: Any  # the trusted_certs row
    path: tuple[x509.Certificate, ...]  # leaf first, anchor last
    leaf_cn: str | None = field(default=None)

    @property
    def anchor_fingerprint(self) -> str:
        """The fingerprint of the certificate the device chains to."""
        return self.anchor["fingerprint"]


def describe(cert: x509.Certificate) -> str:
    """`'CN=dev-1' (issuer 'CN=My CA', SHA-1 ab12…)`: how a refusal names a certificate."""
    return f"'{java_dn(cert.subject)}' (issuer '{java_dn(cert.issuer)}', SHA-1 {fingerprint(_der(cert))})"


def _der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported key types alike
        return False
    return True


class ChainChecker:
    """Builds and judges device chains against every tenant's uploaded certificates."""

    def __init__(self, store: Store, trust: TrustedCertificates, options: Options,
                 clock: Callable[[], float] = time.time, max_chain: int = DEFAULT_MAX_CHAIN,
                 strict_anchor_in_chain: bool = False) -> None:
        self.store = store
        self.trust = trust
        self.options = options
        self._clock = clock
        self.max_chain = max_chain
        self.strict_anchor_in_chain = strict_anchor_in_chain

    def check(self, sent: Sequence[x509.Certificate], tenant: str | None = None) -> ChainMatch:
        """The tenant and anchor of a chain (leaf first), or ChainRefused with the reason."""
        if not sent:
            raise ChainRefused("the device sent no certificate")
        path, rows = self._build(list(sent), tenant)
        leaf = path[0]
        if len(path) > self.max_chain:
            raise ChainRefused(f"the chain of {describe(leaf)} has {len(path)} certificates; the platform accepts at "
                               f"most {self.max_chain}")
        if self.strict_anchor_in_chain and _der(path[-1]) not in {_der(c) for c in sent}:
            raise ChainRefused(f"the chain of {describe(leaf)} does not include the trusted certificate "
                               f"{describe(path[-1])}; the strict chain setting requires it")
        self._check_signers(path)
        self._check_times(path)
        tenant_row = self._choose_tenant(rows, path[-1])
        if tenant_row["status"] != "ENABLED":
            raise ChainRefused(f"the trusted certificate '{tenant_row['name']}' ({tenant_row['fingerprint']}) of "
                               f"tenant {tenant_row['tenant']} is disabled")
        self._check_revocation(tenant_row["tenant"], path)
        return ChainMatch(tenant_row["tenant"], tenant_row, tuple(path), common_name(leaf))

    # --- steps ----------------------------------------------------------------------------------------------
    def _build(self, sent: list[x509.Certificate], tenant: str | None) -> tuple[list[x509.Certificate], list[Any]]:
        """Walk up from the leaf through the sent certificates until one is, or is signed by, an upload."""
        anchors = self._anchors(tenant)
        path = [sent[0]]
        pool = sent[1:]
        while True:
            current = path[-1]
            rows = anchors.get(fingerprint(_der(current)))
            if rows:
                return path, rows
            for rows in anchors.values():
                anchor = rows[0]["_cert"]
                if _signed_by(current, anchor):
                    path.append(anchor)
                    return path, rows
            parent = next((c for c in pool if _signed_by(current, c) and c not in path), None)
            if parent is None or len(path) > 4 * self.max_chain:
                raise ChainRefused(f"the chain of {describe(sent[0])} does not reach any uploaded trusted "
                                   f"certificate (last certificate: {describe(current)})", unknown_ca=True)
            path.append(parent)

    def _anchors(self, tenant: str | None) -> dict[str, list[dict[str, Any]]]:
        sql = "SELECT * FROM trusted_certs"
        params: tuple[str, ...] = ()
        if tenant is not None:
            sql, params = sql + " WHERE tenant = ?", (tenant,)
        found: dict[str, list[dict[str, Any]]] = {}
        certs: dict[str, x509.Certificate] = {}
        for row in self.store.all(sql, params):
            fp = row["fingerprint"]
            cert = certs.get(fp) or x509.load_der_x509_certificate(row["der"])
            certs[fp] = cert
            found.setdefault(fp, []).append({**dict(row), "_cert": cert})
        return found

    def _check_signers(self, path: list[x509.Certificate]) -> None:
        for index, cert in enumerate(path[1:], start=1):
            try:
                constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                constraints = None
            if constraints is None or not constraints.ca:
                raise ChainRefused(f"{describe(cert)} signs {describe(path[index - 1])} but is not a CA "
                                   "(basicConstraints CA:TRUE is missing)")
            below = index - 1  # CA certificates between this one and the leaf
            if constraints.path_length is not None and below > constraints.path_length:
                raise ChainRefused(f"{describe(cert)} allows {constraints.path_length} intermediate CA(s) below it "
                                   f"(pathlen), but the chain has {below}")

    def _check_times(self, path: list[x509.Certificate]) -> None:
        now = self._clock()
        for cert in path:
            if cert.not_valid_after_utc.timestamp() < now:
                raise ChainRefused(f"{describe(cert)} expired on {iso_ms(cert.not_valid_after_utc)}")
            if cert.not_valid_before_utc.timestamp() > now + CLOCK_SKEW:
                raise ChainRefused(f"{describe(cert)} is not valid before {iso_ms(cert.not_valid_before_utc)} "
                                   "(check the clocks)")

    def _choose_tenant(self, rows: list[dict[str, Any]], anchor: x509.Certificate) -> dict[str, Any]:
        """Platform reference A9: one upload wins; with several, the single one with proof of possession."""
        if len(rows) == 1:
            return rows[0]
        proven = [r for r in rows if r["pop_valid"]]
        if len(proven) == 1:
            return proven[0]
        tenants = ", ".join(sorted(r["tenant"] for r in rows))
        raise ChainRefused(f"ambiguous tenant for certificate {rows[0]['fingerprint']} ({java_dn(anchor.subject)}): "
                           f"it is uploaded by tenants {tenants} and {len(proven)} of them completed proof of "
                           "possession; complete proof of possession in exactly one tenant")

    def _check_revocation(self, tenant: str, path: list[x509.Certificate]) -> None:
        if (self.options.get(tenant, CRL_CATEGORY, CRL_OFFLINE_KEY) or "false").lower() != "true":
            return
        revoked = {r["serial_hex"] for r in self.store.all("SELECT serial_hex FROM revoked_serials WHERE tenant = ?",
                                                           (tenant,))}
        for cert in path[:-1]:
            if serial_hex(cert.serial_number) in revoked:
                raise ChainRefused(f"{describe(cert)} with serial {serial_hex(cert.serial_number)} is revoked in "
                                   f"the CRL of tenant {tenant}", revoked=True)
