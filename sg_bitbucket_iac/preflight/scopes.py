"""The scope vocabulary: Bitbucket's scope names, their labels, and what implies what.

What each auth type needs is its own (``preflight.needs`` on the auth class in model.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..model import AUTH_CLASSES

PLATFORM_SCOPES = ("read:account", "read:me")

SCOPE_LABELS = {
    need.scope: need.label for auth_class in AUTH_CLASSES for need in auth_class.preflight.needs.values()
}
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


def describe(scope: str) -> str:
    label = SCOPE_LABELS.get(scope)
    return f"{label} ({scope})" if label else scope
