"""StackGuardian's guide as test data: every credential made exactly as the guide says, for every suite.

Copied from the guide (docs/evidence.md#what-stackguardians-guide-requires-per-credential), not from
the product, so that a wrong rule in the product fails instead of being mirrored: for each kind and
level, the permissions the guide tells a user to select, in the guide's words and as Bitbucket names
them, and what leaving one out must do. A uniquely named helper module (tests run in prepend import mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from seeding import Admin, seed_credential, seed_workspace

from sg_bitbucket_iac.emulator.bitbucket.scopes import APP_PASSWORD_SCOPES, PAT_SCOPES, RAT_SCOPES, WAT_SCOPES

# The workspace every suite seeds (tests/seeding.py): one project holding repository `infra`.
REPOSITORY = "infra"
# A date when Bitbucket still accepts app passwords and the product allows an existing one (with a warning):
# suites pin both clocks to it, so that the app password of the guide can be created.
APP_PASSWORDS_STILL_WORK = "2026-01-15T00:00:00Z"


@dataclass(frozen=True)
class GuideCredential:
    """One row of the guide's table."""

    name: str  # as the guide calls it
    kind: str  # the emulated Bitbucket's credential kind
    permissions: tuple[tuple[str, str], ...]  # (Bitbucket scope, the guide's words), in the guide's order
    implied: tuple[str, ...]  # scopes whose absence still passes because another of the guide's implies them
    unverifiable: tuple[str, ...]  # scopes no Bitbucket answer can show: never required
    extras: frozenset[str]  # every other scope Bitbucket lets this credential hold
    auth: tuple[tuple[str, str], ...]  # the connector's credential fields, but the secret and the project

    @property
    def id(self) -> str:
        return self.name.replace(" ", "-")

    @property
    def scopes(self) -> list[str]:
        return [scope for scope, _words in self.permissions]

    def words(self, scope: str) -> str:
        """How the guide names ``scope``, and so how a failure must name it."""
        return dict(self.permissions)[scope]

    def failure_without(self, scope: str) -> str | None:
        """The guide's words a preflight failure names when ``scope`` is left out; None: it still passes."""
        return None if scope in (*self.implied, *self.unverifiable) else self.words(scope)

    @property
    def secret_field(self) -> str:
        return self.kind

    @property
    def level(self) -> str | None:
        """An access token's scope field: repository | project | workspace."""
        return dict(self.auth).get("scope")

    def resource(self, workspace: str, project: str) -> str | None:
        """What an access token is tied to, as the emulator's admin API names it."""
        return {"repository": f"{workspace}/{REPOSITORY}", "project": f"{workspace}/project:{project}",
                "workspace": workspace}.get(self.level or "")

    def auth_fields(self, secret: str, project: str) -> dict[str, Any]:
        """The connector's `auth` mapping (definitions file and model), the secret included."""
        fields: dict[str, Any] = {"type": self.kind, **dict(self.auth), self.secret_field: secret}
        if self.level == "project":
            fields["project"] = project
        return fields

    def flat_fields(self, secret: str, project: str) -> dict[str, Any]:
        """The same, as Terraform's attributes and Pulumi's properties name them."""
        renamed = {"type": "auth_type", "scope": "access_token_scope"}
        return {renamed.get(key, key): value for key, value in self.auth_fields(secret, project).items()}

    def seed(self, target: Admin, secret: str, scopes: Sequence[str] | None = None, *, workspace: str = "acme",
             project: str = "PLAT") -> None:
        """Make the credential in the emulated Bitbucket: with the guide's scopes unless told otherwise."""
        fields: dict[str, Any] = {"scopes": list(self.scopes if scopes is None else scopes)}
        if self.kind == "access_token":
            fields["resource"] = self.resource(workspace, project)
        else:
            fields.update(username="alice", workspaces=[workspace])
            if self.kind == "api_token":
                fields["email"] = "alice@acme.io"
        seed_credential(target, self.kind, secret, **fields)


GUIDE = (
    GuideCredential(
        "API token", "api_token",
        (("read:account", "Account: Read"), ("read:me", "Me: Read"),
         ("read:project:bitbucket", "Project:bitbucket: Read"),
         ("read:pullrequest:bitbucket", "Pullrequest:bitbucket: Read"),
         ("read:repository:bitbucket", "Repository:bitbucket: Read"),
         ("read:user:bitbucket", "User:bitbucket: Read"),
         ("read:workspace:bitbucket", "Workspace:bitbucket: Read")),
        (),
        ("read:account", "read:me"),  # Atlassian platform scopes: no Bitbucket answer shows them
        frozenset({"write:repository:bitbucket", "admin:repository:bitbucket", "write:pullrequest:bitbucket",
                   "admin:project:bitbucket", "read:pipeline:bitbucket", "read:runner:bitbucket",
                   "read:issue:bitbucket", "read:snippet:bitbucket", "read:webhook:bitbucket"}),
        (("username", "alice"), ("email", "alice@acme.io")),
    ),
    GuideCredential(
        "repository access token", "access_token",
        (("repository", "Repositories: Read"),),
        (),
        (),
        RAT_SCOPES,
        (("scope", "repository"), ("repository", REPOSITORY)),
    ),
    GuideCredential(
        "project access token", "access_token",
        (("project", "Projects: Read"), ("repository", "Repositories: Read")),
        ("repository",),  # `project` implies `repository`
        (),
        PAT_SCOPES,
        (("scope", "project"),),
    ),
    GuideCredential(
        "workspace access token", "access_token",
        (("account", "Account: Read"), ("project", "Projects: Read"), ("repository", "Repositories: Read")),
        ("repository",),  # `project` implies `repository`
        (),
        WAT_SCOPES,
        (("scope", "workspace"),),
    ),
    GuideCredential(
        "app password", "app_password",
        (("account", "Account: Read"), ("project", "Projects: Read")),
        (),
        (),
        APP_PASSWORD_SCOPES,
        (("username", "alice"),),
    ),
)


def guide_cases() -> list[Any]:
    """(credential, the scope left out or None): the guide's exact set, then each set missing one scope."""
    return [pytest.param(guide, left_out, id=f"{guide.id}-" + (f"without-{left_out}" if left_out else "exact"))
            for guide in GUIDE for left_out in (None, *guide.scopes)]


def scopes_without(guide: GuideCredential, left_out: str | None) -> list[str]:
    return [scope for scope in guide.scopes if scope != left_out]


def seeded_without(emulator: Any, monkeypatch: pytest.MonkeyPatch, guide: GuideCredential, left_out: str | None,
                   secret: str, *, project: str = "PLAT") -> str | None:
    """Both clocks on :data:`APP_PASSWORDS_STILL_WORK`, the workspace, and the credential without ``left_out``;
    returns the failure a front must report, ``lacks <the guide's words> (<scope>)``, or None when it passes."""
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", APP_PASSWORDS_STILL_WORK)
    emulator.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})
    seed_workspace(emulator, project=project)
    guide.seed(emulator, secret, scopes_without(guide, left_out), project=project)
    words = guide.failure_without(left_out) if left_out else None
    return f"lacks {words} ({left_out})" if words else None
