"""Connector declarations as a user writes them, shared by the model and wire tests (a uniquely named helper module)."""

from __future__ import annotations

from typing import Any


def api_token_declaration(secret: str, **overrides: Any) -> dict[str, Any]:
    """An API-token connector `bitbucket-main` in workspace `acme`; ``overrides`` replace top-level keys."""
    data: dict[str, Any] = {
        "name": "bitbucket-main",
        "workspace": "acme",
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": secret},
    }
    data.update(overrides)
    return data


def with_auth(**auth: Any) -> dict[str, Any]:
    """A connector `c` in workspace `acme` with exactly this `auth` block."""
    return {"name": "c", "workspace": "acme", "auth": auth}
