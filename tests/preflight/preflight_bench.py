"""The preflight test bench: an emulator seeded with workspaces, and preflight runs whose request
counts are checked against the emulator's own statistics (a uniquely named helper module)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from seeding import API_TOKEN_SCOPES

from sg_bitbucket_iac.bitbucket import MAX_REQUESTS
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.model import AnyAuth, ApiTokenAuth
from sg_bitbucket_iac.preflight import Outcome, PreflightResult, run_preflight
from sg_bitbucket_iac.secrets import Secret

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # Bitbucket's date: app passwords deprecated, still working
ALL_READ = API_TOKEN_SCOPES
PLATFORM = ["read:account", "read:me"]


class PreflightBench:
    """An emulator seeded with workspaces, plus preflight runs whose request counts are checked
    against the emulator's own statistics."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # Bitbucket's own date (expiry, brownouts) is pinned; tests never depend on the wall clock.
        emulator.admin("POST", "/clock", {"now": NOW.isoformat()})
        emulator.admin(
            "POST",
            "/bitbucket/workspaces",
            {
                "slug": "acme",
                "projects": [{"key": "INF"}, {"key": "APP"}],
                "repositories": [{"slug": "infra", "project": "INF"}, {"slug": "web", "project": "APP"}],
            },
        )
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "other", "repositories": [{"slug": "ops"}]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "empty", "projects": [{"key": "NONE"}]})

    def credential(self, kind: str, secret: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "secret": secret, "scopes": scopes, **extra}
        if kind != "access_token":
            body.setdefault("workspaces", ["acme", "empty"])
        return self.emulator.admin("POST", "/bitbucket/credentials", body)

    def api_token(self, secret: str, scopes: list[str] | None = None, **extra: Any) -> ApiTokenAuth:
        extra.setdefault("email", "alice@acme.io")
        extra.setdefault("username", "alice")
        self.credential("api_token", secret, ALL_READ + PLATFORM if scopes is None else scopes, **extra)
        return ApiTokenAuth(username="alice", email="alice@acme.io", api_token=Secret(secret))

    def fault(self, **rule: Any) -> None:
        self.emulator.admin("POST", "/faults", {"api": "bitbucket", **rule})

    def bitbucket_requests(self) -> int:
        return int(self.emulator.admin("GET", "/stats")["bitbucket"]["total"])

    def run(self, auth: AnyAuth, workspace: str = "acme", **options: Any) -> PreflightResult:
        """One preflight (no cache unless given, tiny backoff); asserts the request budget."""
        options.setdefault("cache", None)
        options.setdefault("retry_backoff", 0.001)
        self.emulator.admin("DELETE", "/stats")
        result = run_preflight(auth, workspace, api_url=self.emulator.bitbucket_url, **options)
        made = self.bitbucket_requests()
        assert result.requests_made == made, "preflight miscounted its requests"
        assert made <= MAX_REQUESTS
        for check in result.checks:
            assert check.endpoint is None or check.endpoint.startswith("/2.0/"), check
        return result


def outcomes(result: PreflightResult) -> dict[str, Outcome]:
    return {check.name: check.outcome for check in result.checks}
