"""Preflight of app passwords: the probes with classic scope names (what the date means is engine/precheck.py's,
tested in tests/engine/test_precheck.py)."""

from __future__ import annotations

from preflight_bench import PreflightBench, outcomes

from sg_bitbucket_iac.model import AppPasswordAuth
from sg_bitbucket_iac.preflight import Outcome, PreflightResult, PreflightStatus
from sg_bitbucket_iac.secrets import Secret

ALL_CLASSIC = ["account", "team", "repository", "project", "pullrequest"]


def app_password(bench: PreflightBench, secret: str, scopes: list[str] | None = None) -> AppPasswordAuth:
    bench.credential("app_password", secret, ALL_CLASSIC if scopes is None else scopes, username="alice")
    return AppPasswordAuth(username="alice", app_password=Secret(secret))


def run(bench: PreflightBench, auth: AppPasswordAuth) -> PreflightResult:
    return bench.run(auth)


def test_probes_with_classic_names_and_no_date_check(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-probes"))
    assert result.status is PreflightStatus.PASS and result.warnings == ()
    assert result.credential_type_detected == "app_password"
    assert result.identity is not None and result.identity.username == "alice"
    assert "app_password_timeline" not in outcomes(result)  # the date is the policy's, asked before


def test_wrong_password(bench: PreflightBench) -> None:
    app_password(bench, "pw-right")
    result = run(bench, AppPasswordAuth(username="alice", app_password=Secret("pw-wrong")))
    assert result.status is PreflightStatus.FAIL
    assert "Invalid username or app password for alice" in result.summary()


def test_without_projects_read_the_repository_probe_names_projects_read(bench: PreflightBench) -> None:
    """The guide asks Projects: Read, which gives the repository read the listing needs: that is what is missing."""
    result = run(bench, app_password(bench, "pw-account-only", ["account"]))
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == ("project",)
    listing = next(c for c in result.checks if c.name == "repository_read")
    assert listing.message == (
        "App password lacks Projects: Read (project), which gives the Repositories: Read (repository) this probe needs."
    )
    assert "the credential lacks Projects: Read (project); app passwords can no longer" in result.summary()
    # No command: preflight speaks for every front, and each names its own way to switch (wording.py).
    assert "switch the connector to an API token" in result.summary() and "sg-bitbucket" not in result.summary()
    assert result.warnings == ()  # no Workspace membership (team), no pull requests: the guide asks neither


def test_missing_account_and_projects_read_are_named_in_one_failure(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-none", ["email", "team", "pullrequest"]))
    assert result.missing_scopes == ("account", "project")
    assert "the credential lacks Account: Read (account), Projects: Read (project);" in result.summary()


def test_missing_account_scope(bench: PreflightBench) -> None:
    result = run(bench, app_password(bench, "pw-no-account", ["team", "project", "pullrequest"]))
    assert result.missing_scopes == ("account",)
    assert "App password lacks Account: Read (account)" in " ".join(c.message for c in result.checks)


def test_project_scope_gives_repository_read(bench: PreflightBench) -> None:
    assert run(bench, app_password(bench, "pw-project", ["account", "team", "project", "pullrequest"])).ok


def test_bitbucket_brownout_looks_like_a_wrong_password(bench: PreflightBench) -> None:
    """The emulated Bitbucket browns out (its own clock) while the product clock is earlier."""
    auth = app_password(bench, "pw-brownout")
    bench.emulator.admin("POST", "/clock", {"now": "2026-06-09T00:05:00Z"})
    result = run(bench, auth)
    assert outcomes(result)["identity"] is Outcome.AUTH_FAILED
