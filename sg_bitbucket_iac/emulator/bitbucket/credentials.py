"""Credentials of the emulated Bitbucket, and why Bitbucket would refuse one (its 401s).

Three kinds (docs/evidence.md#bitbucket-authentication-per-credential-kind):

* ``api_token``: an Atlassian account's token, sent as Basic ``email:token``; it needs at least
  one ``…:bitbucket`` scope and may expire;
* ``access_token``: a repository, project or workspace token (``resource`` is ``ws/repo``,
  ``ws/project:KEY`` or ``ws``), sent as Bearer; not a user, never expires, revoked when its
  resource goes;
* ``app_password``: an account's password, sent as Basic ``username:password``; refused in
  Bitbucket's brownout windows and after the removal (docs/evidence.md#app-password-timeline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...timeline import BITBUCKET_REMOVAL, bitbucket_in_brownout
from .answers import BAD_BASIC_CREDENTIALS, TOKEN_INVALID
from .objects import Account, Project, Repository, Workspace
from .scopes import BITBUCKET_SCOPE_SUFFIX, CREDENTIAL_TYPES, classic_closure

KINDS = ("api_token", "access_token", "app_password")
FINGERPRINT_CHARS = 16


def secret_fingerprint(secret: str) -> str:
    """The admin API's handle on a credential: a sha256 prefix, so tests never echo the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:FINGERPRINT_CHARS]


@dataclass
class Credential:
    kind: str
    secret: str
    scopes: list[str]
    workspaces: list[str]
    account: Account | None  # None for access tokens: they are not users
    resource: str | None = None  # access tokens: "ws" | "ws/repo" | "ws/project:KEY"
    expires_at: datetime | None = None
    revoked: bool = False
    admin_workspaces: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return secret_fingerprint(self.secret)

    @property
    def token_workspace(self) -> str:
        return (self.resource or "").split("/", 1)[0]

    @property
    def token_repository(self) -> str | None:
        tail = (self.resource or "").partition("/")[2]
        return tail if tail and not tail.startswith("project:") else None

    @property
    def token_project(self) -> str | None:
        tail = (self.resource or "").partition("/")[2]
        return tail[len("project:") :] if tail.startswith("project:") else None

    @property
    def token_level(self) -> str:
        """repository | project | workspace: Atlassian's repository, project and workspace access tokens."""
        if self.token_repository:
            return "repository"
        return "project" if self.token_project else "workspace"

    @property
    def credential_type(self) -> str:
        """The ``x-credential-type`` header's value."""
        return CREDENTIAL_TYPES[self.token_level if self.kind == "access_token" else self.kind]

    @property
    def uses_api_token_scopes(self) -> bool:
        """API tokens use the fine-grained names; the others use classic names."""
        return self.kind == "api_token"

    def effective_scopes(self) -> set[str]:
        """API-token scopes do not imply one another; classic ones do."""
        return set(self.scopes) if self.uses_api_token_scopes else classic_closure(self.scopes)

    def is_member(self, workspace: Workspace) -> bool:
        if self.kind == "access_token":
            return workspace.slug == self.token_workspace
        assert self.account is not None
        identities = {self.account.username.lower(), self.account.email.lower()}
        return workspace.slug in self.workspaces or any(m.lower() in identities for m in workspace.members)

    def visible_repositories(self, workspace: Workspace) -> list[Repository]:
        """What the credential can read: its own repository (repository token), project (project token), or all."""
        if not self.is_member(workspace):
            return []
        repositories = workspace.sorted_repositories()
        if self.token_repository:
            return [r for r in repositories if r.slug == self.token_repository]
        if self.token_project:
            return [r for r in repositories if r.project_key == self.token_project]
        return repositories

    def visible_projects(self, workspace: Workspace) -> list[Project]:
        """A repository token sees no project, a project token its own, anyone else all of them."""
        projects = workspace.sorted_projects()
        if self.token_repository:
            return []
        if self.token_project:
            return [p for p in projects if p.key == self.token_project]
        return projects

    def rejection(self, user: str | None, now: datetime, workspaces: Mapping[str, Workspace]) -> str | None:
        """Why Bitbucket answers 401 to this credential presented with ``user`` at ``now``, or None if it does not."""
        if self.revoked:
            return TOKEN_INVALID if self.kind != "app_password" else BAD_BASIC_CREDENTIALS
        if self.kind == "api_token":
            assert self.account is not None
            # Only the Atlassian email works; the Bitbucket username or the token's name do not.
            if (user or "").lower() != self.account.email.lower():
                return TOKEN_INVALID
            if self.expires_at is not None and now >= self.expires_at:
                return TOKEN_INVALID
            # Unscoped, Jira-only or Confluence-only tokens get 401.
            if not any(s.endswith(BITBUCKET_SCOPE_SUFFIX) for s in self.scopes):
                return TOKEN_INVALID
            return None
        if self.kind == "app_password":
            assert self.account is not None
            # The email (or the password's label) does not work with an app password.
            if (user or "").lower() != self.account.username.lower():
                return BAD_BASIC_CREDENTIALS
            if now.astimezone(UTC).date() >= BITBUCKET_REMOVAL or bitbucket_in_brownout(now):
                return BAD_BASIC_CREDENTIALS
            return None
        # An access token is revoked when its resource is deleted or transferred.
        workspace = workspaces.get(self.token_workspace)
        if workspace is None:
            return TOKEN_INVALID
        if self.token_repository and self.token_repository not in workspace.repositories:
            return TOKEN_INVALID
        if self.token_project and self.token_project not in workspace.projects:
            return TOKEN_INVALID
        return None

    def summary(self) -> dict[str, Any]:
        """What the admin API returns: everything but the secret."""
        return {
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "credential_type": self.credential_type,
            "scopes": list(self.scopes),
            "workspaces": list(self.workspaces),
            "admin_workspaces": list(self.admin_workspaces),
            "resource": self.resource,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked": self.revoked,
            "account": None
            if self.account is None
            else {
                "username": self.account.username,
                "display_name": self.account.display_name,
                "email": self.account.email,
                "uuid": self.account.uuid,
            },
        }
