"""Repairing interrupted output jobs: each job state after a crash, a live job left alone, and the store migration."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography import x509

from workbench.core.pki.issuance import issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import ProfileKind, device_profile, root_ca_profile
from workbench.core.pki.store import CAStore
from workbench.errors import CAStoreError
from workbench.services.staged_output import (
    JOB_FLEET,
    StagedOutput,
    clean_leftovers,
    find_leftovers,
    lock_path,
    recover_jobs,
)

CA = "Job Root"


@pytest.fixture
def store(tmp_path: Path) -> CAStore:
    s = CAStore(tmp_path / "ws")
    s.init_root(parse_dn(f"CN={CA}"), None, key_spec=KeySpec.EC_P256, profile=root_ca_profile(), allow_plaintext=True)
    yield s
    s.close()


def _certs(store: CAStore, count: int) -> list[x509.Certificate]:
    return [store.issue(CA, None, parse_dn(f"CN=d{i}"), generate_key(KeySpec.EC_P256).public_key(),
                        device_profile()).certificate for i in range(count)]


def _crashed_job(store: CAStore, target: Path, *, record: bool) -> tuple[str, Path]:
    """A job as a kill -9 leaves it: staging written (and maybe recorded), lock file there but no longer held."""
    staged = StagedOutput.create(target, workspace=store.workspace)
    job = store.begin_job(CA, JOB_FLEET, target, staged.staging)
    (staged.staging / "d0").mkdir()
    (staged.staging / "d0" / "deviceKey.pem").write_text("key")
    (staged.staging / "manifest.json").write_text(json.dumps({"job": job, "count": 1}))
    if record:
        store.record_job(job, [_fresh(store)], ProfileKind.DEVICE)
    staged.lock._handle.close()  # the process "died": its lock is gone, the lock file stays
    return job, staged.staging


def _fresh(store: CAStore) -> x509.Certificate:
    """A certificate signed by the store's CA but not recorded (as a job's certificate before record_job)."""
    serial = store.reserve_serials(CA, 1).start
    return issue_certificate(parse_dn("CN=fresh"), generate_key(KeySpec.EC_P256).public_key(), device_profile(),
                             store.issuer(CA, None), serial=serial)


def test_a_started_job_is_removed_and_a_recorded_one_is_published(store: CAStore, tmp_path: Path) -> None:
    started, started_staging = _crashed_job(store, tmp_path / "a", record=False)
    recorded, _ = _crashed_job(store, tmp_path / "b", record=True)
    assert [c.status() for c in store.job_certificates(recorded)] == ["unpublished"]
    lines = recover_jobs(store)
    assert len(lines) == 2 and "1 private key file(s)" in lines[0] and "now in" in lines[1]
    assert not started_staging.exists() and not (tmp_path / "a").exists()
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["job"] == recorded
    assert store.job(started).state == "failed" and store.job(recorded).state == "published"
    assert [c.status() for c in store.job_certificates(recorded)] == ["valid"]
    assert sorted(p.name for p in tmp_path.iterdir() if ".partial-" in p.name) == []
    assert recover_jobs(store) == []


def test_a_recorded_job_whose_target_was_taken_goes_beside_it(store: CAStore, tmp_path: Path) -> None:
    job, _ = _crashed_job(store, tmp_path / "c", record=True)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "other.txt").write_text("someone else's")
    recover_jobs(store)
    assert (tmp_path / f"c-recovered-{job}" / "d0" / "deviceKey.pem").exists()
    assert (tmp_path / "c" / "other.txt").exists()


def test_a_recorded_job_whose_files_are_gone_has_its_certificates_revoked(store: CAStore, tmp_path: Path) -> None:
    job, staging = _crashed_job(store, tmp_path / "d", record=True)
    for path in sorted(staging.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    staging.rmdir()
    lines = recover_jobs(store)
    assert "revoked" in lines[0]
    assert [(c.status(), c.revocation_reason) for c in store.job_certificates(job)] == [
        ("revoked", "cessationOfOperation")]
    assert store.job(job).state == "abandoned"


def test_a_running_job_is_never_touched(store: CAStore, tmp_path: Path) -> None:
    with StagedOutput.create(tmp_path / "live", workspace=store.workspace) as staged:
        job = store.begin_job(CA, JOB_FLEET, tmp_path / "live", staged.staging)
        staged.note_job(job)
        assert recover_jobs(store) == [] and clean_leftovers(tmp_path, stores=[store]) == []
        [leftover] = find_leftovers(tmp_path)
        assert leftover.locked and leftover.job == job and staged.staging.exists()
    assert not staged.staging.exists() and not lock_path(staged.staging).exists()


def test_a_job_records_all_its_certificates_or_none(store: CAStore, tmp_path: Path) -> None:
    taken = _certs(store, 1)[0]  # already recorded: the job's second certificate repeats its serial
    job = store.begin_job(CA, JOB_FLEET, tmp_path / "x", tmp_path / ".x.partial-1")
    with pytest.raises(CAStoreError, match="already recorded"):
        store.record_job(job, [_fresh(store), taken], ProfileKind.DEVICE)
    assert store.job_certificates(job) == [] and store.job(job).state == "started"


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    with CAStore(tmp_path / "ws") as s:
        s.init_root(parse_dn(f"CN={CA}"), None, key_spec=KeySpec.EC_P256, allow_plaintext=True)
        _certs(s, 1)
    db = sqlite3.connect(tmp_path / "ws" / "castore.sqlite")
    db.executescript("DROP INDEX certificates_job; ALTER TABLE certificates DROP COLUMN job_id; "
                     "DROP TABLE output_jobs; UPDATE meta SET value = '1' WHERE key = 'schema_version';")
    db.close()
    with CAStore(tmp_path / "ws") as s:
        assert [c.status() for c in s.certificates()] == ["valid"] and s.open_jobs() == []
        _certs(s, 1)
