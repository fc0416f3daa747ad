"""The scope vocabulary: Bitbucket's scope names, the guide's words for them, and what implies what.

What each credential must hold is its row of StackGuardian's guide (``preflight.rows`` on the auth
class in model.py, ``required_scopes`` on a credential); this module says which scopes of a row a
refused scope stands for, and how a scope is named to a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..model import AUTH_CLASSES

PLATFORM_SCOPES = ("read:account", "read:me")

# One label per scope name across the auth types: the classic names that access tokens and app passwords
# share are worded alike by the guide (tests/test_model.py holds the table to that).
SCOPE_LABELS = {scope: label for auth_class in AUTH_CLASSES for scope, label in auth_class.preflight.labels.items()}
# docs/evidence.md#bitbucket-scopes, the implication rules of classic scopes; repository:admin implies nothing.
CLASSIC_IMPLIES: Mapping[str, tuple[str, ...]] = {
    "project": ("repository",),
    "pullrequest": ("repository",),
    "repository:write": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write"),
}
TOKEN_LEVELS = {
    "repo_access_token": "repository",
    "project_access_token": "project",
    "workspace_access_token": "workspace",
}
LEVEL_ORDER = ("repository", "project", "workspace")


def implied_scopes(granted: Iterable[str], classic: bool) -> set[str]:
    """Granted scopes plus what they imply: classic names imply others, API-token names do not."""
    result: set[str] = set()
    pending = list(granted)
    while pending:
        scope = pending.pop()
        if scope not in result:
            result.add(scope)
            if classic:
                pending.extend(CLASSIC_IMPLIES.get(scope, ()))
    return result


def row_scopes_granting(scope: str, row: Sequence[str], classic: bool) -> tuple[str, ...]:
    """The scopes of a guide's row that would give ``scope``: all of them are missing when Bitbucket refuses it.

    An app password refused `repository` lacks the guide's Projects: Read (`project` implies
    `repository`); a project access token refused it lacks both its Projects and its Repositories: Read.
    """
    return tuple(entry for entry in row if scope in implied_scopes([entry], classic))


def describe(scope: str) -> str:
    label = SCOPE_LABELS.get(scope)
    return f"{label} ({scope})" if label else scope
