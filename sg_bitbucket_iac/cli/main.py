"""`sg-bitbucket` console script entry point.

Kept tiny so `sg-bitbucket --help` starts fast: the parser lives in :mod:`.app`, and each command
imports what it needs only when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from .app import main as run

    return run(list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
