"""Bitbucket's scope vocabulary: which scopes each credential may hold, and what they imply.

API tokens use the fine-grained ``read:…:bitbucket`` names, which imply nothing; access tokens
and app passwords use the classic names, which do (``project`` gives ``repository``, ...). The
lists and rules come from Atlassian's Bitbucket Cloud spec and permission pages; sources on
docs/evidence.md#bitbucket-scopes.

The product's preflight has its own copy of the implication rules (``preflight/scopes.py``) on
purpose: the emulator stands for Bitbucket, so a wrong rule in the product fails the tests instead
of being mirrored by the service it is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Classic scopes each access-token level may hold (the spec's "Access tokens" narrative).
RAT_SCOPES = frozenset(
    {
        "repository",
        "repository:write",
        "repository:admin",
        "repository:delete",
        "pullrequest",
        "pullrequest:write",
        "webhook",
        "pipeline",
        "pipeline:write",
        "pipeline:variable",
        "runner",
        "runner:write",
    }
)
PAT_SCOPES = RAT_SCOPES | {"project"}
WAT_SCOPES = PAT_SCOPES | {"project:admin", "account"}
# Atlassian's app-password permission page lists the read permissions; the write/admin variants
# are Bitbucket's classic scope names.
APP_PASSWORD_SCOPES = WAT_SCOPES | {
    "email",
    "account:write",
    "team",
    "team:write",
    "project:write",
    "issue",
    "issue:write",
    "wiki",
    "snippet",
    "snippet:write",
}
# The spec's implication rules for classic scopes. repository:admin implies nothing.
CLASSIC_IMPLIES: dict[str, tuple[str, ...]] = {
    "project": ("repository",),
    "pullrequest": ("repository",),
    "repository:write": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write"),
}
# An API token without any `…:bitbucket` scope was made unscoped or for another Atlassian app
# (Jira, Confluence) and gets 401.
BITBUCKET_SCOPE_SUFFIX = ":bitbucket"
# `x-credential-type` per credential: `repo_access_token` is in Atlassian's KB-SCOPE capture, the
# others come from a third-party client. No source shows the app-password value: [emulator choice]
# `app_password`, the name of the kind, so a client can tell it apart.
CREDENTIAL_TYPES = {
    "api_token": "api_token",
    "app_password": "app_password",
    "repository": "repo_access_token",
    "project": "project_access_token",
    "workspace": "workspace_access_token",
}


def classic_closure(scopes: Iterable[str]) -> set[str]:
    """Granted classic scopes plus everything they imply."""
    result: set[str] = set()
    pending = list(scopes)
    while pending:
        scope = pending.pop()
        if scope not in result:
            result.add(scope)
            pending.extend(CLASSIC_IMPLIES.get(scope, ()))
    return result


def check_scope_names(kind: str, scopes: Sequence[str], resource: str | None) -> None:
    """Refuse scopes the credential could never hold (ValueError), so a seeded credential is a real one.

    API tokens take any single scope name (Jira-only tokens are seeded on purpose); access tokens
    take their level's classic list (a repository token cannot hold ``project``); app passwords
    the classic names.
    """
    if kind == "api_token":
        bad = [s for s in scopes if "," in s or any(ch.isspace() for ch in s)]
    else:
        if kind == "app_password":
            allowed = APP_PASSWORD_SCOPES
        else:
            tail = (resource or "").partition("/")[2]
            allowed = PAT_SCOPES if tail.startswith("project:") else RAT_SCOPES if tail else WAT_SCOPES
        bad = [s for s in scopes if s not in allowed]
    if bad:
        raise ValueError(
            f"scope(s) {', '.join(bad)} cannot be granted to this {kind.replace('_', ' ')} "
            "(API tokens use read:…:bitbucket names, the others classic names; "
            "a repository access token cannot hold project; see docs/evidence.md#bitbucket-scopes)"
        )
