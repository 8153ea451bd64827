"""`workbench tls fetch HOST:PORT`: the guide's `openssl s_client -showcerts`, optionally straight into a truststore."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.cli.common import add_json_option, add_password_options, emit, read_file_bytes
from workbench.cli.keystore import answered, optional_password, password_prompt, show_saved
from workbench.core.files import write_atomic
from workbench.core.keystore import TRUST_ALIAS
from workbench.core.pki.certio import load_certificates
from workbench.core.tls import (
    TRUST_CHOICES,
    TRUSTSTORE_ADVICE,
    HandshakeReport,
    certificates_to_trust,
    identity_from_store,
)
from workbench.services import keystores
from workbench.services.tls_fetch import DEFAULT_TIMEOUT, fetch_server_chain, parse_endpoint


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `tls` and its subcommands."""
    tls = subparsers.add_parser("tls", help="talk TLS to a server: fetch its certificate chain")
    sub = tls.add_subparsers(dest="tls_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("fetch", help="show the chain a server presents (openssl s_client -showcerts)")
    p.add_argument("endpoint", metavar="HOST:PORT", help="server address (default port 8883)")
    p.add_argument("--servername", metavar="NAME", help="SNI name to send, apart from HOST (like -servername)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait (default %(default)s)")
    p.add_argument("--min-tls", choices=("1.2", "1.3"), help="lowest TLS version to offer")
    p.add_argument("--max-tls", choices=("1.2", "1.3"), help="highest TLS version to offer")
    p.add_argument("--keystore", type=Path, metavar="FILE", help="client certificate keystore for mutual TLS")
    p.add_argument("--keystore-alias", metavar="ALIAS", help="key entry in --keystore (default: the only one)")
    add_password_options(p, "keystore_password", "--keystore")
    p.add_argument("--trust", metavar="FILE", help="also verify the chain and name against these CA certificates")
    p.add_argument("--showcerts", action="store_true", help="print every certificate as PEM")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the certificate(s) chosen by --which as PEM "
                                                            "(serverCertificate.pem in the guide)")
    p.add_argument("--to-truststore", type=Path, metavar="FILE",
                   help="put the certificate(s) chosen by --which into this truststore (created when missing; "
                        "a chain as ALIAS, ALIAS-2, ...)")
    p.add_argument("--which", choices=TRUST_CHOICES, default="leaf",
                   help="leaf: the server's own certificate, as the guide's `openssl s_client | openssl x509`; "
                        "root: the top of the chain sent; chain: every certificate sent (default leaf). "
                        + TRUSTSTORE_ADVICE)
    p.add_argument("--alias", default=TRUST_ALIAS, help=f"truststore alias (default {TRUST_ALIAS})")
    p.add_argument("--type", dest="kind", choices=("pkcs12", "jks"), default="pkcs12",
                   help="format of a new truststore (default pkcs12)")
    add_password_options(p, "store_password", "the truststore")
    add_json_option(p)
    p.set_defaults(handler=_fetch)


def _human(report: HandshakeReport, showcerts: bool) -> str:
    sni = f" (SNI {report.server_name})" if report.server_name else ""
    lines = [f"Connected to {report.host}:{report.port}{sni}: {report.version}, {report.cipher}",
             f"Client certificate requested: {'yes' if report.client_cert_requested else 'no'}"
             + (" (sent)" if report.client_cert_sent else ""), "Certificate chain"]
    for index, cert in enumerate(report.chain):
        lines += [f" {index} s:{cert.subject.rfc4514_string()}", f"   i:{cert.issuer.rfc4514_string()}"]
        if showcerts:
            lines.append(cert.public_bytes(serialization.Encoding.PEM).decode().rstrip())
    lines += [f"Warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _fetch(args: argparse.Namespace) -> None:
    host, port = parse_endpoint(args.endpoint)
    identity = None
    if args.keystore:
        opened = answered(keystores.open_store(keystores.OpenStore(args.keystore),
                                               password_prompt(args, "keystore_password")))
        identity = identity_from_store(opened.store, args.keystore_alias)
    trust = load_certificates(read_file_bytes(args.trust, "CA certificate"), "CA file") if args.trust else None
    report = fetch_server_chain(host, port, server_name=args.servername, identity=identity, timeout=args.timeout,
                                min_version=args.min_tls, max_version=args.max_tls, trust=trust)
    emit(args, report.to_dict(), lambda _r: _human(report, args.showcerts))
    if args.out or args.to_truststore:
        choice = certificates_to_trust(report.chain, args.which)
        for remark in choice.remarks:
            emit(args, {"remark": remark}, f"Note: {remark}")
        if args.out:
            write_atomic(args.out, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in choice.certificates))
            emit(args, {"out": str(args.out), "certificates": len(choice.certificates)},
                 f"Wrote {args.out} ({len(choice.certificates)} certificate(s))")
        if args.to_truststore:
            _into_truststore(args, args.to_truststore, choice.certificates)


def _into_truststore(args: argparse.Namespace, path: Path, certs: tuple[x509.Certificate, ...]) -> None:
    request = keystores.TrustInFile(path, certs, args.alias, args.kind,
                                    key_password=optional_password(args, "key_password"))
    done = answered(keystores.add_to_truststore(request, password_prompt(args, "store_password")))
    show_saved(args, done.saved, done.messages)
