"""The CA store's verbs behind the Certificates page's buttons: chain verify/order/build, revoke, CRL and the openssl
folder export. Each takes plain values (tests call them directly) and returns what the page should say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.core.files import read_input_file, write_atomic
from workbench.core.keystore.file_certificates import file_certificates
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.chain import build_chain, cert_label, order_chain
from workbench.core.pki.openssl_export import export_openssl
from workbench.core.pki.store import CAStore
from workbench.core.pki.verify import VerificationResult, verify_chain
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import InvalidInputError, PasswordError
from workbench.services.ca_passwords import remember_ca_password, stored_ca_password

# Asks for a CA key password the keyring does not have (None: the user cancelled).
PasswordPrompt = Callable[[str], str | None]


@dataclass(frozen=True)
class Outcome:
    """A finished action: the sentence to show and, when it wrote something, where."""

    message: str
    path: Path | None = None


def read_certificates(path: Path, password: bytes | None = None) -> list[x509.Certificate]:
    """Every certificate in a file of any format we read (PEM, DER, PKCS#12, JKS)."""
    data = read_input_file(path, "file")
    return list(file_certificates(data, password, what=f"'{Path(path).name}'").certificates)


def store_cas(workspace: Path) -> list[x509.Certificate]:
    """The store's CA certificates: the pool chains are completed from, and the anchors they are verified with."""
    with CAStore(workspace) as store:
        return [r.certificate for r in store.cas()]


def verify_file(workspace: Path, chain_file: Path, ca_file: Path | None = None) -> VerificationResult:
    """`openssl verify -CAfile <store roots or ca_file> -untrusted <rest of file> <first of file>`."""
    certs = read_certificates(chain_file)
    anchors = read_certificates(ca_file) if ca_file else store_cas(workspace)
    pool = store_cas(workspace) if ca_file is None else []
    return verify_chain(certs[0], anchors, [*certs[1:], *pool])


def order_file(workspace: Path, chain_file: Path, out: Path) -> Outcome:
    """Write the file's chain leaf first, root last, completed from the store: the guide's `cat` order."""
    ordered = order_chain(read_certificates(chain_file), store_cas(workspace), source=f"'{chain_file.name}'")
    write_atomic(out, dump_certificates_pem(ordered))
    return Outcome(f"Wrote {len(ordered)} certificates in order: " + " → ".join(cert_label(c) for c in ordered), out)


def build_from_store(workspace: Path, leaf: x509.Certificate, out: Path) -> Outcome:
    """The chain of a certificate up to its root from the store, as a device sends it (or refuses to connect)."""
    built = build_chain([leaf], store_cas(workspace), source="the selection")
    if not built.complete:
        raise InvalidInputError(f"The store cannot complete the chain of '{cert_label(leaf)}'", built.problems)
    write_atomic(out, dump_certificates_pem(list(built.chain)))
    return Outcome("Wrote the chain " + " → ".join(built.labels), out)


def ca_password(name: str, prompt: PasswordPrompt, secrets: SecretStore | None = None) -> bytes | None:
    """The CA key's password from the keyring, else asked; a typed password is remembered once it works."""
    stored = stored_ca_password(name, secrets)
    if stored:
        return stored.encode()
    typed = prompt(name)
    if typed is None:
        raise PasswordError(f"No password for the key of '{name}'",
                            ("Type the CA key password, or store it in the keyring from the wizard.",))
    return typed.encode() or None


def revoke(workspace: Path, ca_name: str, serial: int, reason: str) -> Outcome:
    """Mark a certificate revoked; the next CRL lists it."""
    with CAStore(workspace) as store:
        record = store.revoke(ca_name, serial, reason)
    return Outcome(f"Revoked '{record.cn}' (serial {serial:X}, {reason}); generate a CRL to publish it.")


def write_crl(workspace: Path, ca_name: str, prompt: PasswordPrompt, out: Path, days: int = 30) -> Outcome:
    """Sign the CA's next CRL and write it as PEM (what `openssl ca -gencrl` gives)."""
    password = ca_password(ca_name, prompt)
    with CAStore(workspace) as store:
        crl = store.generate_crl(ca_name, password, days=days)
    remember_ca_password(ca_name, password)
    write_atomic(out, crl.public_bytes(serialization.Encoding.PEM))
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    return Outcome(f"CRL number {number} of '{ca_name}' lists {len(list(crl))} revoked certificate(s), valid "
                   f"{days} days", out)


def export_layout(workspace: Path, ca_name: str, prompt: PasswordPrompt, folder: Path) -> Outcome:
    """The guide's caCertificate folder (certs, crl, newcerts, private, index.txt, serial, openssl.cnf)."""
    password = ca_password(ca_name, prompt)
    with CAStore(workspace) as store:
        children = {r.name: ca_password(r.name, prompt) for r in store.cas() if r.parent == ca_name}
        written = export_openssl(store, ca_name, password, folder, intermediate_passwords=children)
    remember_ca_password(ca_name, password)
    return Outcome(f"Exported '{ca_name}' to {written} in the openssl folder layout", written)
