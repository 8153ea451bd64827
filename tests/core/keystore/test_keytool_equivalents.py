"""The keytool commands the Keystores page shows, as strings: right verbs and store types, quoted paths, and never a
password in clear (tests/interop/test_keytool_equivalents.py runs them against the real keytool)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from workbench.core.keystore import keytool_equivalents as kt
from workbench.core.keystore.model import StoreKind

STORE = Path("/tmp/my stores/device.p12")


def test_rename_delete_and_passwords() -> None:
    assert kt.rename(STORE, StoreKind.PKCS12, "devicekeyentry", "device") == (
        "keytool -changealias -alias devicekeyentry -destalias device "
        "-keystore '/tmp/my stores/device.p12' -storetype PKCS12 -storepass:env STOREPASS")
    assert kt.delete("t.jks", StoreKind.JKS, "rootca") == (
        "keytool -delete -alias rootca -keystore t.jks -storetype JKS -storepass:env STOREPASS")
    assert kt.store_password("t.jks", StoreKind.JKS).startswith("keytool -storepasswd -new:env NEWPASS ")
    assert "-keypasswd -alias dev -keypass:env KEYPASS -new:env NEWPASS" in kt.key_password("t.jks", StoreKind.JKS,
                                                                                            "dev")


def test_import_and_fetch() -> None:
    assert kt.import_trusted("t.jks", StoreKind.JKS, "root ca", "root.pem") == (
        "keytool -importcert -noprompt -alias 'root ca' -file root.pem "
        "-keystore t.jks -storetype JKS -storepass:env STOREPASS")
    direct = kt.fetch_and_import("t.jks", StoreKind.JKS, "server", "broker.example", 8883)
    assert direct.splitlines()[0] == "keytool -printcert -rfc -sslserver broker.example:8883 > server-chain.pem"
    sni = kt.fetch_and_import("t.jks", StoreKind.JKS, "server", "127.0.0.1", 8883, "localhost")
    assert "openssl s_client -connect 127.0.0.1:8883 -servername localhost" in sni
    assert sni.splitlines()[-1].startswith("keytool -importcert -noprompt -alias server -file server-ca.pem")


def test_key_pair_convert_export_and_device_stores() -> None:
    pair = kt.import_key_pair("d.jks", StoreKind.JKS, "dev", "chain.pem", "key.pem").splitlines()
    assert pair[0].startswith("openssl pkcs12 -export -name dev -inkey key.pem -in chain.pem")
    assert "-deststoretype JKS" in pair[1] and pair[2] == "rm tmp.p12"
    assert kt.convert(STORE, StoreKind.PKCS12, "d.jks", StoreKind.JKS).endswith(
        "-destkeystore d.jks -deststoretype JKS -deststorepass:env STOREPASS")
    assert kt.export_certificate("d.p12", StoreKind.PKCS12, "dev", "dev.pem").startswith(
        "keytool -exportcert -rfc -alias dev -file dev.pem")
    from_jks = kt.export_key("d.jks", StoreKind.JKS, "dev", "key.pem").splitlines()
    assert "-srcstoretype JKS" in from_jks[0] and from_jks[1].startswith("openssl pkcs12 -in tmp.p12 -nocerts")
    assert len(kt.export_key("d.p12", StoreKind.PKCS12, "dev", "key.pem").splitlines()) == 1
    device = kt.device_stores("ks.p12", "ts.p12", StoreKind.PKCS12, "server-ca.pem")
    assert "-name devicekeyentry" in device and "-alias servercertificate -file server-ca.pem" in device


@pytest.mark.parametrize("kind", [StoreKind.PKCS12, StoreKind.JKS])
def test_every_command_parses_as_shell_and_hides_passwords(kind: StoreKind) -> None:
    commands = [kt.list_entries(STORE, kind), kt.rename(STORE, kind, "a b", "c"), kt.delete(STORE, kind, "x"),
                kt.import_key_pair(STORE, kind, "dev", "c.pem", "k.pem"), kt.store_password(STORE, kind),
                kt.convert(STORE, kind, "out file", StoreKind.JKS), kt.export_key(STORE, kind, "dev", "k.pem")]
    for command in commands:
        for line in command.splitlines():
            shlex.split(line)  # quoting is balanced
        assert "pass:" not in command.replace("pass:env", "")
