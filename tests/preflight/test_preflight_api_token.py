"""Credential preflight against the emulated Bitbucket over real HTTP: API tokens, and what every
auth type shares (request budget, backoff, cache, secrets that never leak).

The bench (fixture ``bench``) is in preflight_bench.py, shared with the other preflight tests.
"""

from __future__ import annotations

import base64
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from preflight_bench import ALL_READ, PLATFORM, PreflightBench, outcomes

from sg_bitbucket_iac.bitbucket import MAX_REQUESTS, BitbucketClient, BitbucketRetry
from sg_bitbucket_iac.engine import PreflightFailed
from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.model import AccessTokenAuth, ApiTokenAuth
from sg_bitbucket_iac.preflight import (
    DEFAULT_CACHE,
    Outcome,
    PreflightCache,
    PreflightResult,
    PreflightStatus,
    run_preflight,
)
from sg_bitbucket_iac.secrets import Secret


# --------------------------------------------------------------------------- API token: pass
def test_good_api_token_passes(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-good"), repositories=["infra"])
    assert result.status is PreflightStatus.PASS and result.ok
    assert result.credential_type_detected == "api_token"
    assert result.identity is not None and result.identity.username == "alice"
    assert result.missing_scopes == () and result.warnings == ()
    assert outcomes(result) == {
        "identity": Outcome.OK,
        "workspace_membership": Outcome.OK,
        "repository_read": Outcome.OK,
        "repository:infra": Outcome.OK,  # seen in the listing: no extra request
        "project_read": Outcome.OK,
        "pullrequest_read": Outcome.OK,
        "platform_scopes": Outcome.NOT_VERIFIABLE,
    }
    assert result.requests_made == 5
    assert "passed" in result.summary()


def test_platform_scopes_absent_are_noted_never_warned_or_failed(bench: PreflightBench) -> None:
    # The README's own scope list leaves read:account/read:me out: no warning on every command for that.
    result = bench.run(bench.api_token("tok-noplatform", ALL_READ))
    assert result.status is PreflightStatus.PASS
    assert outcomes(result)["platform_scopes"] is Outcome.NOT_VERIFIABLE
    assert not any("read:account" in w for w in result.warnings)
    assert any("read:account" in c.message for c in result.checks)


def test_git_username_that_differs_from_the_account_is_a_warning(bench: PreflightBench) -> None:
    bench.credential("api_token", "tok-user", ALL_READ + PLATFORM, email="alice@acme.io", username="alice")
    auth = ApiTokenAuth(username="alicia", email="alice@acme.io", api_token=Secret("tok-user"))
    result = bench.run(auth)
    assert result.status is PreflightStatus.PASS
    assert any("alicia does not match the credential's account alice" in w for w in result.warnings)


# --------------------------------------------------------------------------- API token: scopes
@pytest.mark.parametrize("missing", ALL_READ)
def test_each_missing_api_token_scope_fails_by_name(bench: PreflightBench, missing: str) -> None:
    scopes = [s for s in ALL_READ + PLATFORM if s != missing]
    result = bench.run(bench.api_token(f"tok-no-{missing}", scopes))
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == (missing,)
    assert missing in result.summary()
    assert "create a new API token" in result.summary()


def test_several_missing_scopes_are_reported_together(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-few", ["read:user:bitbucket", "read:repository:bitbucket"]))
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == (
        "read:project:bitbucket",
        "read:pullrequest:bitbucket",
        "read:workspace:bitbucket",
    )
    summary = result.summary()
    for scope in result.missing_scopes:
        assert scope in summary


def test_only_a_repository_scope_still_names_every_other_scope(bench: PreflightBench) -> None:
    """/user fails on its scope, yet every other probe runs and each names its own scope."""
    result = bench.run(bench.api_token("tok-repo-only", ["read:repository:bitbucket"]))
    assert result.identity is None
    assert set(result.missing_scopes) == set(ALL_READ) - {"read:repository:bitbucket"}


def test_missing_pullrequest_scope_is_named_even_without_a_repository_to_probe(bench: PreflightBench) -> None:
    scopes = [s for s in ALL_READ if s != "read:pullrequest:bitbucket"]
    result = bench.run(bench.api_token("tok-empty-ws", scopes), workspace="empty")
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == ("read:pullrequest:bitbucket",)
    inferred = next(c for c in result.checks if c.name == "pullrequest_scope")
    assert (inferred.outcome, inferred.endpoint) == (Outcome.MISSING_SCOPE, None)


def test_granted_pullrequest_scope_without_a_repository_passes_with_a_warning(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-empty-ok"), workspace="empty")
    assert result.status is PreflightStatus.PASS
    assert outcomes(result)["pullrequest_read"] is Outcome.SKIPPED
    assert any("can see no repositories in empty" in w for w in result.warnings)


# --------------------------------------------------------------------------- API token: identity and 401s
def test_another_accounts_email_is_rejected_with_the_fix(bench: PreflightBench) -> None:
    bench.api_token("tok-bob-email")
    auth = ApiTokenAuth(username="alice", email="bob@acme.io", api_token=Secret("tok-bob-email"))
    result = bench.run(auth)
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["identity"] is Outcome.AUTH_FAILED
    assert "Bitbucket rejected the API token for bob@acme.io" in result.summary()
    assert "the email is your Atlassian account email" in result.summary()
    assert result.requests_made == 1  # a 401 stops the run: every other probe would 401 too


@pytest.mark.parametrize(
    ("extra", "scopes"),
    [
        ({"expires_at": "2026-01-01T00:00:00Z"}, None),
        ({"revoked": True}, None),
        ({}, []),
        ({}, ["read:jira-work"]),
    ],
    ids=["expired", "revoked", "unscoped", "jira-only"],
)
def test_unusable_api_tokens_fail_with_the_401_message(
    bench: PreflightBench, extra: dict[str, Any], scopes: list[str] | None
) -> None:
    result = bench.run(bench.api_token("tok-unusable", scopes, **extra))
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["identity"] is Outcome.AUTH_FAILED
    assert "not expired or revoked" in result.summary()
    assert "Create API token with scopes" in result.summary()


def test_revoking_later_is_seen_by_the_next_preflight(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-revoke-later")
    assert bench.run(auth).ok
    bench.emulator.admin("PATCH", "/bitbucket/credentials/tok-revoke-later", {"revoked": True})
    assert bench.run(auth).status is PreflightStatus.FAIL


def test_api_token_sent_as_bearer_is_told_to_use_the_api_token_type(bench: PreflightBench) -> None:
    bench.api_token("ATATT-api-token-as-bearer")
    auth = AccessTokenAuth(access_token=Secret("ATATT-api-token-as-bearer"), scope="workspace")
    result = bench.run(auth)
    assert result.status is PreflightStatus.FAIL
    assert "If this is an Atlassian API token, choose the 'API token' type and supply your email" in result.summary()


# --------------------------------------------------------------------------- membership and repositories
def test_workspace_the_account_is_not_a_member_of(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-outsider", workspaces=["other"]))
    assert result.status is PreflightStatus.FAIL
    assert outcomes(result)["workspace_membership"] is Outcome.NOT_FOUND_OR_NO_ACCESS
    assert "Account alice@acme.io is not a member of workspace acme (or the slug is wrong)" in result.summary()


def test_membership_beyond_the_first_page_is_found_within_budget(bench: PreflightBench) -> None:
    slugs = [f"ws-{i:03d}" for i in range(120)] + ["zz-last"]
    for slug in slugs:
        bench.emulator.admin("POST", "/bitbucket/workspaces", {"slug": slug})
    result = bench.run(bench.api_token("tok-many", workspaces=slugs), workspace="zz-last")
    membership = [c for c in result.checks if c.name == "workspace_membership"]
    assert [c.outcome for c in membership] == [Outcome.OK]
    assert membership[0].endpoint is not None and "page=2" in membership[0].endpoint
    assert result.requests_made == 5  # /user, two pages, repositories, projects (no repository for PRs)


def test_configured_repository_that_is_not_visible(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-nope"), repositories=["nope"])
    assert result.status is PreflightStatus.FAIL
    assert "Repository acme/nope not found or not accessible" in result.summary()


def test_many_configured_repositories_stay_within_the_request_budget(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-budget"), repositories=["infra", "gone-1", "gone-2", "gone-3"])
    assert result.requests_made == MAX_REQUESTS
    assert result.status is PreflightStatus.FAIL
    skipped = [c.name for c in result.checks if c.outcome is Outcome.SKIPPED]
    assert skipped and all(name.startswith("repository:gone") for name in skipped)


# --------------------------------------------------------------------------- rate limits and outages
def test_rate_limit_backs_off_and_ends_inconclusive(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-429")
    bench.fault(path_regex=".*", status=429)
    result = bench.run(auth)
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert result.requests_made == 4  # the request and three retries
    assert outcomes(result)["identity"] is Outcome.RATE_LIMITED
    summary = result.summary()
    assert "rate-limiting or unavailable; credentials not verified" in summary
    assert "rejected" not in summary and "invalid" not in summary.lower()


def test_rate_limit_that_clears_during_backoff_passes_within_budget(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-429-twice")
    bench.fault(path_regex="^/2.0/user$", status=429, times=2)
    result = bench.run(auth)
    assert result.status is PreflightStatus.PASS
    # /user took three attempts, so the sixth request was the last: the pull-request probe gave way
    # (its scope is among the granted ones, which a missing one would have failed on).
    assert result.requests_made == MAX_REQUESTS
    assert outcomes(result)["pullrequest_read"] is Outcome.SKIPPED


def test_late_rate_limit_stays_within_budget(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-429-late")
    bench.fault(path_regex="/projects", status=429)
    result = bench.run(auth)
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert result.requests_made == MAX_REQUESTS
    assert outcomes(result)["pullrequest_read"] is Outcome.SKIPPED


def test_known_missing_scope_still_fails_when_a_later_probe_is_rate_limited(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-429-scope", [s for s in ALL_READ if s != "read:workspace:bitbucket"])
    bench.fault(path_regex="/repositories/", status=429)
    result = bench.run(auth)
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == ("read:workspace:bitbucket",)


@pytest.mark.parametrize("rule", [{"status": 503}, {"status": 500}, {"drop": True}], ids=["503", "500", "drop"])
def test_outage_is_inconclusive(bench: PreflightBench, rule: dict[str, Any]) -> None:
    auth = bench.api_token("tok-outage")
    bench.fault(path_regex=".*", **rule)
    result = bench.run(auth)
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert outcomes(result)["identity"] is Outcome.OUTAGE


def test_gone_endpoint_is_an_internal_error_not_a_credential_failure(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-410")
    bench.fault(path_regex="^/2.0/user$", status=410)
    result = bench.run(auth)
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert "internal error" in result.summary()


def test_redirect_is_not_followed(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-redirect")
    bench.fault(path_regex="^/2.0/user$", status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    result = bench.run(auth)
    assert outcomes(result)["identity"] is Outcome.UNEXPECTED
    assert result.status is PreflightStatus.INCONCLUSIVE


def test_backoff_schedule_is_one_two_four_seconds() -> None:
    retry = BitbucketRetry(total=3, backoff_factor=1.0)
    delays = []
    for _ in range(3):
        retry = retry.increment(method="GET", url="/2.0/user")
        delays.append(retry.get_backoff_time())
    assert delays == [1.0, 2.0, 4.0]


# --------------------------------------------------------------------------- cache
def test_same_credential_is_checked_once(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-cached")
    cache = PreflightCache()
    first = bench.run(auth, cache=cache)
    second = bench.run(auth, cache=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.requests_made == 0  # and bench.run checked the emulator saw none
    assert second.status is first.status and second.checks == first.checks
    assert bench.run(auth, cache=cache, workspace="empty").from_cache is False
    assert bench.run(auth, cache=cache, repositories=["infra"]).from_cache is False


def test_default_cache_is_used_without_keeping_the_secret(bench: PreflightBench, clean_default_cache: None) -> None:
    secret = "tok-default-cache-secret"
    auth = bench.api_token(secret)
    run_preflight(auth, "acme", api_url=bench.emulator.bitbucket_url)
    bench.emulator.admin("DELETE", "/stats")
    again = run_preflight(auth, "acme", api_url=bench.emulator.bitbucket_url)
    assert again.from_cache and bench.bitbucket_requests() == 0
    assert secret not in repr(DEFAULT_CACHE.__dict__)


def test_inconclusive_results_are_not_cached(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-retry-later")
    cache = PreflightCache()
    bench.fault(path_regex=".*", status=503, times=4)
    assert bench.run(auth, cache=cache).status is PreflightStatus.INCONCLUSIVE
    again = bench.run(auth, cache=cache)
    assert (again.status, again.from_cache) == (PreflightStatus.PASS, False)


# --------------------------------------------------------------------------- secrets never leak
def _leaks(sentinel: str, *texts: str) -> list[str]:
    return [text for text in texts if sentinel in text]


def test_sentinel_secret_never_appears_in_results_errors_or_logs(
    bench: PreflightBench, sentinel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    encoded = base64.b64encode(f"alice@acme.io:{sentinel}".encode()).decode()
    created = bench.credential("api_token", sentinel, ALL_READ, email="alice@acme.io", username="alice")
    auth = ApiTokenAuth(username="alice", email="alice@acme.io", api_token=Secret(sentinel))
    results = [
        bench.run(auth),  # pass
        bench.run(ApiTokenAuth(username="alice", email="bob@acme.io", api_token=Secret(sentinel))),  # 401
        bench.run(AccessTokenAuth(access_token=Secret(sentinel), scope="workspace")),  # Bearer 401
    ]
    bench.emulator.admin(
        "PATCH", f"/bitbucket/credentials/{created['fingerprint']}", {"scopes": ["read:user:bitbucket"]}
    )
    results.append(bench.run(auth))  # missing scopes
    bench.fault(path_regex=".*", status=429)
    results.append(bench.run(auth))  # rate limited
    assert [r.status for r in results] == [
        PreflightStatus.PASS,
        PreflightStatus.FAIL,
        PreflightStatus.FAIL,
        PreflightStatus.FAIL,
        PreflightStatus.INCONCLUSIVE,
    ]
    texts: list[str] = []
    for result in results:
        error = PreflightFailed(result, "c1")
        texts += [json.dumps(result.to_dict()), result.summary(), str(result), repr(result), str(error), repr(error)]
    texts.append(caplog.text)
    assert _leaks(sentinel, *texts) == []
    assert _leaks(encoded, *texts) == []


def test_preflight_error_carries_the_result(bench: PreflightBench) -> None:
    result = bench.run(bench.api_token("tok-error", ["read:user:bitbucket"]))
    error = PreflightFailed(result, "c1")
    assert error.result is result
    assert result.summary() in str(error)


# --------------------------------------------------------------------------- configuration
def test_plain_http_to_a_remote_host_is_refused_before_any_request() -> None:
    auth = ApiTokenAuth(username="alice", email="alice@acme.io", api_token=Secret("tok"))
    with pytest.raises(ConfigurationError):
        run_preflight(auth, "acme", api_url="http://bitbucket.example.com/2.0", cache=None)


def test_to_dict_is_json_and_complete(bench: PreflightBench) -> None:
    data = bench.run(bench.api_token("tok-dict", ["read:user:bitbucket"])).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {
        "status",
        "auth_type",
        "workspace",
        "credential_type_detected",
        "identity",
        "checks",
        "missing_scopes",
        "missing_permissions",
        "warnings",
        "requests_made",
        "from_cache",
    }
    assert data["status"] == "FAIL" and data["auth_type"] == "api_token"
    assert "Workspace:bitbucket: Read (read:workspace:bitbucket)" in data["missing_permissions"]
    assert set(data["checks"][0]) == {"name", "endpoint", "http_status", "outcome", "message", "missing_scopes"}


# --------------------------------------------------------------------------- client guard rails
def test_client_sends_credentials_only_to_its_own_origin(bench: PreflightBench) -> None:
    client = BitbucketClient(bench.emulator.bitbucket_url, "Bearer x", budget=1, retry_backoff=0.001)
    with pytest.raises(ValueError):
        client.get("http://127.0.0.2:1/2.0/user")
    assert client.get("/user").status == 401
    with pytest.raises(RuntimeError):
        client.get("/user")  # the budget is spent
    client.close()


def test_caller_session_is_used_and_left_open(bench: PreflightBench) -> None:
    session = requests.Session()
    session.trust_env = False
    result = bench.run(bench.api_token("tok-session"), session=session)
    assert result.ok
    assert session.get(bench.emulator.bitbucket_url + "/repositories", timeout=10).status_code == 410
    session.close()


def test_concurrent_preflights_of_one_credential_run_once(bench: PreflightBench) -> None:
    auth = bench.api_token("tok-parallel")
    cache = PreflightCache()
    bench.emulator.admin("DELETE", "/stats")

    def check(_: int) -> PreflightResult:
        return run_preflight(auth, "acme", api_url=bench.emulator.bitbucket_url, cache=cache)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, range(4)))
    assert [r.from_cache for r in results].count(False) == 1
    assert all(r.ok for r in results)
    assert bench.bitbucket_requests() == 5
