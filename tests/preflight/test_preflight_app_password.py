"""Preflight of app passwords: the timeline (product clock) and the probes with classic scope names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from preflight_bench import PreflightBench, outcomes

from sg_bitbucket_iac.model import AppPasswordAuth
from sg_bitbucket_iac.preflight import Outcome, PreflightCache, PreflightResult, PreflightStatus
from sg_bitbucket_iac.secrets import Secret

BEFORE_DEPRECATION = datetime(2025, 6, 1, tzinfo=UTC)
DEPRECATED = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ALL_CLASSIC = ["account", "team", "repository", "project", "pullrequest"]


def app_password(bench: PreflightBench, secret: str, scopes: list[str] | None = None) -> AppPasswordAuth:
    bench.credential("app_password", secret, ALL_CLASSIC if scopes is None else scopes, username="alice")
    return AppPasswordAuth(username="alice", app_password=Secret(secret))


def run(bench: PreflightBench, auth: AppPasswordAuth, now: datetime, new_connector: bool = True) -> PreflightResult:
    return bench.run(auth, now=now, new_connector=new_connector)


def test_before_the_deprecation_it_passes_without_warnings(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-early"), BEFORE_DEPRECATION)
    assert result.status is PreflightStatus.PASS
    assert result.warnings == ()
    assert result.credential_type_detected == "app_password"
    assert result.identity is not None and result.identity.username == "alice"
    assert outcomes(result)["app_password_timeline"] is Outcome.OK


def test_deprecated_period_warns_and_warns_new_connectors_more(bench: PreflightBench) -> None:
    auth = app_password(bench, "pw-deprecated")
    existing = run(bench, auth, DEPRECATED, new_connector=False)
    new = run(bench, auth, DEPRECATED, new_connector=True)
    assert existing.status is new.status is PreflightStatus.PASS
    assert len(existing.warnings) == 1 and "deprecated" in existing.warnings[0]
    assert any("can no longer be created" in w for w in new.warnings)
    assert "warning" in new.summary()


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 6, 9, tzinfo=UTC), datetime(2026, 7, 1, 3, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)],
    ids=["end-of-support", "brownouts", "removed"],
)
def test_refused_from_2026_06_09_with_the_migration_command(bench: PreflightBench, now: datetime) -> None:
    result = run(bench, app_password(bench, "pw-late"), now)
    assert result.status is PreflightStatus.FAIL
    assert result.requests_made == 0
    assert outcomes(result)["app_password_timeline"] is Outcome.UNSUPPORTED
    assert "sg-bitbucket migrate" in result.summary()


def test_wrong_password(bench: PreflightBench) -> None:
    app_password(bench, "pw-right")
    result = run(bench, AppPasswordAuth(username="alice", app_password=Secret("pw-wrong")), DEPRECATED)
    assert result.status is PreflightStatus.FAIL
    assert "Invalid username or app password for alice" in result.summary()


def test_missing_classic_scopes_are_named_together(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-account-only", ["account"]), DEPRECATED)
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == ("project", "pullrequest", "repository")
    assert "sg-bitbucket migrate" in result.summary()
    assert any("team" in w for w in result.warnings)


def test_missing_account_scope(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-no-account", ["team", "project", "pullrequest"]), DEPRECATED)
    assert result.missing_scopes == ("account",)
    assert "App password lacks Account: Read (account)" in " ".join(c.message for c in result.checks)


def test_project_scope_gives_repository_read(bench: PreflightBench) -> None:
    assert run(bench, app_password(bench, "pw-project", ["account", "team", "project", "pullrequest"]), DEPRECATED).ok


def test_bitbucket_brownout_looks_like_a_wrong_password(bench: PreflightBench) -> None:
    """The emulated Bitbucket browns out (its own clock) while the product clock is earlier."""
    auth = app_password(bench, "pw-brownout")
    bench.emulator.admin("POST", "/clock", {"now": "2026-06-09T00:05:00Z"})
    result = run(bench, auth, DEPRECATED)
    assert outcomes(result)["identity"] is Outcome.AUTH_FAILED


def test_cache_does_not_outlive_a_timeline_phase(bench: PreflightBench) -> None:
    auth = app_password(bench, "pw-cache")
    cache = PreflightCache()
    assert bench.run(auth, now=DEPRECATED, cache=cache).ok
    assert bench.run(auth, now=DEPRECATED, cache=cache).from_cache
    late = bench.run(auth, now=datetime(2026, 6, 10, tzinfo=UTC), cache=cache)
    assert (late.status, late.from_cache) == (PreflightStatus.FAIL, False)
