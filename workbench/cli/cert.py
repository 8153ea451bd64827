"""`workbench cert show|verify|lint|expiring|renew`: inspect certificates, verify chains as openssl does, lint for the
platform, and (in `cli/cert_lifecycle.py`) list expiring device certificates and renew them."""

from __future__ import annotations

import argparse
import datetime
import json

from cryptography import x509

from workbench.cli.common import add_json_option, emit, read_file_bytes
from workbench.core.pki.certio import load_certificates
from workbench.core.pki.chain import cert_label
from workbench.core.pki.lint import DEFAULT_MAX_CHAIN, format_report, lint_ca_for_upload, lint_device_chain
from workbench.core.pki.summary import CertificateSummary, summarize
from workbench.core.pki.textdump import fingerprint_lines, text_dump
from workbench.core.pki.verify import VerificationResult, verify_chain
from workbench.errors import ChainError, InvalidInputError, PolicyError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `cert` and its subcommands to the CLI."""
    cert = subparsers.add_parser("cert", help="inspect, verify and lint certificates")
    sub = cert.add_subparsers(dest="cert_command", metavar="SUBCOMMAND", required=True)

    show = sub.add_parser("show", help="show every field of the certificates in a file")
    show.add_argument("file", metavar="FILE", help="PEM (one or more certificates) or DER certificate")
    show.add_argument("--text", action="store_true", help="layout like `openssl x509 -noout -text`")
    add_json_option(show)
    show.set_defaults(handler=_show)

    verify = sub.add_parser("verify", help="verify a chain like `openssl verify -CAfile ... [-partial_chain]`")
    verify.add_argument("file", metavar="CHAIN_OR_LEAF",
                        help="the leaf certificate first; any further certificates are used as untrusted")
    verify.add_argument("--ca-file", required=True, metavar="FILE", help="trusted CA certificates (PEM)")
    verify.add_argument("--untrusted", metavar="FILE", help="intermediate certificates that are not trusted")
    verify.add_argument("--partial-chain", action="store_true",
                        help="trust any certificate of the CA file, not only self-signed roots")
    _add_at_option(verify)
    add_json_option(verify)
    verify.set_defaults(handler=_verify)

    lint = sub.add_parser("lint", help="check a CA for upload or a device chain for connecting to the platform")
    lint.add_argument("file", metavar="FILE", help="the CA certificate, or the device chain (device first)")
    mode = lint.add_mutually_exclusive_group()
    mode.add_argument("--ca", dest="mode", action="store_const", const="ca", help="lint a CA for upload")
    mode.add_argument("--device", dest="mode", action="store_const", const="device",
                      help="lint a device chain for connecting")
    lint.add_argument("--client-id", metavar="ID", help="the MQTT client id the device will use (with --device)")
    lint.add_argument("--max-chain", type=int, default=DEFAULT_MAX_CHAIN, metavar="N",
                      help=f"the platform's maximum chain length (default {DEFAULT_MAX_CHAIN})")
    lint.add_argument("--trusted", metavar="FILE", help="CA certificates uploaded to the platform, if known")
    _add_at_option(lint)
    add_json_option(lint)
    lint.set_defaults(handler=_lint)

    from workbench.cli import cert_lifecycle  # `cert expiring` and `cert renew` live there (issue #17)

    cert_lifecycle.add_verbs(sub)


def _add_at_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", metavar="TIME", type=_parse_time,
                        help="check validity at this time instead of now (ISO 8601, or seconds since 1970 "
                             "like openssl's -attime)")


def _parse_time(text: str) -> datetime.datetime:
    try:
        if text.isdigit():
            return datetime.datetime.fromtimestamp(int(text), datetime.UTC)
        moment = datetime.datetime.fromisoformat(text)
    except (ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time; use e.g. 2026-01-31T12:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _load(path: str, what: str) -> list[x509.Certificate]:
    return load_certificates(read_file_bytes(path, what), what)


def _show(args: argparse.Namespace) -> int:
    summaries = [summarize(c) for c in _load(args.file, "certificate")]
    if args.json:
        print(json.dumps({"certificates": [s.to_dict() for s in summaries]}, indent=2))
        return 0
    blocks = []
    for summary in summaries:
        body = text_dump(summary) if args.text else _brief(summary)
        blocks.append(body.rstrip("\n") + "\n" + "\n".join(fingerprint_lines(summary)))
    print("\n\n".join(blocks))
    return 0


def _brief(s: CertificateSummary) -> str:
    """The fields people look at first, one per line."""
    status = s.validity_status()
    lines = [
        f"Subject:         {s.subject}",
        f"Issuer:          {s.issuer}" + ("  (self-signed)" if s.self_signed else ""),
        f"Version:         {s.version}",
        f"Serial:          {s.serial_hex} ({s.serial_decimal})",
        f"Valid:           {s.not_before:%Y-%m-%d %H:%M:%S} → {s.not_after:%Y-%m-%d %H:%M:%S} UTC ({status})",
        f"Public key:      {s.public_key.description} ({s.public_key.algorithm})",
        f"Signature:       {s.signature_algorithm}",
        f"CA:              {'yes' if s.is_ca else 'no'}"
        + (f", pathlen {s.path_length}" if s.is_ca and s.path_length is not None else ""),
    ]
    for label, value in (("Issuer UID", s.issuer_unique_id), ("Subject UID", s.subject_unique_id)):
        if value is not None:
            lines.append(f"{label + ':':17}{value}")
    for ext in s.extensions:
        flag = " (critical)" if ext.critical else ""
        lines.append(f"{ext.name}{flag}: " + " / ".join(v.strip() for v in ext.lines))
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    given = _load(args.file, "certificate")
    anchors = _load(args.ca_file, "CA")
    untrusted = [*given[1:], *(_load(args.untrusted, "untrusted certificates") if args.untrusted else [])]
    result = verify_chain(given[0], anchors, untrusted, partial_chain=args.partial_chain, at=args.at)
    emit(args, result.to_dict(), lambda _: _verify_text(result))
    if not result.ok:
        raise ChainError(f"The chain of '{cert_label(given[0])}' does not verify",
                         tuple(f.message for f in result.findings))
    return 0


def _verify_text(result: VerificationResult) -> str:
    lines = []
    for depth, cert in enumerate(result.chain):
        role = "trust anchor" if cert is result.anchor else ("leaf" if depth == 0 else "untrusted")
        lines.append(f"depth {depth}: {cert_label(cert)} ({role})")
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"error {f.openssl_error} at depth {f.depth}: {f.message}" for f in result.findings]
    lines.append(result.summary)
    return "\n".join(lines)


def _lint(args: argparse.Namespace) -> int:
    certs = _load(args.file, "certificate")
    mode = args.mode or _guess_mode(certs)
    if args.max_chain < 1:
        raise InvalidInputError("--max-chain must be at least 1", (f"Got {args.max_chain}.",))
    if mode == "ca":
        if args.client_id is not None:
            raise InvalidInputError("--client-id applies to device chains", ("Use it with --device.",))
        report = lint_ca_for_upload(certs, now=args.at)
    else:
        trusted = _load(args.trusted, "trusted CA") if args.trusted else []
        report = lint_device_chain(certs, client_id=args.client_id, max_chain=args.max_chain, trusted=trusted,
                                   now=args.at)
    emit(args, {"mode": mode, **report.to_dict()}, lambda _: format_report(report))
    if not report.ok:
        what = "CA certificate" if mode == "ca" else "device chain"
        raise PolicyError(f"The {what} '{report.subject}' would not be accepted by the platform",
                          tuple(f"{f.message} (fix: {f.fix})" if f.fix else f.message for f in report.errors))
    return 0


def _guess_mode(certs: list[x509.Certificate]) -> str:
    """A single CA certificate is linted for upload; anything else as a device chain."""
    return "ca" if len(certs) == 1 and summarize(certs[0]).is_ca else "device"
