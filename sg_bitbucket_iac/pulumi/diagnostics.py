"""What the Pulumi CLI shows of ``BitbucketConnector``: check failures, warnings and error texts.

Everything leaves scrubbed of every secret and with control characters made visible. Exceptions
leave only as :class:`BitbucketConnectorError` raised ``from None``: the SDK's dynamic-provider
server would send a whole traceback to the CLI, so :mod:`.error_reports` makes it send that text alone.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pulumi import dynamic

from ..errors import BitbucketConnectorError, SGBitbucketError
from ..flatstate import secret_values
from ..model import ConnectorValidationError, Problem
from ..redact import escape_control
from ..redact import scrub_text as scrub
from .properties import property_of


def shown(text: str, secrets: list[str]) -> str:
    """What reaches the Pulumi CLI: scrubbed of every secret, control characters made visible.

    A server's error text or a name set in the StackGuardian UI can carry terminal escapes, and
    the CLI prints provider messages as they come.
    """
    return escape_control(scrub(text, secrets))


def check_failures(
    problems: Iterable[Problem], skip: Collection[str], secrets: list[str]
) -> list[dynamic.CheckFailure]:
    """Backend problems as CheckFailures on the property each one is about."""
    failures = []
    for problem in problems:
        key = property_of(problem.path)
        if key in skip:
            continue  # about a value that is not known yet (preview): checked again at `up`
        failures.append(dynamic.CheckFailure(key, shown(problem.message, secrets)))
    return failures


_WARNED: set[str] = set()
_WARNED_LOCK = threading.Lock()


def warn_once(text: str) -> None:
    """Once per process: provider stderr is passed through to the Pulumi CLI (warnings hold no secret).

    A credential's preflight warnings come back from the backend's cache on the write after Check,
    so without this every warning would be printed twice.
    """
    with _WARNED_LOCK:
        if text in _WARNED:
            return
        _WARNED.add(text)
    print(f"warning: BitbucketConnector: {escape_control(text)}", file=sys.stderr, flush=True)


@contextmanager
def clean_errors(operation: str, *secret_sources: Mapping[str, Any], extra: tuple[str, ...] = ()) -> Iterator[None]:
    """Re-raise anything as BitbucketConnectorError with a scrubbed text and no chained cause."""
    secrets = [*extra]
    for source in secret_sources:
        secrets.extend(secret_values(source))
    try:
        yield
    except BitbucketConnectorError as exc:
        raise BitbucketConnectorError(shown(str(exc), secrets)) from None
    except ConnectorValidationError as exc:
        problems = "; ".join(f"{property_of(p.path) or 'connector'}: {p.message}" for p in exc.problems)
        raise BitbucketConnectorError(f"{operation}: invalid connector: {shown(problems, secrets)}") from None
    except SGBitbucketError as exc:
        raise BitbucketConnectorError(f"{operation}: {shown(str(exc), secrets)}") from None
    except Exception as exc:
        raise BitbucketConnectorError(
            f"{operation}: unexpected {type(exc).__name__}: {shown(str(exc), secrets)[:500]}"
        ) from None

