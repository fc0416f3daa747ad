"""Preflight requires exactly what StackGuardian's guide lists, per credential (tests/guide_credentials.py).

For every kind and level: the guide's exact set passes; each set missing one scope fails naming it
in the guide's words, unless another scope implies it or Bitbucket cannot show it; more than the
row passes; and whatever is missing is named all at once, in one failure. The property test checks
the verdict for any set of scopes Bitbucket lets the credential hold, with the emulated Bitbucket's
own implication rules as the oracle.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from guide_credentials import GUIDE, GuideCredential, guide_cases, scopes_without
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from preflight_bench import PreflightBench, outcomes

from sg_bitbucket_iac.emulator.bitbucket.scopes import classic_closure
from sg_bitbucket_iac.model import parse_auth
from sg_bitbucket_iac.preflight import Outcome, PreflightResult, PreflightStatus

PROJECT = "INF"  # the bench's project holding repository infra
_secrets = itertools.count(1)


def preflight(bench: PreflightBench, guide: GuideCredential, scopes: list[str] | None = None) -> PreflightResult:
    """A credential of the guide's kind and level with ``scopes`` (default: the guide's), checked for acme."""
    secret = f"{guide.id}-{next(_secrets)}"
    guide.seed(bench.emulator, secret, scopes, workspace="acme", project=PROJECT)
    return bench.run(parse_auth(guide.auth_fields(secret, PROJECT)))


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_the_guides_set_passes_and_each_scope_left_out_fails_by_the_guides_words(
    bench: PreflightBench, guide: GuideCredential, left_out: str | None
) -> None:
    result = preflight(bench, guide, scopes_without(guide, left_out))
    words = guide.failure_without(left_out) if left_out else None
    if words is None:
        assert result.status is PreflightStatus.PASS, result.summary()
        assert result.missing_scopes == ()
        return
    assert left_out is not None
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == (left_out,)
    assert f"the credential lacks {words} ({left_out});" in result.summary()
    failing = [c for c in result.checks if c.outcome is Outcome.MISSING_SCOPE]
    assert failing and all(c.missing_scopes == (left_out,) for c in failing)


@pytest.mark.parametrize("guide", GUIDE, ids=[g.id for g in GUIDE])
def test_more_than_the_row_passes(bench: PreflightBench, guide: GuideCredential) -> None:
    result = preflight(bench, guide, sorted(set(guide.scopes) | guide.extras))
    assert result.status is PreflightStatus.PASS, result.summary()
    assert not [c for c in result.checks if c.outcome is Outcome.MISSING_SCOPE]


@pytest.mark.parametrize("guide", GUIDE, ids=[g.id for g in GUIDE])
def test_everything_missing_is_named_at_once_in_one_failure(bench: PreflightBench, guide: GuideCredential) -> None:
    # An API token needs one `...:bitbucket` scope to authenticate at all; the others hold none of the row.
    unrelated = ["read:snippet:bitbucket"] if guide.kind == "api_token" else ["webhook"]
    result = preflight(bench, guide, [*guide.unverifiable, *unrelated])
    required = [scope for scope in guide.scopes if scope not in guide.unverifiable]
    assert result.status is PreflightStatus.FAIL
    assert result.missing_scopes == tuple(sorted(required))
    summary = result.summary()
    assert summary.count("the credential lacks") == 1
    for scope in required:
        assert f"{guide.words(scope)} ({scope})" in summary


@pytest.mark.parametrize("guide", [g for g in GUIDE if g.kind != "api_token"], ids=lambda g: g.id)
def test_pull_requests_are_not_asked_of_access_tokens_and_app_passwords(
    bench: PreflightBench, guide: GuideCredential
) -> None:
    result = preflight(bench, guide)
    assert result.status is PreflightStatus.PASS, result.summary()
    assert not any("pullrequests" in (c.endpoint or "") for c in result.checks)
    assert not any("Pull" in c.message for c in result.checks)


def test_a_workspace_tokens_account_read_is_noted_when_bitbucket_shows_no_scopes(bench: PreflightBench) -> None:
    """Bitbucket shows no x-oauth-scopes: nothing can tell whether Account: Read was given (INFO, not FAIL)."""
    guide = next(g for g in GUIDE if g.level == "workspace")
    page = {"pagelen": 10, "values": []}
    for path in ("^/2.0/repositories/acme$", "^/2.0/workspaces/acme/projects$"):
        bench.fault(path_regex=path, status=200, body=page)
    result = preflight(bench, guide, ["project"])
    assert result.status is PreflightStatus.PASS, result.summary()
    check = next(c for c in result.checks if c.name == "account_scope")
    assert check.outcome is Outcome.NOT_VERIFIABLE
    assert "Account: Read (account), which StackGuardian's guide asks of a workspace access token" in check.message


def test_a_scope_bitbucket_refuses_outside_the_row_is_a_warning_never_a_failure(bench: PreflightBench) -> None:
    guide = next(g for g in GUIDE if g.kind == "app_password")
    body = {"type": "error", "error": {"message": "Your credentials lack one or more required privilege scopes.",
                                       "detail": {"required": ["team"], "granted": ["account", "project"]}}}
    bench.fault(path_regex="^/2.0/user/workspaces$", status=403, body=body)
    result = preflight(bench, guide)
    assert result.status is PreflightStatus.PASS, result.summary()
    assert outcomes(result)["workspace_membership"] is Outcome.WARNING
    assert any("lack of team, which StackGuardian's guide does not ask of an app password; not required" in w
               for w in result.warnings)


# --------------------------------------------------------------------------- any set of scopes
def _held(guide: GuideCredential, scopes: set[str]) -> set[str]:
    """What Bitbucket (the emulator's rules) lets the credential read with ``scopes``."""
    return set(scopes) if guide.kind == "api_token" else classic_closure(scopes)


@pytest.mark.parametrize("guide", GUIDE, ids=[g.id for g in GUIDE])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_set_of_scopes_passes_exactly_when_it_covers_the_row(
    bench: PreflightBench, guide: GuideCredential, data: Any
) -> None:
    pool = sorted(set(guide.scopes) | guide.extras)
    scopes = set(data.draw(st.lists(st.sampled_from(pool), unique=True), label="scopes"))
    if guide.kind == "api_token":
        scopes.add("read:snippet:bitbucket")  # a token without a `...:bitbucket` scope does not authenticate
    result = preflight(bench, guide, sorted(scopes))
    held = _held(guide, scopes)
    expected = sorted(s for s in guide.scopes if s not in guide.unverifiable and s not in held)
    assert result.missing_scopes == tuple(expected), result.summary()
    assert result.status is (PreflightStatus.FAIL if expected else PreflightStatus.PASS), result.summary()
