"""The Keystores page's undoable edits: each calls one core operation and pushes the before/after states, with
the keytool command that does the same."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from workbench.core.files import read_input_file
from workbench.core.keystore import keytool_equivalents as kt
from workbench.core.keystore.model import StoreKind
from workbench.core.keystore.operations import (
    Change,
    add_key_pair,
    add_trusted,
    convert_store,
    delete_entry,
    rename_entry,
    set_key_password,
)
from workbench.core.pki.certio import load_certificates
from workbench.core.pki.keys import load_private_key
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords
from workbench.services.tls_fetch import fetch_server_chain
from workbench.ui.certificates.store_actions import PasswordPrompt, ca_password

if TYPE_CHECKING:
    from .commands import EditorState

SUFFIX = {StoreKind.PKCS12: ".p12", StoreKind.JKS: ".jks"}


class StoreActions:
    """Mixed into KeystoresPage, which provides the state, `_edit`, `_where`, `problem`, `say` and `workspace`."""

    state: EditorState | None
    workspace: Path

    def _edit(self, text: str, change: Change | None, keytool: str, *, password: bytes | None = None,
              path: Path | None = None) -> bool:
        raise NotImplementedError

    def _where(self) -> tuple[str | Path, StoreKind]:
        raise NotImplementedError

    def problem(self, error: WorkbenchError) -> bool:
        raise NotImplementedError

    def say(self, text: str) -> None:
        raise NotImplementedError

    def add_key_pair_from_files(self, cert_path: str | Path, key_path: str | Path, key_password: str | None,
                                alias: str) -> bool:
        """A key and its chain from PEM/DER files (openssl pkcs12 -export + keytool -importkeystore)."""
        try:
            certs = load_certificates(read_input_file(cert_path, "certificate file"))
            password = key_password.encode() if key_password else None
            key = load_private_key(read_input_file(key_path, "key file"), password)
            change = add_key_pair(self.state.store, alias, key, certs)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Add key pair '{alias}'", change, kt.import_key_pair(*self._where(), alias, cert_path,
                                                                                  key_path))

    def add_ca_key_pair(self, ca_name: str, alias: str, prompt: PasswordPrompt) -> bool:
        """A CA's key and chain from the CA store (its password from the keyring, else asked)."""
        try:
            passwords = CAPasswords(lambda name: ca_password(name, prompt))
            issuer, chain = certificates.unlock(self.workspace, ca_name, passwords)
            change = add_key_pair(self.state.store, alias, issuer.key, chain)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Add the key pair of '{ca_name}' as '{alias}'", change,
                          kt.import_key_pair(*self._where(), alias, "caCert.pem", "caKey.pem"))

    def import_trusted(self, cert_path: str | Path, alias: str) -> bool:
        """keytool -importcert."""
        try:
            certs = load_certificates(read_input_file(cert_path, "certificate file"))
            change = add_trusted(self.state.store, certs, alias)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Import trusted '{alias}'", change, kt.import_trusted(*self._where(), alias, cert_path))

    def fetch_trusted(self, host: str, port: int, server_name: str | None, alias: str) -> asyncio.Task[bool]:
        """Fetch what a TLS server presents (off the GUI thread) and trust its last certificate."""

        async def fetch() -> bool:
            self.say(f"Connecting to {host}:{port}…")
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: fetch_server_chain(host, port, server_name=server_name or None))
                top: x509.Certificate = report.chain[-1]
                change = add_trusted(self.state.store, [top], alias)  # type: ignore[union-attr]
            except WorkbenchError as exc:
                return self.problem(exc)
            return self._edit(f"Trust '{alias}' from {host}:{port}", change,
                              kt.fetch_and_import(*self._where(), alias, host, port, server_name))

        return asyncio.get_event_loop().create_task(fetch())

    def rename(self, alias: str, new_alias: str) -> bool:
        """keytool -changealias."""
        try:
            change = rename_entry(self.state.store, alias, new_alias)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Rename '{alias}' to '{new_alias}'", change, kt.rename(*self._where(), alias, new_alias))

    def delete(self, alias: str) -> bool:
        """keytool -delete."""
        try:
            change = delete_entry(self.state.store, alias)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Delete '{alias}'", change, kt.delete(*self._where(), alias))

    def change_store_password(self, new_password: str) -> bool:
        """keytool -storepasswd; PKCS#12 keys follow the store password."""
        if len(new_password) < 6:
            return self.problem(InvalidInputError("The password is shorter than 6 characters",
                                                  ("keytool refuses to open stores with shorter passwords.",)))
        return self._edit("Change the store password", None, kt.store_password(*self._where()),
                          password=new_password.encode())

    def change_key_password(self, alias: str, new_password: str | None) -> bool:
        """keytool -keypasswd (JKS only)."""
        try:
            change = set_key_password(self.state.store, alias, new_password.encode() if new_password else None)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        return self._edit(f"Change the key password of '{alias}'", change, kt.key_password(*self._where(), alias))

    def convert(self, kind: StoreKind) -> bool:
        """keytool -importkeystore into the other type; Save writes a new file beside the old one."""
        try:
            change = convert_store(self.state.store, kind)  # type: ignore[union-attr]
        except WorkbenchError as exc:
            return self.problem(exc)
        source, _old = self._where()
        target = Path(source).with_suffix(SUFFIX[kind]) if self.state and self.state.path else None
        return self._edit(f"Convert to {kind.label}", change,
                          kt.convert(*self._where(), target or f"new{SUFFIX[kind]}", kind), path=target)
