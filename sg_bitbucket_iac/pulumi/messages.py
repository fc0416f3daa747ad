"""What either Pulumi provider shows a person: the dynamic ``BitbucketConnector`` and the native ``sgbitbucket``.

Both pass the Pulumi CLI texts the backend wrote (problems, errors, warnings), so both need the
same three things, done here once:

* every text scrubbed of every secret the request carried (:mod:`sg_bitbucket_iac.redact`, every
  wire form) and its control characters made visible: a name set in the StackGuardian UI can
  carry terminal escapes, and the CLI prints provider messages as they come;
* a problem put on the property it is about (the flat key both fronts store; each front spells
  it its own way when it answers the engine);
* anything raised leaves as one :class:`~sg_bitbucket_iac.errors.BitbucketConnectorError` without a
  chained cause, so neither a traceback nor a secret inside a cause reaches the CLI. Validation
  problems are named in the front's words (its :mod:`sg_bitbucket_iac.wording` table).

No Pulumi SDK import: each front wraps the results in its own types.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import BitbucketConnectorError, ConnectorValidationError, Problem, SGBitbucketError
from ..flatstate import field_of_path, key_of_path, secret_values
from ..redact import escape_control
from ..redact import scrub_text as scrub
from ..wording import FrontWording

# An unexpected error's text is cut here: it may be a whole server answer.
_UNEXPECTED_TEXT = 500


def shown(text: str, secrets: Iterable[str], *, one_line: bool = False) -> str:
    """What reaches the Pulumi CLI: scrubbed of every secret, control characters made visible.

    ``one_line``: lines joined with "; " (the native plugin's errors are one gRPC status line).
    """
    cleaned = scrub(text, list(secrets))
    if one_line:
        return escape_control("; ".join(cleaned.splitlines()), keep="")
    return escape_control(cleaned)


class SaidOnce:
    """The warnings a provider process has said, so that each is said once.

    A credential's preflight warnings come back from the backend's cache on the write after Check,
    and Check and Create both note a connector an interrupted create left: said each time, every
    such warning would be printed twice."""

    def __init__(self) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def first_time(self, text: str) -> bool:
        with self._lock:
            if text in self._said:
                return False
            self._said.add(text)
            return True

    def wrap(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """``say``, called only with texts not said before."""
        def once(text: str) -> None:
            if self.first_time(text):
                say(text)
        return once


def check_reasons(problems: Iterable[Problem], skip: Collection[str], secrets: list[str],
                  *, one_line: bool = False) -> list[tuple[str, str]]:
    """Backend problems as (flat key, reason) for a front's check failures; problems about a key in
    ``skip`` (a value not known yet at preview) are left for `up`, which checks them again."""
    reasons = []
    for problem in problems:
        key = key_of_path(problem.path)[0]
        if key not in skip:
            reasons.append((key, shown(problem.message, secrets, one_line=one_line)))
    return reasons


@contextmanager
def clean_errors(operation: str, *secret_sources: Mapping[str, Any], wording: FrontWording,
                 extra: Iterable[str] = (), one_line: bool = False) -> Iterator[None]:
    """Re-raise anything as BitbucketConnectorError with a scrubbed text and no chained cause.

    ``secret_sources``: flat values whose secrets are scrubbed; ``extra``: more secrets (the API key).
    """
    secrets = [*extra]
    for source in secret_sources:
        secrets.extend(secret_values(source))
    try:
        yield
    except BitbucketConnectorError as exc:
        raise BitbucketConnectorError(shown(str(exc), secrets, one_line=one_line)) from None
    except ConnectorValidationError as exc:
        problems = "; ".join(f"{_property(p.path, wording) or 'connector'}: {p.message}" for p in exc.problems)
        raise BitbucketConnectorError(
            f"{operation}: invalid connector: {shown(problems, secrets, one_line=one_line)}") from None
    except SGBitbucketError as exc:
        raise BitbucketConnectorError(f"{operation}: {shown(str(exc), secrets, one_line=one_line)}") from None
    except Exception as exc:
        text = shown(str(exc), secrets, one_line=one_line)[:_UNEXPECTED_TEXT]
        raise BitbucketConnectorError(f"{operation}: unexpected {type(exc).__name__}: {text}") from None


def org_move_warning(connector_id: str, old_org: str, new_org: str, *, org_setting: str) -> str:
    """What a preview says when a new org setting (``org_setting``, as the front names it) replaces a connector."""
    return (f"connector {connector_id} moves from org {old_org} to org {new_org}: `pulumi up` deletes it in org "
            f"{old_org} and creates it in org {new_org} (workflows in {old_org} that use it lose it); to keep the "
            f"one in {old_org}, set {org_setting} back, or `pulumi state delete` the resource first")


def unreadable_note(connector_id: str, findings: Iterable[str]) -> str:
    """What a refresh says of a record with odd fields: drift that the next `pulumi up` repairs."""
    return (f"connector {connector_id}: part of its StackGuardian record cannot be read ({'; '.join(findings)}); "
            "the outputs keep what could be read, and the next `pulumi up` re-sends the declaration, which repairs "
            "the record")


def _property(path: str, wording: FrontWording) -> str:
    field = field_of_path(path)[0]
    return wording.field(field) if field else ""
