"""Provider errors reach the Pulumi CLI as their message, not as a Python traceback.

Why this exists: the dynamic-provider server of the Pulumi Python SDK (``pulumi.dynamic.__main__``,
checked with pulumi 3.272.0 under the Pulumi CLI 3.274.1) answers every exception a provider method
raises with ``context.abort(UNKNOWN, traceback.format_exc())``, and the CLI prints that text as
the resource's error: ``error: Traceback (most recent call last): File ".../provider.py" ...``.
The provider already turns every failure into a :class:`BitbucketConnectorError` whose text is
scrubbed and actionable, so the frames add nothing for a user and break the rule that no traceback
reaches one.

:func:`install` replaces the ``traceback`` name *inside that server module only* with a stand-in
whose ``format_exc`` returns the message of a :class:`BitbucketConnectorError` and defers to the
real function for anything else (a bug in the SDK keeps its traceback). It does nothing in any
other process (a Pulumi program, the tests' mocks) or when the SDK no longer has that shape.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

SERVER_MODULE = "pulumi.dynamic.__main__"


class _MessagesOnly:
    """The ``traceback`` module as the dynamic-provider server sees it after :func:`install`."""

    def __init__(self, clean_errors: tuple[type[BaseException], ...]) -> None:
        self._clean_errors = clean_errors

    def format_exc(self, limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, self._clean_errors):
            return str(error)
        return traceback.format_exc(limit, chain)

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)


def _server() -> ModuleType | None:
    """The running dynamic-provider server module, if this process is one."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if main is None or spec is None or spec.name != SERVER_MODULE:
        return None
    if not callable(getattr(main, "_abort_with_traceback", None)):
        return None
    return main


def install(*clean_errors: type[BaseException]) -> bool:
    """Report these exception types by their message in this dynamic-provider process; True if done."""
    server = _server()
    if server is None:
        return False
    current = getattr(server, "traceback", None)
    if isinstance(current, _MessagesOnly):
        return True
    if current is not traceback:
        return False  # not the shape this was written for: leave the SDK alone
    server.traceback = _MessagesOnly(clean_errors)  # type: ignore[attr-defined]
    return True
