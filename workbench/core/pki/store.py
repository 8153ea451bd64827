"""The CA store: CAs, intermediates and issued certificates of one workspace, with serials, revocations and CRLs.

Serials are allocated and committed in their own transaction before anything is signed, so a crash in the
middle of issuance burns a serial but never hands the same one out twice.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.errors import CAStoreError, InvalidInputError, PasswordError

from . import store_db
from .crl import REASONS, Revocation, build_crl
from .csr import sign_csr
from .issuance import Issuer, create_root_ca, issue_certificate
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

    def status(self, now: datetime.datetime | None = None) -> str:
        """valid, expiring soon, expired or revoked: what the CA store view shows."""
        return certificate_status(self.certificate, self.revoked_at, now)


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
        serial = self.reserve_serials(parent, 1).start
        cert = issue_certificate(subject, key.public_key(), profile or intermediate_ca_profile(), issuer,
                                 serial=serial, now=now)
        record = self._add_ca(cert, key, password, parent, name, allow_plaintext)
        self.record_issued(parent, cert, ProfileKind.INTERMEDIATE_CA)
        return record

    def import_ca(self, cert: x509.Certificate, key: PrivateKey, password: bytes | None, *,
                  parent: str | None = None, name: str | None = None, allow_plaintext: bool = False) -> CARecord:
        """Bring in a CA made elsewhere, e.g. with the guide's openssl commands."""
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
        except store_db.sqlite3.IntegrityError as exc:
            raise CAStoreError(f"A CA named '{ca_name}' is already in this workspace",
                               ("Choose another name (--name) or another workspace.",)) from exc
        return self.ca(ca_name)

    def _ca_row(self, name: str) -> store_db.sqlite3.Row:
        row = self._db.execute("SELECT * FROM cas WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(r[0] for r in self._db.execute("SELECT name FROM cas ORDER BY id")) or "none yet"
            raise CAStoreError(f"There is no CA named '{name}' in this workspace", (f"Known CAs: {known}.",))
        return row

    def _record(self, row: store_db.sqlite3.Row) -> CARecord:
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
        serial = self.reserve_serials(ca_name, 1).start
        cert = issue_certificate(subject, public_key, profile, issuer, serial=serial, now=now)
        return self.record_issued(ca_name, cert, profile.kind)

    def sign_csr(self, ca_name: str, password: bytes | None, csr: x509.CertificateSigningRequest,
                 profile: CertificateProfile, *, now: datetime.datetime | None = None) -> IssuedRecord:
        """`openssl ca -in request.csr`: policy check, next serial, record."""
        issuer = self.issuer(ca_name, password)
        serial = self.reserve_serials(ca_name, 1).start
        cert = sign_csr(csr, issuer, profile, serial=serial, now=now)
        return self.record_issued(ca_name, cert, profile.kind)

    def record_issued(self, ca_name: str, cert: x509.Certificate, kind: ProfileKind) -> IssuedRecord:
        """Remember a certificate this CA signed (also used by fleet issuance)."""
        der = cert.public_bytes(serialization.Encoding.DER)
        ca_id = self._ca_row(ca_name)["id"]
        try:
            with store_db.transaction(self._db):
                self._db.execute(
                    "INSERT INTO certificates (ca_id, serial_hex, kind, cn, subject, cert_der, sha1, sha256, "
                    "not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ca_id, f"{cert.serial_number:X}", kind.value, common_name(cert.subject),
                     format_dn(cert.subject, DnStyle.OPENSSL), der, hashlib.sha1(der).hexdigest(),
                     hashlib.sha256(der).hexdigest(), _iso(cert.not_valid_after_utc)))
        except store_db.sqlite3.IntegrityError as exc:
            raise CAStoreError(f"Serial {cert.serial_number:X} of CA '{ca_name}' is already recorded",
                               ("Serials must be unique per CA; reserve serials through the store.",)) from exc
        return self.find_serial(ca_name, cert.serial_number)

    # --- queries ---------------------------------------------------------------------------------------------
    def _issued(self, row: store_db.sqlite3.Row) -> IssuedRecord:
        ca = self._db.execute("SELECT name FROM cas WHERE id = ?", (row["ca_id"],)).fetchone()[0]
        revoked = datetime.datetime.fromisoformat(row["revoked_at"]) if row["revoked_at"] else None
        return IssuedRecord(ca, int(row["serial_hex"], 16), row["kind"], row["cn"],
                            x509.load_der_x509_certificate(row["cert_der"]), row["sha1"], revoked,
                            row["revocation_reason"])

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
