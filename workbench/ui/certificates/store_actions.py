"""The CA store's verbs behind the Certificates page's buttons: chain verify/order/build, revoke, CRL and the openssl
folder export. Each takes plain values (tests call them directly) and returns what the page should say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from workbench.core.files import read_input_file, write_atomic
from workbench.core.keystore.file_certificates import file_certificates
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.chain import build_chain, cert_label, order_chain
from workbench.core.pki.verify import VerificationResult, verify_chain
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import InvalidInputError
from workbench.services import certificates
from workbench.services import secrets as secret_words
from workbench.services.ca_passwords import CAPasswords, stored_or_asked

# Asks for a CA key password the secret store does not have (None: the user cancelled).
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
    return certificates.ca_certificates(workspace)


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
    """The CA key's password from the secret store, else asked."""
    return stored_or_asked(name, prompt, secrets)


def revoke(workspace: Path, ca_name: str, serial: int, reason: str) -> Outcome:
    """Mark a certificate revoked; the next CRL lists it."""
    record = certificates.revoke(workspace, ca_name, serial, reason)
    return Outcome(f"Revoked '{record.cn}' (serial {serial:X}, {reason}); generate a CRL to publish it.")


def write_crl(workspace: Path, ca_name: str, prompt: PasswordPrompt, out: Path, days: int = 30) -> Outcome:
    """Sign the CA's next CRL and write it as PEM (what `openssl ca -gencrl` gives)."""
    crl = certificates.write_crl(workspace, ca_name, out, CAPasswords.keyring(prompt), days)
    return Outcome(f"CRL number {certificates.crl_number(crl)} of '{ca_name}' lists {len(list(crl))} revoked "
                   f"certificate(s), valid {days} days", out)


def export_layout(workspace: Path, ca_name: str, prompt: PasswordPrompt, folder: Path) -> Outcome:
    """The guide's caCertificate folder (certs, crl, newcerts, private, index.txt, serial, openssl.cnf)."""
    written = certificates.export_layout(workspace, ca_name, folder, CAPasswords.keyring(prompt))
    return Outcome(f"Exported '{ca_name}' to {written} in the openssl folder layout", written)


def show_password(ca_name: str, secrets: SecretStore | None = None) -> str:
    """The stored key password of a CA (the toolbar asked the user to confirm first)."""
    return secret_words.show_ca_password(ca_name, secrets)


def reset_password(workspace: Path, ca_name: str, prompt: PasswordPrompt,
                   secrets: SecretStore | None = None) -> tuple[Outcome, str]:
    """Re-encrypt a CA's key with a new generated password; the sentence to show and the new password."""
    store = secrets or SecretStore()
    reset = secret_words.reset_ca_password(workspace, ca_name, CAPasswords.keyring(prompt, store), store)
    return Outcome(f"The key of '{ca_name}' has a new password, {secret_words.kept_phrase(store)}."), reset.password
