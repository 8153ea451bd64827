"""`--local | --url` and the tenant login of the commands that talk to a platform over REST (`est`, `smartrest`).

Why: those commands take the same options and resolve them the same way (a local platform started or reused, or a
tenant URL with a user, its password from an environment variable or a prompt, and the server CA); one spelling
keeps their help, their checks and their messages alike.
"""

from __future__ import annotations

import argparse

from workbench.cli.common import read_file_bytes, read_password
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError
from workbench.services.local_platform import LocalPlatformProcess
from workbench.services.platform_http import PlatformCredentials, PlatformHttp


def add_target_options(parser: argparse.ArgumentParser, *, required: bool = True,
                       user_help: str = "with --url: the tenant user, e.g. t123/admin") -> None:
    """Add `--local | --url`, `--user`, `--tenant-password-env`, `--server-ca` and `--ephemeral`."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--local", action="store_true", help="the local platform (started or reused)")
    where.add_argument("--url", help="a tenant, e.g. https://mytenant.cumulocity.com")
    parser.add_argument("--user", help=user_help)
    parser.add_argument("--tenant-password-env", metavar="VAR", help="read the tenant password from VAR (else a "
                                                                     "prompt)")
    parser.add_argument("--server-ca", help="PEM file the HTTPS client trusts (default: the system's)")
    parser.add_argument("--ephemeral", action="store_true",
                        help="with --local: a fresh in-memory platform for this command only")


class PlatformTarget:
    """The platform of one command: URL, credentials (None for a tenant without --user unless `user_required`),
    server trust; `close()` stops a local platform this command started."""

    def __init__(self, args: argparse.Namespace, *, user_required: bool = True) -> None:
        if args.ephemeral and not args.local:
            raise InvalidInputError("--ephemeral goes with --local", ("Drop --ephemeral, or use --local.",))
        self.local = LocalPlatformProcess(ephemeral=args.ephemeral) if args.local else None
        self.credentials: PlatformCredentials | None = None
        if self.local is not None:
            info = self.local.start_or_reuse()
            self.url, self.trust = info.rest_url, trust_from_pem(info.server_ca.read_bytes())
            self.credentials = PlatformCredentials("admin", info.admin_password, "t100")
            return
        if user_required and not args.user:
            raise InvalidInputError("--url needs --user", ("For example --user t123/admin.",))
        self.url = args.url.rstrip("/")
        self.trust = trust_from_pem(read_file_bytes(args.server_ca, "server CA")) if args.server_ca else ()
        if args.user:
            password = read_password(argparse.Namespace(tenant_password_env=args.tenant_password_env),
                                     "tenant_password", prompt=f"Password for {args.user} at {self.url}: ")
            assert password is not None  # required: read_password raises rather than return None
            tenant, _, user = args.user.rpartition("/")
            self.credentials = PlatformCredentials(user, password.decode(), tenant or None)

    def http(self) -> PlatformHttp:
        """A session against the platform."""
        return PlatformHttp(self.url, self.credentials, trust=server_context(self.trust))

    def close(self) -> None:
        """Stop a local platform this command started."""
        if self.local is not None and self.local.process is not None:
            self.local.stop()
