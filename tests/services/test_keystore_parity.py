"""`workbench keystore|truststore ...` and the Keystores page's service calls give the same files (as keytool lists
them and as the model loads them) and the same error text for a wrong password and for a garbage file."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from tests.interop.keytool_helpers import entries, keytool_list, run_parallel
from tests.support.certs import Pki, make_pki
from workbench.cli import run_cli
from workbench.core.keystore.model import Keystore, PrivateKeyEntry, StoreKind
from workbench.core.keystore.operations import convert_store
from workbench.errors import KeystorePasswordError, UnsupportedFormatError, WorkbenchError
from workbench.services import keystores

STORE_PW = "parity-store-1"
KEY_PW = "parity-key-22"
EXPORT_PW = "parity-export-3"
needs_keytool = pytest.mark.skipif(shutil.which("keytool") is None, reason="keytool (a JDK) is not installed")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    paths = {"pw": tmp_path / "pw.txt", "keypw": tmp_path / "keypw.txt", "exportpw": tmp_path / "exportpw.txt",
             "key": tmp_path / "deviceKey.pem", "chain": tmp_path / "deviceCertChain.pem",
             "server": tmp_path / "serverCertificate.pem"}
    paths["pw"].write_text(STORE_PW + "\n")
    paths["keypw"].write_text(KEY_PW + "\n")
    paths["exportpw"].write_text(EXPORT_PW + "\n")
    paths["key"].write_bytes(pki.device_ec.key_pem(KEY_PW.encode()))
    # the chain in a shuffled order: both front ends must find the key's certificate and order the rest
    chain = pki.device_ec.chain
    paths["chain"].write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in reversed(chain)))
    paths["server"].write_bytes(pki.server.cert_pem())
    return paths


def _cli(*argv: str | Path) -> int:
    return run_cli([str(a) for a in argv])


def _page_prompt(password: str) -> keystores.PasswordPrompt:
    """What the page's password dialog answers."""
    return lambda _label, _new: password.encode()


def _model(path: Path, password: str) -> list[tuple[str, str, list[str]]]:
    """alias, entry kind and the chain's SHA-256 fingerprints, as the model loads them."""
    store = keystores.open_store(keystores.OpenStore(path, password.encode()), keystores.never_ask)
    assert store is not None
    rows = []
    for entry in store.store.entries:
        chain = entry.chain if isinstance(entry, PrivateKeyEntry) else (entry.cert,)
        rows.append((entry.alias, type(entry).__name__, [c.fingerprint(hashes.SHA256()).hex() for c in chain]))
    return rows


def _keytool_views(*paths: Path) -> list[tuple[dict[str, dict[str, str]], list[str]]]:
    """keytool -list -v of each file: the entries (alias, type, chain length) and every SHA-256 fingerprint line."""
    results = run_parallel([keytool_list(p, STORE_PW) for p in paths])
    views = []
    for result in results:
        result.check()
        views.append((entries(result.stdout), [line.strip() for line in result.stdout.splitlines()
                                               if line.strip().startswith("SHA256:")]))
    return views


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@needs_keytool
@pytest.mark.parametrize("kind", ["pkcs12", "jks"])
def test_create_import_and_convert_give_the_same_files(files: dict[str, Path], tmp_path: Path, kind: str) -> None:
    cli_file, gui_file = tmp_path / f"cli.{kind}", tmp_path / f"gui.{kind}"
    # create: `keystore create` / the page's New, "Key pair from files…", Save
    assert _cli("keystore", "create", cli_file, "--type", kind, "--key", files["key"], "--cert", files["chain"],
                "--in-key-password-file", files["keypw"], "--store-password-file", files["pw"]) == 0
    empty = Keystore(StoreKind.parse(kind))
    change = keystores.add_key_pair_from_files(
        empty, keystores.KeyPairFiles(files["key"], files["chain"], "devicekeyentry", KEY_PW.encode()),
        keystores.never_ask)
    keystores.save_store(keystores.SaveStore(gui_file, change.store, STORE_PW.encode()))
    # import a trusted certificate: `keystore import --trusted` / "Trusted certificate from a file…", Save
    assert _cli("keystore", "import", cli_file, "--trusted", files["server"], "--alias", "Broker",
                "--store-password-file", files["pw"]) == 0
    opened = keystores.open_store(keystores.OpenStore(gui_file), _page_prompt(STORE_PW))
    assert opened is not None
    change = keystores.add_trusted_from_file(opened.store, keystores.TrustedFile(files["server"], "Broker"))
    keystores.save_store(keystores.SaveStore(gui_file, change.store, opened.password))
    # convert: `keystore convert --to` / the page's Convert, then Save under the new name
    other = "jks" if kind == "pkcs12" else "pkcs12"
    cli_out, gui_out = tmp_path / f"cli-converted.{other}", tmp_path / f"gui-converted.{other}"
    assert _cli("keystore", "convert", cli_file, "--to", other, "--out", cli_out,
                "--store-password-file", files["pw"]) == 0
    opened = keystores.open_store(keystores.OpenStore(gui_file), _page_prompt(STORE_PW))
    assert opened is not None
    converted = convert_store(opened.store, StoreKind.parse(other))
    keystores.save_store(keystores.SaveStore(gui_out, converted.store, opened.password))

    for cli_path, gui_path in ((cli_file, gui_file), (cli_out, gui_out)):
        assert _model(cli_path, STORE_PW) == _model(gui_path, STORE_PW)
        assert _mode(cli_path) == _mode(gui_path) == 0o600
        backups = [p.with_name(p.name + ".bak").exists() for p in (cli_path, gui_path)]
        assert backups[0] == backups[1]
    views = _keytool_views(cli_file, gui_file, cli_out, gui_out)
    assert views[0] == views[1] and views[2] == views[3]
    listed = views[0][0]
    assert listed["devicekeyentry"] == {"type": "PrivateKeyEntry", "chain": "3"}
    assert listed["broker"]["type"] == "trustedCertEntry"  # JKS and keytool's PKCS#12 both lower-case the alias


def test_export_gives_the_same_files(files: dict[str, Path], tmp_path: Path) -> None:
    store = tmp_path / "ks.p12"
    assert _cli("keystore", "create", store, "--key", files["key"], "--cert", files["chain"],
                "--in-key-password-file", files["keypw"], "--store-password-file", files["pw"]) == 0
    opened = keystores.open_store(keystores.OpenStore(store, STORE_PW.encode()), keystores.never_ask)
    assert opened is not None
    for part in ("cert", "chain"):
        cli_out, gui_out = tmp_path / f"cli-{part}.pem", tmp_path / f"gui-{part}.pem"
        assert _cli("keystore", "export", store, "--part", part, "--out", cli_out,
                    "--store-password-file", files["pw"]) == 0
        keystores.export_entry(opened.store, keystores.ExportEntry("devicekeyentry", part, gui_out),
                               keystores.never_ask)
        assert cli_out.read_bytes() == gui_out.read_bytes() and _mode(cli_out) == _mode(gui_out)
    cli_key, gui_key = tmp_path / "cli-key.pem", tmp_path / "gui-key.pem"
    assert _cli("keystore", "export", store, "--part", "key", "--out", cli_key, "--export-password-file",
                files["exportpw"], "--store-password-file", files["pw"]) == 0
    keystores.export_entry(opened.store, keystores.ExportEntry("devicekeyentry", "key", gui_key),
                           _page_prompt(EXPORT_PW))
    loaded = []
    for path in (cli_key, gui_key):
        assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes() and _mode(path) == 0o600
        key = serialization.load_pem_private_key(path.read_bytes(), EXPORT_PW.encode())
        loaded.append(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    assert loaded[0] == loaded[1]


@pytest.mark.parametrize("problem", ["wrong password", "garbage"])
def test_the_same_error_text(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             problem: str) -> None:
    store = tmp_path / "ks.jks"
    assert _cli("keystore", "create", store, "--type", "jks", "--key", files["key"], "--cert", files["chain"],
                "--in-key-password-file", files["keypw"], "--store-password-file", files["pw"]) == 0
    if problem == "garbage":
        store.write_text("these are my notes, not a keystore\n")
    capsys.readouterr()
    code = _cli("keystore", "list", store, "--store-password-file", files["keypw"])
    cli_error = capsys.readouterr().err
    expected = KeystorePasswordError if problem == "wrong password" else UnsupportedFormatError
    with pytest.raises(expected) as gui_error:
        keystores.open_store(keystores.OpenStore(store), _page_prompt(KEY_PW))
    assert cli_error == f"error: {gui_error.value}\n"
    assert code == (1 if problem == "wrong password" else 2)  # a failed open, or not a keystore at all (usage)
    assert "ks.jks" in gui_error.value.summary


def test_the_page_asks_again_after_a_wrong_password(files: dict[str, Path], tmp_path: Path) -> None:
    store = tmp_path / "ks.p12"
    assert _cli("keystore", "create", store, "--key", files["key"], "--cert", files["chain"],
                "--in-key-password-file", files["keypw"], "--store-password-file", files["pw"]) == 0
    answers, shown = iter([b"wrong-one", STORE_PW.encode()]), []
    opened = keystores.open_store(keystores.OpenStore(store, ask_again=True), lambda _label, _new: next(answers),
                                  shown.append)
    assert opened is not None and opened.store.aliases == ("devicekeyentry",)
    assert len(shown) == 1 and "password" in shown[0].summary
    assert keystores.open_store(keystores.OpenStore(store, ask_again=True), keystores.never_ask) is None  # cancelled


def test_refusals_are_the_same(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "taken.p12"
    taken.write_bytes(b"keep me")
    capsys.readouterr()
    assert _cli("truststore", "create", taken, "--cert", files["server"], "--store-password-file", files["pw"]) == 1
    cli_error = capsys.readouterr().err
    request = keystores.CreateStore(taken, StoreKind.PKCS12, keystores.TrustedFile(files["server"]),
                                    STORE_PW.encode())
    with pytest.raises(WorkbenchError) as gui_error:
        keystores.create_store(request, keystores.never_ask)
    assert cli_error == f"error: {gui_error.value}\n" and taken.read_bytes() == b"keep me"


FORBIDDEN_NAMES = {"load_keystore", "dump_keystore", "build_device_keystore", "build_truststore", "read_store",
                   "save_store", "reopen_check", "Pkcs12Options", "STORE_FILE_MODE"}


def test_ui_and_cli_import_no_keystore_reader_or_writer() -> None:
    """The import-linter contract sees modules; this sees the names the keystore package re-exports."""
    root = Path(__file__).resolve().parents[2] / "workbench"
    found = []
    for path in [*root.joinpath("ui").rglob("*.py"), *root.joinpath("cli").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench.core.keystore"):
                found += [f"{path.relative_to(root)}: {alias.name}" for alias in node.names
                          if alias.name in FORBIDDEN_NAMES]
    assert found == []
