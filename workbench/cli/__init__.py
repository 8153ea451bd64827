"""The headless command line: same core as the GUI, scriptable, human output by default and --json for scripts."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.errors import WorkbenchError

# Each module registers its subcommands through `register(subparsers)`; keep the list in display order.
_COMMAND_MODULES: tuple[str, ...] = ("ca", "cert", "fleet", "keystore", "truststore", "tls", "pop", "demo", "onboard",
                                     "est")


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from the command modules, so each area owns its own options."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Device Onboarding Workbench. Run without arguments to open the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"workbench.cli.{name}")
        module.register(sub)
    return parser


def run_cli(argv: Sequence[str]) -> int:
    """Parse, run, and turn a WorkbenchError into a message on stderr and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except WorkbenchError as exc:
        if getattr(args, "json", False):
            print(json.dumps(exc.to_dict(), indent=2), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
