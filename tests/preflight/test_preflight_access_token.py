"""Preflight of repository, project and workspace access tokens (Bearer) against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from preflight_bench import PreflightBench, outcomes

from sg_bitbucket_iac.model import AccessTokenAuth
from sg_bitbucket_iac.preflight import MAX_REQUESTS, Outcome, PreflightResult, PreflightStatus
from sg_bitbucket_iac.secrets import Secret


def token(bench: PreflightBench, secret: str, resource: str, scopes: list[str]) -> None:
    bench.credential("access_token", secret, scopes, resource=resource)


def run(bench: PreflightBench, secret: str, scope: str, workspace: str = "acme", **fields: Any) -> PreflightResult:
    repositories = fields.pop("repositories", ())
    auth = AccessTokenAuth(access_token=Secret(secret), scope=scope, **fields)
    return bench.run(auth, workspace, repositories=repositories)


# --------------------------------------------------------------------------- repository access tokens
def test_good_repository_token_passes_in_one_request(bench: PreflightBench) -> None:
    token(bench, "rat-good", "acme/infra", ["repository", "pullrequest"])
    result = run(bench, "rat-good", "repository", repository="infra")
    assert result.status is PreflightStatus.PASS
    assert result.credential_type_detected == "repo_access_token"
    assert result.identity is None
    assert result.requests_made == 1  # its own repository; pull requests are not the guide's to ask
    assert outcomes(result)["user_scopes"] is Outcome.NOT_VERIFIABLE


def test_pullrequest_scope_implies_repository_read(bench: PreflightBench) -> None:
    token(bench, "rat-pr", "acme/infra", ["pullrequest"])
    assert run(bench, "rat-pr", "repository", repository="infra").ok


def test_repository_token_without_pullrequest_passes_and_pull_requests_are_not_probed(bench: PreflightBench) -> None:
    """The guide asks Pull requests: Read of API tokens only (docs/evidence.md, the guide's table)."""
    token(bench, "rat-nopr", "acme/infra", ["repository"])
    result = run(bench, "rat-nopr", "repository", repository="infra")
    assert result.status is PreflightStatus.PASS, result.summary()
    assert "pullrequest_read" not in outcomes(result)
    assert not any("pullrequests" in (c.endpoint or "") for c in result.checks)


def test_repository_token_without_repository_read(bench: PreflightBench) -> None:
    token(bench, "rat-webhook", "acme/infra", ["webhook", "repository:admin"])  # repository:admin implies nothing
    result = run(bench, "rat-webhook", "repository", repository="infra")
    assert result.missing_scopes == ("repository",)
    assert "the credential lacks Repositories: Read (repository); create a new access token" in result.summary()


def test_repository_token_pointed_at_another_repository(bench: PreflightBench) -> None:
    token(bench, "rat-infra", "acme/infra", ["repository", "pullrequest"])
    result = run(bench, "rat-infra", "repository", repository="web")
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["repository:web"] is Outcome.NOT_FOUND_OR_NO_ACCESS
    assert "Repository acme/web is outside this token's scope or does not exist" in result.summary()


def test_repository_token_of_another_workspace(bench: PreflightBench) -> None:
    token(bench, "rat-ops", "other/ops", ["repository", "pullrequest"])
    result = run(bench, "rat-ops", "repository", repository="ops")
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["repository:ops"] is Outcome.FORBIDDEN
    assert "does not belong to workspace acme" in result.summary()
    assert result.requests_made == 1


def test_repository_token_cannot_cover_several_repositories(bench: PreflightBench) -> None:
    token(bench, "rat-cover", "acme/infra", ["repository", "pullrequest"])
    result = run(bench, "rat-cover", "repository", repository="infra", repositories=["web"])
    assert result.status is PreflightStatus.FAIL
    assert "A repository access token can access only acme/infra" in result.summary()


# --------------------------------------------------------------------------- project access tokens
def test_good_project_token_passes(bench: PreflightBench) -> None:
    token(bench, "pat-good", "acme/project:APP", ["project", "pullrequest"])
    result = run(bench, "pat-good", "project", project="APP", repositories=["web"])
    assert result.status is PreflightStatus.PASS, result.summary()
    assert result.credential_type_detected == "project_access_token"
    assert result.requests_made == 2  # the project, its repositories (web among them)


def test_project_token_without_project_scope(bench: PreflightBench) -> None:
    token(bench, "pat-noproject", "acme/project:APP", ["repository", "pullrequest"])
    result = run(bench, "pat-noproject", "project", project="APP")
    assert result.missing_scopes == ("project",)


def test_project_token_and_a_repository_outside_the_project(bench: PreflightBench) -> None:
    token(bench, "pat-outside", "acme/project:APP", ["project", "pullrequest"])
    result = run(bench, "pat-outside", "project", project="APP", repositories=["infra"])
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["repository:infra"] is Outcome.NOT_FOUND_OR_NO_ACCESS


def test_project_token_for_another_project(bench: PreflightBench) -> None:
    token(bench, "pat-inf", "acme/project:INF", ["project", "pullrequest"])
    result = run(bench, "pat-inf", "project", project="APP")
    assert result.status is PreflightStatus.FAIL
    assert "Project APP is outside this token's scope" in result.summary()


# --------------------------------------------------------------------------- workspace access tokens
def test_good_workspace_token_passes(bench: PreflightBench) -> None:
    token(bench, "wat-good", "acme", ["account", "project", "pullrequest"])
    result = run(bench, "wat-good", "workspace")
    assert result.status is PreflightStatus.PASS
    assert result.credential_type_detected == "workspace_access_token"
    assert result.requests_made == 2
    assert outcomes(result)["account_scope"] is Outcome.OK  # from x-oauth-scopes: no endpoint needs it


def test_workspace_token_missing_two_scopes(bench: PreflightBench) -> None:
    token(bench, "wat-repo", "acme", ["repository"])
    result = run(bench, "wat-repo", "workspace")
    assert result.missing_scopes == ("account", "project")
    assert "the credential lacks Account: Read (account), Projects: Read (project);" in result.summary()


def test_workspace_token_account_read_is_judged_from_the_granted_scopes(bench: PreflightBench) -> None:
    token(bench, "wat-empty", "empty", ["project"])
    result = run(bench, "wat-empty", "workspace", workspace="empty")
    assert result.missing_scopes == ("account",)
    check = next(c for c in result.checks if c.name == "account_scope")
    assert (check.outcome, check.endpoint) == (Outcome.MISSING_SCOPE, None)
    assert "Access token lacks Account: Read (account) (from the scopes Bitbucket reported" in check.message


# --------------------------------------------------------------------------- declared scope vs the token
def test_repository_token_declared_as_workspace_token_fails(bench: PreflightBench) -> None:
    token(bench, "rat-as-wat", "acme/infra", ["repository", "pullrequest"])
    result = run(bench, "rat-as-wat", "workspace")
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["token_type"] is Outcome.WRONG_CREDENTIAL_TYPE
    assert "set scope: repository" in result.summary()


def test_workspace_token_declared_as_repository_token_warns(bench: PreflightBench) -> None:
    token(bench, "wat-as-rat", "acme", ["repository", "pullrequest"])
    result = run(bench, "wat-as-rat", "repository", repository="infra")
    assert result.status is PreflightStatus.PASS
    assert any("set scope: workspace" in w for w in result.warnings)


# --------------------------------------------------------------------------- 401 and outages
@pytest.mark.parametrize("revoked", [True, False], ids=["revoked", "unknown"])
def test_rejected_access_token(bench: PreflightBench, revoked: bool) -> None:
    if revoked:
        bench.credential("access_token", "rat-revoked", ["repository"], resource="acme/infra", revoked=True)
    result = run(bench, "rat-revoked", "repository", repository="infra")
    assert result.status is PreflightStatus.FAIL
    assert "Bitbucket rejected the access token. It may be revoked" in result.summary()


def test_rate_limited_access_token_is_inconclusive(bench: PreflightBench) -> None:
    token(bench, "wat-429", "acme", ["account", "project"])
    bench.fault(path_regex=".*", status=429)
    result = run(bench, "wat-429", "workspace")
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert result.requests_made == 4 <= MAX_REQUESTS
