"""Seeding the emulated Bitbucket, shared by every test package (a uniquely named helper module).

Works on anything with ``admin(method, path, body)``: the in-process ``Emulator`` and the CLI
tests' emulator process alike.
"""

from __future__ import annotations

from typing import Any, Protocol

# Every read scope an API token needs (the connector's five; no platform scopes).
API_TOKEN_SCOPES = [
    "read:user:bitbucket",
    "read:workspace:bitbucket",
    "read:repository:bitbucket",
    "read:project:bitbucket",
    "read:pullrequest:bitbucket",
]


class Admin(Protocol):
    def admin(self, method: str, path: str, body: Any = None) -> Any: ...


def seed_workspace(target: Admin, slug: str = "acme", project: str = "PLAT", repository: str = "infra") -> None:
    """A workspace with one project holding one repository."""
    target.admin("POST", "/bitbucket/workspaces", {
        "slug": slug, "projects": [{"key": project}], "repositories": [{"slug": repository, "project": project}]})


def seed_credential(target: Admin, kind: str, secret: str, **fields: Any) -> None:
    target.admin("POST", "/bitbucket/credentials", {"kind": kind, "secret": secret, **fields})


def seed_api_token(target: Admin, secret: str, **fields: Any) -> None:
    """An API token of alice@acme.io with every read scope in workspace `acme`, unless told otherwise."""
    fields.setdefault("email", "alice@acme.io")
    fields.setdefault("username", "alice")
    fields.setdefault("scopes", API_TOKEN_SCOPES)
    fields.setdefault("workspaces", ["acme"])
    seed_credential(target, "api_token", secret, **fields)
