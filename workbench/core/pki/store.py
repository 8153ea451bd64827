"""The CA store: CAs, intermediates and issued certificates of one workspace, with serials, revocations and CRLs.

Serials are allocated and committed in their own transaction before anything is signed, so a crash in the
middle of issuance burns a serial but never hands the same one out twice. Every refusal (policy, key, CN, issuer) is
checked before the serial is taken, so a refused request uses up none.

Issued files are published through output jobs (``begin_job`` … ``record_job`` … ``finish_job``): the certificates
are recorded in one transaction, tagged with their job, before the folder holding them is renamed into place, so a
crash leaves a job the next run can finish (see ``workbench.services.staged_output``).
"""

from __future__ import annotations

import datetime
import hashlib
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.errors import CAStoreError, InvalidInputError, PasswordError, PolicyError

from . import store_db
from .crl import REASONS, Revocation, build_crl
from .csr import check_csr, sign_csr
from .issuance import Issuer, check_issuance, create_root_ca, issue_certificate
from .keys import (
    DEFAULT_KEY_SPEC,
    KeySpec,
    PrivateKey,
    PublicKey,
    dump_private_key_pem,
    load_private_key,
    public_key_matches,
)
from .names import DnStyle, common_name, format_dn
from .profiles import CertificateProfile, ProfileKind, intermediate_ca_profile, root_ca_profile

EXPIRING_SOON = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CARecord:
    """A CA in the store; `parent` is None for a root."""

    name: str
    certificate: x509.Certificate
    parent: str | None
    next_serial: int
    key_encrypted: bool


@dataclass(frozen=True)
class IssuedRecord:
    """A certificate the store issued (or recorded), with its revocation state."""

    ca: str
    serial: int
    kind: str
    cn: str | None
    certificate: x509.Certificate
    sha1: str
    revoked_at: datetime.datetime | None
    revocation_reason: str | None
    unpublished: bool = False  # recorded by an output job that has not (yet) put its files in place

    def status(self, now: datetime.datetime | None = None) -> str:
        """valid, expiring soon, expired, revoked, or unpublished (an interrupted job): what the store view shows."""
        if self.unpublished and self.revoked_at is None:
            return "unpublished"
        return certificate_status(self.certificate, self.revoked_at, now)


JOB_STARTED, JOB_RECORDED, JOB_PUBLISHED = "started", "recorded", "published"
JOB_FAILED, JOB_ABANDONED = "failed", "abandoned"
OPEN_JOB_STATES = (JOB_STARTED, JOB_RECORDED)


@dataclass(frozen=True)
class OutputJob:
    """Files being written for certificates of one CA: where they are staged, where they go, and how far it got.

    started: the staging folder exists, nothing is recorded; recorded: the certificates are in the store and the
    complete staging folder waits to be renamed to ``target``; published: done; failed: rolled back (nothing
    recorded); abandoned: the output was lost after recording, so its certificates were revoked.
    """

    id: str
    ca: str
    kind: str
    target: Path
    staging: Path
    state: str
    count: int
    created: str


def certificate_status(cert: x509.Certificate, revoked_at: datetime.datetime | None = None,
                       now: datetime.datetime | None = None) -> str:
    """The status words of the store view."""
    moment = now or datetime.datetime.now(datetime.UTC)
    if revoked_at is not None:
        return "revoked"
    if cert.not_valid_after_utc <= moment:
        return "expired"
    if cert.not_valid_after_utc - moment <= EXPIRING_SOON:
        return "expiring soon"
    return "valid"


def _require_password(password: bytes | None, allow_plaintext: bool) -> None:
    """CA keys are encrypted at rest unless the user explicitly asks otherwise."""
    if not password and not allow_plaintext:
        raise PasswordError("A CA key is stored encrypted and needs a password",
                            ("Give a password, or explicitly allow a plaintext key (--no-password; not "
                             "recommended).",))


def _require_ca_certificate(cert: x509.Certificate) -> None:
    """Only a CA certificate may sign: basicConstraints CA:TRUE, and keyCertSign when key usage is present.

    Raises:
        PolicyError: a device, server or other end-entity certificate.
    """
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    name = format_dn(cert.subject)
    if constraints is None or not constraints.ca:
        found = "has no basicConstraints extension" if constraints is None else "has basicConstraints CA:FALSE"
        raise PolicyError(f"'{name}' is not a CA certificate: it {found}",
                          ("A CA needs basicConstraints CA:TRUE; certificates signed with an end-entity "
                           "(device or server) certificate are rejected by every TLS peer.",
                           f"Import the CA that issued it instead ('{format_dn(cert.issuer)}'), with that CA's key.")
                          )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.key_cert_sign:
        raise PolicyError(f"'{name}' may not sign certificates: its key usage lacks keyCertSign",
                          ("Import a CA certificate whose key usage includes keyCertSign (the guide's v3_ca).",))


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


class CAStore:
    """One workspace's CA store. Use as a context manager or call close()."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)
        self._db = store_db.open_database(self.workspace)

    def __enter__(self) -> CAStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database."""
        self._db.close()

    # --- CAs ---------------------------------------------------------------------------------------------------
    def init_root(self, subject: x509.Name, password: bytes | None, *, key_spec: KeySpec = DEFAULT_KEY_SPEC,
                  profile: CertificateProfile | None = None, name: str | None = None,
                  now: datetime.datetime | None = None, allow_plaintext: bool = False) -> CARecord:
        """The guide's self-signed CA (`openssl req -x509 -extensions v3_ca -days 7300`)."""
        _require_password(password, allow_plaintext)
        key = key_spec.generate()
        cert = create_root_ca(subject, key, profile or root_ca_profile(), now=now)
        return self._add_ca(cert, key, password, None, name, allow_plaintext)

    def create_intermediate(self, parent: str, parent_password: bytes | None, subject: x509.Name,
                            password: bytes | None, *, key_spec: KeySpec = DEFAULT_KEY_SPEC,
                            profile: CertificateProfile | None = None, name: str | None = None,
                            now: datetime.datetime | None = None, allow_plaintext: bool = False) -> CARecord:
        """An intermediate signed by ``parent`` (`openssl ca -extensions v3_ca -days 3650`), pathlen 0 by default."""
        _require_password(password, allow_plaintext)
        issuer = self.issuer(parent, parent_password)
        key = key_spec.generate()
        profile = profile or intermediate_ca_profile()
        check_issuance(subject, key.public_key(), profile, issuer)  # a refusal uses up no serial
        serial = self.reserve_serials(parent, 1).start
        cert = issue_certificate(subject, key.public_key(), profile, issuer, serial=serial, now=now)
        record = self._add_ca(cert, key, password, parent, name, allow_plaintext)
        self.record_issued(parent, cert, ProfileKind.INTERMEDIATE_CA)
        return record

    def import_ca(self, cert: x509.Certificate, key: PrivateKey, password: bytes | None, *,
                  parent: str | None = None, name: str | None = None, allow_plaintext: bool = False) -> CARecord:
        """Bring in a CA made elsewhere, e.g. with the guide's openssl commands."""
        _require_ca_certificate(cert)
        if not public_key_matches(key, cert.public_key()):
            raise InvalidInputError("The key does not belong to this CA certificate",
                                    ("Pick the key file created together with the certificate.",))
        return self._add_ca(cert, key, password, parent, name, allow_plaintext)

    def _add_ca(self, cert: x509.Certificate, key: PrivateKey, password: bytes | None, parent: str | None,
                name: str | None, allow_plaintext: bool = False) -> CARecord:
        _require_password(password, allow_plaintext)
        ca_name = name or common_name(cert.subject) or format_dn(cert.subject)
        parent_id = self._ca_row(parent)["id"] if parent else None
        key_pem = dump_private_key_pem(key, password)
        try:
            with store_db.transaction(self._db):
                self._db.execute(
                    "INSERT INTO cas (name, parent_id, cert_der, key_pem, key_encrypted, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (ca_name, parent_id, cert.public_bytes(serialization.Encoding.DER), key_pem, int(bool(password)),
                     _iso(datetime.datetime.now(datetime.UTC))))
        except sqlite3.IntegrityError as exc:
            raise CAStoreError(f"A CA named '{ca_name}' is already in this workspace",
                               ("Choose another name (--name) or another workspace.",)) from exc
        return self.ca(ca_name)

    def _ca_row(self, name: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM cas WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(r[0] for r in self._db.execute("SELECT name FROM cas ORDER BY id")) or "none yet"
            raise CAStoreError(f"There is no CA named '{name}' in this workspace", (f"Known CAs: {known}.",))
        return row

    def _record(self, row: sqlite3.Row) -> CARecord:
        parent = None
        if row["parent_id"] is not None:
            parent = self._db.execute("SELECT name FROM cas WHERE id = ?", (row["parent_id"],)).fetchone()[0]
        return CARecord(row["name"], x509.load_der_x509_certificate(row["cert_der"]), parent, row["next_serial"],
                        bool(row["key_encrypted"]))

    def ca(self, name: str) -> CARecord:
        """One CA by name."""
        return self._record(self._ca_row(name))

    def cas(self) -> list[CARecord]:
        """Every CA, roots first in creation order."""
        return [self._record(r) for r in self._db.execute("SELECT * FROM cas ORDER BY id")]

    def chain(self, name: str) -> list[x509.Certificate]:
        """The CA and its parents up to the root, the guide's chain order."""
        result, current = [], self.ca(name)
        while True:
            result.append(current.certificate)
            if current.parent is None:
                return result
            current = self.ca(current.parent)

    def issuer(self, name: str, password: bytes | None) -> Issuer:
        """The CA ready to sign; needs its key password.

        Raises:
            PasswordError: wrong or missing password.
        """
        row = self._ca_row(name)
        try:
            key = load_private_key(row["key_pem"], password)
        except PasswordError as exc:
            raise PasswordError(f"Could not unlock the key of CA '{name}'", exc.causes) from exc
        return Issuer(x509.load_der_x509_certificate(row["cert_der"]), key)

    def change_key_password(self, name: str, password: bytes | None, new_password: bytes) -> CARecord:
        """Re-encrypt a CA's key with a new password (the old one opens it first), in one transaction.

        Raises:
            PasswordError: the old password does not open the key, or the new one is empty.
        """
        _require_password(new_password, False)
        key = self.issuer(name, password).key
        with store_db.transaction(self._db):
            self._db.execute("UPDATE cas SET key_pem = ?, key_encrypted = 1 WHERE name = ?",
                             (dump_private_key_pem(key, new_password), name))
        return self.ca(name)

    # --- serials and issuance ------------------------------------------------------------------------------------
    def reserve_serials(self, name: str, count: int) -> range:
        """Allocate ``count`` consecutive serials in one committed transaction (fleet workers share this)."""
        if count < 1:
            raise InvalidInputError("At least one serial must be reserved", ())
        with store_db.transaction(self._db):
            row = self._db.execute("UPDATE cas SET next_serial = next_serial + ? WHERE name = ? "
                                   "RETURNING next_serial", (count, name)).fetchone()
        if row is None:
            self._ca_row(name)  # raises the helpful error
        end = int(row[0])
        return range(end - count, end)

    def issue(self, ca_name: str, password: bytes | None, subject: x509.Name, public_key: PublicKey,
              profile: CertificateProfile, *, now: datetime.datetime | None = None) -> IssuedRecord:
        """Sign a device or server certificate with the next serial, and record it."""
        issuer = self.issuer(ca_name, password)
        check_issuance(subject, public_key, profile, issuer)  # a refusal uses up no serial
        serial = self.reserve_serials(ca_name, 1).start
        cert = issue_certificate(subject, public_key, profile, issuer, serial=serial, now=now)
        return self.record_issued(ca_name, cert, profile.kind)

    def sign_csr(self, ca_name: str, password: bytes | None, csr: x509.CertificateSigningRequest,
                 profile: CertificateProfile, *, now: datetime.datetime | None = None) -> IssuedRecord:
        """`openssl ca -in request.csr`: every check first (a refused request uses up no serial), then the next
        serial, the signature and the record."""
        issuer = self.issuer(ca_name, password)
        check_csr(csr, issuer, profile)
        serial = self.reserve_serials(ca_name, 1).start
        cert = sign_csr(csr, issuer, profile, serial=serial, now=now)
        return self.record_issued(ca_name, cert, profile.kind)

    def record_issued(self, ca_name: str, cert: x509.Certificate, kind: ProfileKind) -> IssuedRecord:
        """Remember a certificate this CA signed whose output needs no job (e.g. an intermediate CA)."""
        ca_id = self._ca_row(ca_name)["id"]
        with store_db.transaction(self._db):
            self._insert_certificate(ca_id, ca_name, cert, kind, None)
        return self.find_serial(ca_name, cert.serial_number)

    def _insert_certificate(self, ca_id: int, ca_name: str, cert: x509.Certificate, kind: ProfileKind,
                            job_id: str | None) -> None:
        der = cert.public_bytes(serialization.Encoding.DER)
        try:
            self._db.execute(
                "INSERT INTO certificates (ca_id, serial_hex, kind, cn, subject, cert_der, sha1, sha256, "
                "not_after, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ca_id, f"{cert.serial_number:X}", kind.value, common_name(cert.subject),
                 format_dn(cert.subject, DnStyle.OPENSSL), der, hashlib.sha1(der).hexdigest(),
                 hashlib.sha256(der).hexdigest(), _iso(cert.not_valid_after_utc), job_id))
        except sqlite3.IntegrityError as exc:
            raise CAStoreError(f"Serial {cert.serial_number:X} of CA '{ca_name}' is already recorded",
                               ("Serials must be unique per CA; reserve serials through the store.",)) from exc

    def forget_issued(self, ca_name: str, serial: int) -> None:
        """Roll back the record of a certificate whose output could not be written (it never left this process)."""
        with store_db.transaction(self._db):
            self._db.execute("DELETE FROM certificates WHERE ca_id = ? AND serial_hex = ?",
                             (self._ca_row(ca_name)["id"], f"{serial:X}"))

    # --- output jobs: crash-safe publishing of issued files ------------------------------------------------------
    def begin_job(self, ca_name: str, kind: str, target: Path, staging: Path) -> str:
        """Note that files for certificates of ``ca_name`` are being staged in ``staging`` for ``target``."""
        job_id = uuid.uuid4().hex[:16]
        ca_id = self._ca_row(ca_name)["id"]
        with store_db.transaction(self._db):
            self._db.execute("INSERT INTO output_jobs (id, ca_id, kind, target, staging, state, created) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (job_id, ca_id, kind, str(target), str(staging), JOB_STARTED,
                              _iso(datetime.datetime.now(datetime.UTC))))
        return job_id

    def record_job(self, job_id: str, certificates: Sequence[x509.Certificate], kind: ProfileKind) -> None:
        """Record every certificate of a job in ONE transaction, before its output is put in place.

        Raises:
            CAStoreError: the job is not open, a serial is already recorded, or the disk is full; nothing changed.
        """
        job = self.job(job_id)
        if job.state != JOB_STARTED:
            raise CAStoreError(f"Output job {job_id} is {job.state}, not started", ())
        ca_id = self._ca_row(job.ca)["id"]
        with store_db.transaction(self._db):
            for cert in certificates:
                self._insert_certificate(ca_id, job.ca, cert, kind, job_id)
            self._db.execute("UPDATE output_jobs SET state = ?, count = ? WHERE id = ?",
                             (JOB_RECORDED, len(certificates), job_id))

    def finish_job(self, job_id: str) -> None:
        """The job's output is in place: its certificates are ordinary issued certificates from now on."""
        self._set_job_state(job_id, JOB_PUBLISHED)

    def fail_job(self, job_id: str) -> int:
        """Roll a job back: its certificate records are deleted (their files were never published); returns how many."""
        with store_db.transaction(self._db):
            count = self._db.execute("DELETE FROM certificates WHERE job_id = ?", (job_id,)).rowcount
            self._db.execute("UPDATE output_jobs SET state = ?, finished = ? WHERE id = ?",
                             (JOB_FAILED, _iso(datetime.datetime.now(datetime.UTC)), job_id))
        return count

    def abandon_job(self, job_id: str, reason: str = "cessationOfOperation", *,
                    now: datetime.datetime | None = None) -> int:
        """A recorded job whose output is lost: revoke its certificates (they were signed) and close the job."""
        moment = _iso(now or datetime.datetime.now(datetime.UTC))
        with store_db.transaction(self._db):
            count = self._db.execute("UPDATE certificates SET revoked_at = ?, revocation_reason = ? "
                                     "WHERE job_id = ? AND revoked_at IS NULL", (moment, reason, job_id)).rowcount
            self._db.execute("UPDATE output_jobs SET state = ?, finished = ? WHERE id = ?",
                             (JOB_ABANDONED, moment, job_id))
        return count

    def _set_job_state(self, job_id: str, state: str) -> None:
        with store_db.transaction(self._db):
            self._db.execute("UPDATE output_jobs SET state = ?, finished = ? WHERE id = ?",
                             (state, _iso(datetime.datetime.now(datetime.UTC)), job_id))

    def job(self, job_id: str) -> OutputJob:
        """One output job by id."""
        row = self._db.execute("SELECT j.*, c.name AS ca_name FROM output_jobs j JOIN cas c ON c.id = j.ca_id "
                               "WHERE j.id = ?", (job_id,)).fetchone()
        if row is None:
            raise CAStoreError(f"There is no output job {job_id} in this workspace", ())
        return self._job(row)

    def open_jobs(self) -> list[OutputJob]:
        """Jobs that were started or recorded but not finished: running now, or interrupted by a crash."""
        rows = self._db.execute("SELECT j.*, c.name AS ca_name FROM output_jobs j JOIN cas c ON c.id = j.ca_id "
                                "WHERE j.state IN (?, ?) ORDER BY j.created", OPEN_JOB_STATES)
        return [self._job(r) for r in rows]

    def published_targets(self) -> list[Path]:
        """Where finished output jobs put their files (issued device folders, fleet folders), newest first: the
        certificate lifecycle view looks there for the devices' keys and keystores."""
        rows = self._db.execute("SELECT target, MAX(created) AS last FROM output_jobs WHERE state = ? "
                                "GROUP BY target ORDER BY last DESC", (JOB_PUBLISHED,))
        return [Path(r["target"]) for r in rows]

    def job_certificates(self, job_id: str) -> list[IssuedRecord]:
        """The certificates a job recorded."""
        rows = self._db.execute("SELECT * FROM certificates WHERE job_id = ? ORDER BY id", (job_id,))
        return [self._issued(r) for r in rows]

    @staticmethod
    def _job(row: sqlite3.Row) -> OutputJob:
        return OutputJob(row["id"], row["ca_name"], row["kind"], Path(row["target"]), Path(row["staging"]),
                         row["state"], int(row["count"]), row["created"])

    # --- queries ---------------------------------------------------------------------------------------------
    def _issued(self, row: sqlite3.Row) -> IssuedRecord:
        ca = self._db.execute("SELECT name FROM cas WHERE id = ?", (row["ca_id"],)).fetchone()[0]
        revoked = datetime.datetime.fromisoformat(row["revoked_at"]) if row["revoked_at"] else None
        unpublished = False
        if row["job_id"] is not None:
            state = self._db.execute("SELECT state FROM output_jobs WHERE id = ?", (row["job_id"],)).fetchone()
            unpublished = state is not None and state[0] == JOB_RECORDED
        return IssuedRecord(ca, int(row["serial_hex"], 16), row["kind"], row["cn"],
                            x509.load_der_x509_certificate(row["cert_der"]), row["sha1"], revoked,
                            row["revocation_reason"], unpublished)

    def certificates(self, ca_name: str | None = None) -> list[IssuedRecord]:
        """Issued certificates, of one CA or all, oldest first."""
        if ca_name is None:
            rows = self._db.execute("SELECT * FROM certificates ORDER BY id")
        else:
            rows = self._db.execute("SELECT * FROM certificates WHERE ca_id = ? ORDER BY id",
                                    (self._ca_row(ca_name)["id"],))
        return [self._issued(r) for r in rows]

    def find_serial(self, ca_name: str, serial: int) -> IssuedRecord:
        """One certificate by CA and serial."""
        row = self._db.execute("SELECT * FROM certificates WHERE ca_id = ? AND serial_hex = ?",
                               (self._ca_row(ca_name)["id"], f"{serial:X}")).fetchone()
        if row is None:
            raise CAStoreError(f"CA '{ca_name}' has issued no certificate with serial {serial:X}",
                               ("List them with 'workbench ca list'.",))
        return self._issued(row)

    def search(self, text: str) -> list[IssuedRecord]:
        """Find by CN (substring, case-insensitive) or serial (hex)."""
        needle = text.strip()
        pattern = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute("SELECT * FROM certificates WHERE lower(cn) LIKE ? ESCAPE '\\' OR serial_hex = ? "
                                "ORDER BY id", (f"%{pattern}%", needle.upper().removeprefix("0X")))
        return [self._issued(r) for r in rows]

    # --- revocation ----------------------------------------------------------------------------------------------
    def revoke(self, ca_name: str, serial: int, reason: str = "unspecified", *,
               now: datetime.datetime | None = None) -> IssuedRecord:
        """Mark a certificate revoked; it appears on the next CRL."""
        if reason not in REASONS:
            raise InvalidInputError(f"Unknown revocation reason '{reason}'", (f"Use one of: {', '.join(REASONS)}.",))
        record = self.find_serial(ca_name, serial)
        if record.revoked_at is not None:
            raise CAStoreError(f"Serial {serial:X} was already revoked on {record.revoked_at:%Y-%m-%d}", ())
        with store_db.transaction(self._db):
            self._db.execute("UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE ca_id = ? AND "
                             "serial_hex = ?", (_iso(now or datetime.datetime.now(datetime.UTC)), reason,
                                                self._ca_row(ca_name)["id"], f"{serial:X}"))
        return self.find_serial(ca_name, serial)

    def revocations(self, ca_name: str) -> list[Revocation]:
        """What the CA's CRL lists."""
        return [Revocation(r.serial, r.revoked_at, r.revocation_reason or "unspecified")
                for r in self.certificates(ca_name) if r.revoked_at is not None]

    def generate_crl(self, ca_name: str, password: bytes | None, *, days: int = 30,
                     now: datetime.datetime | None = None) -> x509.CertificateRevocationList:
        """A new CRL with the next CRL number."""
        issuer = self.issuer(ca_name, password)
        with store_db.transaction(self._db):
            number = self._db.execute("UPDATE cas SET next_crl_number = next_crl_number + 1 WHERE name = ? "
                                      "RETURNING next_crl_number", (ca_name,)).fetchone()[0] - 1
        return build_crl(issuer, self.revocations(ca_name), number, now=now, days=days)

    def next_crl_number(self, ca_name: str) -> int:
        """For the exported `crl/crlnumber` file."""
        return int(self._ca_row(ca_name)["next_crl_number"])
