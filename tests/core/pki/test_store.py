import datetime
import multiprocessing
import sqlite3
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.openssl_export import export_openssl
from workbench.core.pki.profiles import device_profile, root_ca_profile
from workbench.core.pki.store import CAStore, certificate_status
from workbench.errors import CAStoreError, PasswordError, PolicyError

PW = b"ca-secret"
EC = KeySpec.EC_P256


@pytest.fixture
def store(tmp_path: Path) -> CAStore:
    s = CAStore(tmp_path / "ws")
    s.init_root(parse_dn("CN=Workbench Root,O=ACME"), PW, key_spec=EC, profile=root_ca_profile(path_length=1))
    yield s
    s.close()


def _device(store: CAStore, cn: str, ca: str = "Workbench Root", password: bytes = PW):
    return store.issue(ca, password, parse_dn(f"CN={cn}"), generate_key(EC).public_key(), device_profile())


def test_serials_start_at_0x1000_and_key_is_encrypted_at_rest(store: CAStore, tmp_path: Path) -> None:
    first, second = _device(store, "dev-1"), _device(store, "dev-2")
    assert (first.serial, second.serial) == (0x1000, 0x1001)
    raw = sqlite3.connect(tmp_path / "ws" / "castore.sqlite").execute("SELECT key_pem FROM cas").fetchone()[0]
    assert b"ENCRYPTED PRIVATE KEY" in raw
    assert store.ca("Workbench Root").key_encrypted


def test_wrong_ca_password_is_a_clear_error(store: CAStore) -> None:
    with pytest.raises(PasswordError, match="Could not unlock the key of CA 'Workbench Root'"):
        _device(store, "dev-1", password=b"wrong")


def test_unknown_ca_lists_the_known_ones(store: CAStore) -> None:
    with pytest.raises(CAStoreError) as info:
        store.ca("Nope")
    assert "Workbench Root" in info.value.causes[0]


def test_crash_between_allocation_and_signing_burns_a_serial_but_never_reuses_it(store: CAStore) -> None:
    burned = store.reserve_serials("Workbench Root", 1).start  # then "crash": nothing signed
    issued = _device(store, "dev-1")
    assert issued.serial == burned + 1
    cert = issued.certificate
    with pytest.raises(CAStoreError, match="already recorded"):
        store.record_issued("Workbench Root", cert, device_profile().kind)


def _reserve_many(workspace: str, n: int, queue: multiprocessing.Queue) -> None:
    with CAStore(Path(workspace)) as s:
        queue.put([list(s.reserve_serials("Workbench Root", 5)) for _ in range(n)])


def test_two_processes_never_get_the_same_serial(store: CAStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_reserve_many, args=(str(store.workspace), 20, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    serials = [s for _ in workers for block in queue.get(timeout=60) for s in block]
    for w in workers:
        w.join(timeout=60)
    assert len(serials) == len(set(serials)) == 200


def test_intermediate_tree_status_and_search(store: CAStore) -> None:
    store.create_intermediate("Workbench Root", PW, parse_dn("CN=Line A"), b"sub", key_spec=EC)
    assert store.ca("Line A").parent == "Workbench Root"
    assert [c.subject for c in store.chain("Line A")] == [parse_dn("CN=Line A"), parse_dn("CN=Workbench Root,O=ACME")]
    record = _device(store, "sensor-7", ca="Line A", password=b"sub")
    assert [r.cn for r in store.search("SENSOR")] == ["sensor-7"]
    assert {r.cn for r in store.search(f"{record.serial:X}")} == {"Line A", "sensor-7"}  # 1000 under each CA
    soon = record.certificate.not_valid_after_utc - datetime.timedelta(days=10)
    assert record.status() == "valid" and record.status(soon) == "expiring soon"
    assert certificate_status(record.certificate, None, record.certificate.not_valid_after_utc) == "expired"
    with pytest.raises(PolicyError, match="pathlen 0"):
        store.create_intermediate("Line A", b"sub", parse_dn("CN=Too deep"), b"x", key_spec=EC)


def test_revocation_and_crl_numbers(store: CAStore) -> None:
    record = _device(store, "dev-1")
    store.revoke("Workbench Root", record.serial, "keyCompromise")
    assert store.certificates()[0].status() == "revoked"
    with pytest.raises(CAStoreError, match="already revoked"):
        store.revoke("Workbench Root", record.serial)
    first = store.generate_crl("Workbench Root", PW)
    second = store.generate_crl("Workbench Root", PW)
    assert first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    revoked = first.get_revoked_certificate_by_serial_number(record.serial)
    assert revoked is not None
    assert (first.next_update_utc - first.last_update_utc).days == 30
    first.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


def test_damaged_database_is_a_store_error(tmp_path: Path) -> None:
    ws = tmp_path / "bad"
    ws.mkdir()
    (ws / "castore.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CAStoreError, match="Cannot open the CA store"):
        CAStore(ws)


@pytest.mark.interop
def test_exported_folder_works_with_openssl_ca(store: CAStore, tmp_path: Path) -> None:
    store.create_intermediate("Workbench Root", PW, parse_dn("CN=Line A"), b"sub", key_spec=EC)
    issued = _device(store, "dev-1")
    store.revoke("Workbench Root", issued.serial)
    _device(store, "dev-2")
    out = export_openssl(store, "Workbench Root", PW, tmp_path / "caCertificate",
                         intermediate_passwords={"Line A": b"sub"})
    assert (out / "serial").read_text() == "1003\n"  # 1000 = intermediate, 1001/1002 devices
    assert oct((out / "caKey.pem").stat().st_mode)[-3:] == "600"
    assert (out / "intermediateCertificate" / "intermediateCert.pem").exists()
    index = (out / "database.txt").read_text().splitlines()
    assert index[1].startswith("R\t") and index[1].split("\t")[3] == "1001"
    run = lambda *a: subprocess.run(list(a), cwd=out, check=True, capture_output=True, text=True)  # noqa: E731
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "new.key")
    run("openssl", "req", "-new", "-key", "new.key", "-subj", "/CN=from-openssl", "-out", "new.csr")
    run("openssl", "ca", "-batch", "-config", "caConfig.cnf", "-extensions", "v3_signed", "-days", "365", "-notext",
        "-md", "sha256", "-in", "new.csr", "-out", "new.pem", "-passin", "pass:ca-secret")
    text = run("openssl", "x509", "-in", "new.pem", "-noout", "-serial").stdout
    assert text.strip() == "serial=1003"
    assert "from-openssl" in (out / "database.txt").read_text()
    run("openssl", "verify", "-CAfile", "caCert.pem", "new.pem")
    run("openssl", "ca", "-config", "caConfig.cnf", "-gencrl", "-out", "crl/again.pem", "-passin", "pass:ca-secret")
    crl_text = run("openssl", "crl", "-in", "crl/caCrl.pem", "-noout", "-text").stdout
    assert "X509v3 Authority Key Identifier" in crl_text and "Serial Number: 1001" in crl_text
    with pytest.raises(CAStoreError, match="not empty"):
        export_openssl(store, "Workbench Root", PW, out)


def test_plaintext_ca_keys_need_an_explicit_choice(tmp_path: Path) -> None:
    with CAStore(tmp_path / "ws") as s:
        with pytest.raises(PasswordError, match="needs a password"):
            s.init_root(parse_dn("CN=R"), None, key_spec=EC)
        assert not s.init_root(parse_dn("CN=R"), None, key_spec=EC, allow_plaintext=True).key_encrypted


def test_search_treats_wildcards_literally_and_export_names_a_missing_intermediate_password(
        store: CAStore, tmp_path: Path) -> None:
    _device(store, "dev_1")
    _device(store, "devX1")
    assert [r.cn for r in store.search("dev_1")] == ["dev_1"]
    store.create_intermediate("Workbench Root", PW, parse_dn("CN=Line A"), b"sub", key_spec=EC)
    with pytest.raises(CAStoreError, match="needs its key password"):
        export_openssl(store, "Workbench Root", PW, tmp_path / "out")
    assert not (tmp_path / "out").exists()
