"""What the Pulumi CLI shows of ``BitbucketConnector``: check failures, warnings and error texts.

Everything leaves scrubbed of every secret and with control characters made visible (by
:mod:`.messages`, shared with the native provider). Exceptions leave only as
:class:`BitbucketConnectorError` raised ``from None``: the SDK's dynamic-provider server would send
a whole traceback to the CLI, so :mod:`.error_reports` makes it send that text alone.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pulumi import dynamic

from ..errors import Problem
from ..redact import escape_control
from ..wording import PULUMI_WORDING
from . import messages


def shown(text: str, secrets: list[str]) -> str:
    """What reaches the Pulumi CLI: scrubbed of every secret, control characters made visible."""
    return messages.shown(text, secrets)


def check_failures(
    problems: Iterable[Problem], skip: Collection[str], secrets: list[str]
) -> list[dynamic.CheckFailure]:
    """Backend problems as CheckFailures on the property each one is about."""
    return [dynamic.CheckFailure(key, reason) for key, reason in messages.check_reasons(problems, skip, secrets)]


_WARNED = messages.SaidOnce()


def warn_once(text: str) -> None:
    """Once per process (:class:`.messages.SaidOnce`): provider stderr is passed through to the Pulumi CLI
    (warnings hold no secret)."""
    if _WARNED.first_time(text):
        print(f"warning: BitbucketConnector: {escape_control(text)}", file=sys.stderr, flush=True)


def clean_errors(operation: str, *secret_sources: Mapping[str, Any],
                 extra: tuple[str, ...] = ()) -> AbstractContextManager[None]:
    """Re-raise anything as BitbucketConnectorError with a scrubbed text and no chained cause
    (:func:`.messages.clean_errors`, in the dynamic resource's property names)."""
    return messages.clean_errors(operation, *secret_sources, wording=PULUMI_WORDING, extra=extra)
