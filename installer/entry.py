"""The bundle's one executable: GUI without arguments, `workbench <subcommand>`, `local-platform`, `--self-test`."""

import sys

from workbench.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
