"""The Keystores page's undoable edits: each calls one core operation and pushes the before/after states, with
the keytool command that does the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from cryptography import x509
from PySide6.QtWidgets import QWidget

from workbench.core.keystore import keytool_equivalents as kt
from workbench.core.keystore.model import StoreKind
from workbench.core.keystore.operations import (
    Change,
    add_key_pair,
    convert_store,
    delete_entry,
    rename_entry,
    set_key_password,
)
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import certificates, keystores
from workbench.services.ca_passwords import CAPasswords
from workbench.ui.certificates.store_actions import PasswordPrompt, ca_password
from workbench.ui.errors import run_action, spawn

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

    def _try_edit(self, change: Callable[[], Change], text: str, keytool: str) -> bool:
        """Compute the change as one user action (its problem shown in the page), then push it as an edit."""
        done = run_action(cast(QWidget, self), change, self.problem)  # the page is a QWidget
        return done is not None and self._edit(text, done, keytool)

    def add_key_pair_from_files(self, cert_path: str | Path, key_path: str | Path, key_password: str | None,
                                alias: str) -> bool:
        """A key and its chain from PEM/DER files (openssl pkcs12 -export + keytool -importkeystore)."""
        request = keystores.KeyPairFiles(Path(key_path), Path(cert_path), alias,
                                         key_password.encode() if key_password else None)

        def change() -> Change:
            return keystores.add_key_pair_from_files(self.state.store, request,  # type: ignore[union-attr]
                                                     keystores.never_ask)  # the form has the key password

        return self._try_edit(change, f"Add key pair '{alias}'",
                              kt.import_key_pair(*self._where(), alias, cert_path, key_path))

    def add_ca_key_pair(self, ca_name: str, alias: str, prompt: PasswordPrompt) -> bool:
        """A CA's key and chain from the CA store (its password from the keyring, else asked)."""
        def change() -> Change:
            passwords = CAPasswords(lambda name: ca_password(name, prompt))
            issuer, chain = certificates.unlock(self.workspace, ca_name, passwords)
            return add_key_pair(self.state.store, alias, issuer.key, chain)  # type: ignore[union-attr]

        return self._try_edit(change, f"Add the key pair of '{ca_name}' as '{alias}'",
                              kt.import_key_pair(*self._where(), alias, "caCert.pem", "caKey.pem"))

    def import_trusted(self, cert_path: str | Path, alias: str) -> bool:
        """keytool -importcert."""
        def change() -> Change:
            return keystores.add_trusted_from_file(self.state.store,  # type: ignore[union-attr]
                                                   keystores.TrustedFile(Path(cert_path), alias))

        return self._try_edit(change, f"Import trusted '{alias}'", kt.import_trusted(*self._where(), alias, cert_path))

    def fetch_trusted(self, host: str, port: int, server_name: str | None, alias: str) -> asyncio.Task[None]:
        """Fetch what a TLS server presents (off the GUI thread) and trust its last certificate."""

        request = keystores.TrustedServer(host, port, server_name or None, alias)

        def fetched(top: x509.Certificate) -> bool:
            return self._try_edit(lambda: keystores.add_trusted_from_server(self.state.store,  # type: ignore[union-attr]
                                                                            request, top),
                                  f"Trust '{alias}' from {host}:{port}",
                                  kt.fetch_and_import(*self._where(), alias, host, port, server_name))

        self.say(f"Connecting to {host}:{port}…")
        work = asyncio.to_thread(keystores.server_ca, request)
        return spawn(cast(QWidget, self), work, fetched, self.problem)

    def rename(self, alias: str, new_alias: str) -> bool:
        """keytool -changealias."""
        return self._try_edit(lambda: rename_entry(self.state.store, alias, new_alias),  # type: ignore[union-attr]
                              f"Rename '{alias}' to '{new_alias}'", kt.rename(*self._where(), alias, new_alias))

    def delete(self, alias: str) -> bool:
        """keytool -delete."""
        return self._try_edit(lambda: delete_entry(self.state.store, alias),  # type: ignore[union-attr]
                              f"Delete '{alias}'", kt.delete(*self._where(), alias))

    def change_store_password(self, new_password: str) -> bool:
        """keytool -storepasswd; PKCS#12 keys follow the store password."""
        if len(new_password) < 6:
            return self.problem(InvalidInputError("The password is shorter than 6 characters",
                                                  ("keytool refuses to open stores with shorter passwords.",)))
        return self._edit("Change the store password", None, kt.store_password(*self._where()),
                          password=new_password.encode())

    def change_key_password(self, alias: str, new_password: str | None) -> bool:
        """keytool -keypasswd (JKS only)."""
        password = new_password.encode() if new_password else None
        return self._try_edit(lambda: set_key_password(self.state.store, alias, password),  # type: ignore[union-attr]
                              f"Change the key password of '{alias}'", kt.key_password(*self._where(), alias))

    def convert(self, kind: StoreKind) -> bool:
        """keytool -importkeystore into the other type; Save writes a new file beside the old one."""
        change = run_action(cast(QWidget, self), lambda: convert_store(self.state.store, kind),  # type: ignore[union-attr]
                            self.problem)
        if change is None:
            return False
        source, _old = self._where()
        target = Path(source).with_suffix(SUFFIX[kind]) if self.state and self.state.path else None
        return self._edit(f"Convert to {kind.label}", change,
                          kt.convert(*self._where(), target or f"new{SUFFIX[kind]}", kind), path=target)
