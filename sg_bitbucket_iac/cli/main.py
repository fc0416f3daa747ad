"""`sg-bitbucket` console script entry point.

Kept tiny so `sg-bitbucket --help` starts fast: the parser lives in :mod:`.app`, and each command
imports what it needs only when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    import gc

    # A command builds tens of thousands of long-lived objects (definitions, records, reports), then
    # exits. The default collector rescans them again and again: about 30% of drift's CPU at 10,000
    # connectors. Collect far less often; the process is short and makes few reference cycles.
    gc.set_threshold(50_000, 20, 100)
    from .app import main as run

    return run(list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
