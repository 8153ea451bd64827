"""`workbench` / `python -m workbench`: the GUI without arguments, the headless CLI with a subcommand."""

from __future__ import annotations

import multiprocessing
import sys


def main(argv: list[str] | None = None) -> int:
    """Start the GUI when no subcommand is given; otherwise run the CLI."""
    multiprocessing.freeze_support()  # fleet workers re-enter here inside a PyInstaller bundle
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from workbench.ui.app import run_gui

        return run_gui()
    from workbench.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
