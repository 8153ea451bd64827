"""`workbench` / `python -m workbench`: the GUI without arguments, the headless CLI with a subcommand."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

KEYSTORE_SUFFIXES = (".p12", ".pfx", ".jks")


def main(argv: list[str] | None = None) -> int:
    """Start the GUI when no subcommand is given; otherwise run the CLI."""
    multiprocessing.freeze_support()  # fleet workers re-enter here inside a PyInstaller bundle
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["local-platform"]:  # the bundle's way to run the local platform as the app's child process
        from embedded_broker.__main__ import main as platform_main

        return platform_main(args[1:])
    if args[:1] == ["--self-test"]:
        from workbench.cli.self_test import run_self_test

        return run_self_test()
    opened = len(args) == 1 and Path(args[0]).suffix.lower() in KEYSTORE_SUFFIXES and Path(args[0]).is_file()
    if not args or opened:  # a keystore double-clicked in the file manager opens the GUI
        from workbench.ui.app import run_gui

        return run_gui(args[0] if opened else None)
    from workbench.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
