"""The bundle's executables: GUI without arguments, `workbench <subcommand>`, `local-platform`, `--self-test`."""

import os
import sys

# A windowed executable (the Windows GUI) has no console: Python leaves sys.stdout/stderr as None, and the first
# print or warning would raise. Give them a sink instead.
for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)

from workbench.__main__ import main  # noqa: E402 (after the streams exist)

if __name__ == "__main__":
    sys.exit(main())
