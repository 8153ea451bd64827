"""`workbench` / `python -m workbench`: the GUI without arguments, the headless CLI with a subcommand."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

KEYSTORE_SUFFIXES = (".p12", ".pfx", ".jks")

# What the executable does besides the CLI's commands (those are listed by argparse above this text).
ENTRY_POINTS_HELP = """\
The same executable also:
  workbench                      opens the GUI (the local platform and a demo device start with it)
  workbench FILE.p12|.pfx|.jks   opens the GUI on that keystore (what a double-click in the file manager does)
  workbench local-platform ...   runs the local platform, exactly as `embedded-broker ...` does from a source
                                 checkout (see `workbench local-platform --help`); installed as a .deb,
                                 `embedded-broker` is on the PATH too
  workbench --self-test          checks this installation: Qt, the CA core, keystores, the local platform and a
                                 device token over mutual TLS; exit 0 when every check passed
"""


def _program_name() -> str:
    """The name this executable was started as (a bundle's `embedded-broker` link runs the local platform)."""
    return Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""


def print_help() -> int:
    """`workbench --help`: the CLI's commands, then everything else the executable does."""
    from workbench.cli import build_parser

    text = build_parser().format_help().rstrip("\n")
    print(f"{text}\n\n{ENTRY_POINTS_HELP}", end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the GUI when no subcommand is given; otherwise run the CLI."""
    multiprocessing.freeze_support()  # fleet workers re-enter here inside a PyInstaller bundle
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("_ARGCOMPLETE"):  # the shell asks for completions (`workbench completion`): the CLI answers
        from workbench.cli import run_cli

        return run_cli(args)
    if argv is None and _program_name() == "embedded-broker":  # the .deb's /usr/bin/embedded-broker link
        args = ["local-platform", *args]
    if args[:1] == ["local-platform"]:  # the bundle's way to run the local platform as the app's child process
        from embedded_broker.__main__ import main as platform_main

        return platform_main(args[1:])
    if args[:1] == ["--self-test"]:
        from workbench.cli.self_test import run_self_test

        return run_self_test()
    if args in (["--help"], ["-h"]):
        return print_help()
    opened = len(args) == 1 and Path(args[0]).suffix.lower() in KEYSTORE_SUFFIXES and Path(args[0]).is_file()
    if not args or opened:  # a keystore double-clicked in the file manager opens the GUI
        from workbench.ui.app import run_gui

        return run_gui(args[0] if opened else None)
    from workbench.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
