"""Small decisions shared by the importers: the TLS mode implied by the files given, the keystore type."""

from __future__ import annotations

from pathlib import PurePath

from ..parts import KeystoreType, TlsMode
from ..report import FieldRecorder

_JKS_SUFFIXES = {".jks", ".keystore", ".truststore"}
def tls_mode_from_files(files: dict[str, str]) -> TlsMode:
    """The mode whose files are present: keystores, then client PEM files, then a CA file; NONE when none."""
    if files.get("keystore_file") or files.get("client_keystore_file"):
        return TlsMode.KEYSTORES
    if files.get("client_certificate_file") or files.get("client_key_file"):
        return TlsMode.SELF_SIGNED
    if files.get("ca_file"):
        return TlsMode.CA_FILE
    return TlsMode.NONE


def keystore_type_for(path: str, explicit: str | None, recorder: FieldRecorder) -> KeystoreType:
    """The type the file says (JKS / PKCS12), else what its extension says, else PKCS#12 (Java 9+'s default)."""
    if explicit:
        flat = explicit.upper().replace("#", "").replace("-", "")
        if flat in ("JKS", "PKCS12", "P12"):
            return KeystoreType.JKS if flat == "JKS" else KeystoreType.PKCS12
        recorder.warn(f"keystore type '{explicit}' is not JKS or PKCS12; it was taken from the file name")
    suffix = PurePath(path).suffix.lower() if path else ""
    if suffix in _JKS_SUFFIXES:
        return KeystoreType.JKS
    return KeystoreType.PKCS12
