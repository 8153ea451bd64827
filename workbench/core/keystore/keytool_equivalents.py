"""The keytool (or openssl) command that does what an editor action did, for people who must document their steps
or script them later. Passwords are never written out: the commands read them from environment variables."""

from __future__ import annotations

import shlex
from pathlib import Path

from .model import StoreKind

STOREPASS = "-storepass:env STOREPASS"


def _q(value: str | Path) -> str:
    return shlex.quote(str(value))


def _store(path: str | Path, kind: StoreKind) -> str:
    storetype = "PKCS12" if kind is StoreKind.PKCS12 else kind.value.upper()
    return f"-keystore {_q(path)} -storetype {storetype} {STOREPASS}"


def list_entries(path: str | Path, kind: StoreKind) -> str:
    """keytool -list -v."""
    return f"keytool -list -v {_store(path, kind)}"


def import_trusted(path: str | Path, kind: StoreKind, alias: str, cert_file: str | Path) -> str:
    """keytool -importcert for a trusted certificate (trustedCertEntry)."""
    return f"keytool -importcert -noprompt -alias {_q(alias)} -file {_q(cert_file)} {_store(path, kind)}"


def fetch_and_import(path: str | Path, kind: StoreKind, alias: str, host: str, port: int,
                     server_name: str | None = None) -> str:
    """What the server presents, then imported: keytool reads it over TLS itself (-printcert -sslserver)."""
    fetch = f"keytool -printcert -rfc -sslserver {_q(f'{host}:{port}')} > server-chain.pem"
    if server_name and server_name != host:
        fetch = (f"openssl s_client -connect {_q(f'{host}:{port}')} -servername {_q(server_name)} -showcerts "
                 "</dev/null > server-chain.pem")
    return (f"{fetch}\n# copy the last certificate of server-chain.pem (the top of the chain) to server-ca.pem\n"
            f"{import_trusted(path, kind, alias, 'server-ca.pem')}")


def import_key_pair(path: str | Path, kind: StoreKind, alias: str, cert_file: str | Path,
                    key_file: str | Path) -> str:
    """keytool cannot read a PEM key: openssl packs it, keytool -importkeystore merges it."""
    return (f"openssl pkcs12 -export -name {_q(alias)} -inkey {_q(key_file)} -in {_q(cert_file)} "
            f"-out tmp.p12 -passout env:STOREPASS\n"
            f"keytool -importkeystore -srckeystore tmp.p12 -srcstoretype PKCS12 -srcstorepass:env STOREPASS "
            f"-alias {_q(alias)} -destkeystore {_q(path)} -deststoretype "
            f"{'PKCS12' if kind is StoreKind.PKCS12 else kind.value.upper()} -deststorepass:env STOREPASS\n"
            "rm tmp.p12")


def rename(path: str | Path, kind: StoreKind, old: str, new: str) -> str:
    """keytool -changealias."""
    return f"keytool -changealias -alias {_q(old)} -destalias {_q(new)} {_store(path, kind)}"


def delete(path: str | Path, kind: StoreKind, alias: str) -> str:
    """keytool -delete."""
    return f"keytool -delete -alias {_q(alias)} {_store(path, kind)}"


def store_password(path: str | Path, kind: StoreKind) -> str:
    """keytool -storepasswd (the new password from NEWPASS)."""
    return f"keytool -storepasswd -new:env NEWPASS {_store(path, kind)}"


def key_password(path: str | Path, kind: StoreKind, alias: str) -> str:
    """keytool -keypasswd (JKS only: PKCS#12 keeps one password)."""
    return f"keytool -keypasswd -alias {_q(alias)} -keypass:env KEYPASS -new:env NEWPASS {_store(path, kind)}"


def export_certificate(path: str | Path, kind: StoreKind, alias: str, out: str | Path) -> str:
    """keytool -exportcert -rfc."""
    return f"keytool -exportcert -rfc -alias {_q(alias)} -file {_q(out)} {_store(path, kind)}"


def export_key(path: str | Path, kind: StoreKind, alias: str, out: str | Path) -> str:
    """keytool cannot export a key; openssl reads it from a PKCS#12 copy."""
    source = _q(path)
    lines = []
    if kind is not StoreKind.PKCS12:
        lines.append(convert(path, kind, "tmp.p12", StoreKind.PKCS12))
        source = "tmp.p12"
    lines.append(f"openssl pkcs12 -in {source} -nocerts -passin env:STOREPASS -passout env:KEYPASS -out {_q(out)}")
    return "\n".join(lines)


def convert(path: str | Path, kind: StoreKind, out: str | Path, target: StoreKind) -> str:
    """keytool -importkeystore between store types."""
    src = "PKCS12" if kind is StoreKind.PKCS12 else kind.value.upper()
    dst = "PKCS12" if target is StoreKind.PKCS12 else target.value.upper()
    return (f"keytool -importkeystore -srckeystore {_q(path)} -srcstoretype {src} -srcstorepass:env STOREPASS "
            f"-destkeystore {_q(out)} -deststoretype {dst} -deststorepass:env STOREPASS")


def device_stores(keystore: str | Path, truststore: str | Path, kind: StoreKind, server_ca: str | Path) -> str:
    """The guide's pair: the device key entry 'devicekeyentry' and the trusted 'servercertificate'."""
    storetype = "PKCS12" if kind is StoreKind.PKCS12 else kind.value.upper()
    return (f"openssl pkcs12 -export -name devicekeyentry -inkey deviceKey.pem -in deviceCertChain.pem "
            f"-out device.p12 -passout env:STOREPASS\n"
            f"keytool -importkeystore -srckeystore device.p12 -srcstoretype PKCS12 -srcstorepass:env STOREPASS "
            f"-destkeystore {_q(keystore)} -deststoretype {storetype} -deststorepass:env STOREPASS\n"
            + import_trusted(truststore, kind, "servercertificate", server_ca))
