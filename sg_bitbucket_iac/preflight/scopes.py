"""The scope vocabulary: what each auth type needs, in Bitbucket's own names, and what implies what."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PLATFORM_SCOPES = ("read:account", "read:me")

@dataclass(frozen=True)
class ScopeNeed:
    """A read permission the connector needs, in one auth type's vocabulary."""

    key: str  # user | workspace | repository | project | pullrequest
    scope: str
    label: str  # as Bitbucket's token and app-password pages call it

    @property
    def described(self) -> str:
        return f"{self.label} ({self.scope})"


def _needs(*needs: ScopeNeed) -> dict[str, ScopeNeed]:
    return {need.key: need for need in needs}


# docs/evidence.md#preflight-of-an-api-token and #bitbucket-scopes: API-token names, which imply nothing.
API_TOKEN_NEEDS = _needs(
    ScopeNeed("user", "read:user:bitbucket", "User: Read"),
    ScopeNeed("workspace", "read:workspace:bitbucket", "Workspace: Read"),
    ScopeNeed("repository", "read:repository:bitbucket", "Repository: Read"),
    ScopeNeed("project", "read:project:bitbucket", "Project: Read"),
    ScopeNeed("pullrequest", "read:pullrequest:bitbucket", "Pullrequest: Read"),
)
# docs/evidence.md#preflight-of-an-app-password: classic names; /user and /user/workspaces both need `account`.
APP_PASSWORD_NEEDS = _needs(
    ScopeNeed("user", "account", "Account: Read"),
    ScopeNeed("workspace", "account", "Account: Read"),
    ScopeNeed("repository", "repository", "Repositories: Read"),
    ScopeNeed("project", "project", "Projects: Read"),
    ScopeNeed("pullrequest", "pullrequest", "Pull requests: Read"),
)
# docs/evidence.md#preflight-of-an-access-token: access tokens are not users, so only resource scopes apply.
ACCESS_TOKEN_NEEDS = _needs(
    ScopeNeed("repository", "repository", "Repositories: Read"),
    ScopeNeed("project", "project", "Projects: Read"),
    ScopeNeed("pullrequest", "pullrequest", "Pull requests: Read"),
)
SCOPE_LABELS = {
    n.scope: n.label for needs in (API_TOKEN_NEEDS, APP_PASSWORD_NEEDS, ACCESS_TOKEN_NEEDS) for n in needs.values()
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
