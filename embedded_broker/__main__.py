"""`embedded-broker` / `python -m embedded_broker`: run the local platform headless."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point; the broker engine lands with the local-platform issues."""
    print("embedded-broker: the broker engine is not built yet (see the local platform issues).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
