"""What may be written (precheck.py): the app-password verdict, decided once, and what a preflight means."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from seeding import seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import Engine
from sg_bitbucket_iac.engine.precheck import (
    APP_PASSWORD_DEPRECATED,
    APP_PASSWORD_UNSUPPORTED,
    app_password_verdict,
    check_policy,
)
from sg_bitbucket_iac.model import AppPasswordAuth, AuthType, Connector, parse_connector
from sg_bitbucket_iac.preflight import DEFAULT_CACHE, Outcome, PreflightStatus
from sg_bitbucket_iac.secrets import Secret
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.wording import CLI_WORDING, PULUMI_WORDING, TERRAFORM_WORDING, FrontWording

SENTINEL = "SENTINEL-precheck-0123456789abcdef"
BEFORE = datetime(2025, 6, 1, tzinfo=UTC)
DEPRECATED = datetime(2026, 1, 15, 12, tzinfo=UTC)
ENDED = datetime(2026, 6, 9, tzinfo=UTC)
CLASSIC = ["account", "team", "repository", "project", "pullrequest"]


def app_password_connector() -> Connector:
    return parse_connector({"name": "legacy", "workspace": "acme",
                            "auth": {"type": "app_password", "username": "alice", "app_password": SENTINEL}})


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    DEFAULT_CACHE.clear()
    yield
    DEFAULT_CACHE.clear()


# --------------------------------------------------------------------------- the verdict, pure
@pytest.mark.parametrize(("at", "refused", "needs_action"), [
    (BEFORE, False, False), (DEPRECATED, False, True), (ENDED, True, True),
    (datetime(2026, 8, 1, tzinfo=UTC), True, True),
])
def test_the_verdict_follows_the_timeline(at: datetime, refused: bool, needs_action: bool) -> None:
    verdict = app_password_verdict(AuthType.APP_PASSWORD, at, creating=False, how_to_migrate="do X")
    assert verdict is not None and (verdict.refused, verdict.needs_action) == (refused, needs_action)
    assert verdict.message.endswith("do X")
    assert verdict.warnings == ((verdict.message,) if needs_action and not refused else ())
    assert app_password_verdict(AuthType.API_TOKEN, at, creating=False, how_to_migrate="do X") is None


def test_a_new_connector_is_warned_that_it_needs_an_existing_password() -> None:
    verdict = app_password_verdict(AuthType.APP_PASSWORD, DEPRECATED, creating=True, how_to_migrate="do X")
    assert verdict is not None and len(verdict.warnings) == 2 and "can no longer be created" in verdict.warnings[1]


def test_the_policy_is_a_warning_then_a_problem_at_the_path() -> None:
    app = app_password_connector()
    assert check_policy(app, at=BEFORE).warnings == []
    deprecated = check_policy(app, at=DEPRECATED, creating=False)
    assert not deprecated.problems and [w.rule for w in deprecated.warnings] == [APP_PASSWORD_DEPRECATED]
    assert "deprecated" in deprecated.warnings[0]
    refused = check_policy(app, at=ENDED, path="connectors[0]")
    assert [(p.path, p.rule) for p in refused.problems] == [("connectors[0].auth.type", APP_PASSWORD_UNSUPPORTED)]
    assert "`sg-bitbucket migrate --connector legacy --to api_token|access_token ...`" in refused.problems[0].message


@pytest.mark.parametrize(("wording", "says"), [
    (CLI_WORDING, "with `sg-bitbucket migrate --connector legacy"),
    (TERRAFORM_WORDING, 'in place: set auth_type = "api_token"'),
    (PULUMI_WORDING, "in place: give the BitbucketConnector auth=ApiTokenAuth("),
])
def test_the_policy_speaks_the_fronts_words(wording: FrontWording, says: str) -> None:
    (problem,) = check_policy(app_password_connector(), at=ENDED, wording=wording).problems
    assert "StackGuardian ended support for app passwords on 2026-06-09" in problem.message
    assert says in problem.message
    # Each front only in its own words: Terraform and Pulumi never send their users to `sg-bitbucket migrate`,
    # which refuses a connector they own (the advice would loop).
    assert ("sg-bitbucket" in problem.message) is (wording is CLI_WORDING)


# --------------------------------------------------------------------------- the engine, against Bitbucket
def engine_at(emulator: Emulator, at: datetime) -> Engine:
    return Engine(Settings(bitbucket_api_url=emulator.bitbucket_url, clock=at.isoformat()), preflight_backoff=0.001)


@pytest.fixture
def app_password(emulator: Emulator) -> AppPasswordAuth:
    seed_workspace(emulator)
    emulator.admin("POST", "/clock", {"now": DEPRECATED.isoformat()})  # Bitbucket still answers app passwords
    emulator.admin("POST", "/bitbucket/credentials", {"kind": "app_password", "secret": SENTINEL, "username": "alice",
                                                      "scopes": CLASSIC, "workspaces": ["acme"]})
    return AppPasswordAuth(username="alice", app_password=Secret(SENTINEL))


def bitbucket_requests(emulator: Emulator) -> int:
    return int(emulator.admin("GET", "/stats")["bitbucket"]["total"])


def test_a_credential_on_its_own_gets_the_date_as_its_first_check(emulator: Emulator,
                                                                   app_password: AppPasswordAuth) -> None:
    early = engine_at(emulator, BEFORE).check_credential(app_password, "acme")
    assert early.status is PreflightStatus.PASS and early.warnings == ()
    assert (early.checks[0].name, early.checks[0].outcome) == ("app_password_timeline", Outcome.OK)
    assert "sg-bitbucket migrate --to api_token|access_token` on the connector that uses it" in early.checks[0].message
    deprecated = engine_at(emulator, DEPRECATED).check_credential(app_password, "acme")
    assert deprecated.status is PreflightStatus.PASS and deprecated.from_cache  # the probes are cached...
    assert "deprecated" in deprecated.warnings[0]  # ...what the date means is not
    assert any("can no longer be created" in w for w in deprecated.warnings)


@pytest.mark.parametrize("at", [ENDED, datetime(2026, 7, 1, 3, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)],
                         ids=["end-of-support", "brownouts", "removed"])
def test_an_app_password_the_date_refuses_is_never_sent(emulator: Emulator, app_password: AppPasswordAuth,
                                                        at: datetime) -> None:
    engine = engine_at(emulator, at)
    assert engine.check_credential(app_password, "acme").ok is False
    emulator.admin("DELETE", "/stats")
    result = engine.check_credential(app_password, "acme")
    assert result.status is PreflightStatus.FAIL and result.requests_made == 0 and not result.from_cache
    assert bitbucket_requests(emulator) == 0
    assert result.checks[0].outcome is Outcome.UNSUPPORTED and "sg-bitbucket migrate" in result.summary()
    connector = app_password_connector()
    assert engine.preflight(connector, enabled=True) is not None and bitbucket_requests(emulator) == 0


def test_a_write_hears_the_date_once(emulator: Emulator, app_password: AppPasswordAuth) -> None:
    """The policy says the deprecation; the preflight before the write does not say it again."""
    check = engine_at(emulator, DEPRECATED).precheck(app_password_connector(), creating=True)
    assert not check.problems and check.preflight is not None and check.preflight.ok
    (warning,) = check.warnings
    assert warning.rule == APP_PASSWORD_DEPRECATED and "deprecated" in warning and "can no longer be created" in warning
    assert not check.preflight_inconclusive


def test_an_outage_is_inconclusive_never_a_failure(emulator: Emulator, app_password: AppPasswordAuth) -> None:
    emulator.admin("POST", "/faults", {"api": "bitbucket", "path_regex": ".", "status": 503})
    check = engine_at(emulator, BEFORE).precheck(app_password_connector())
    assert not check.problems and not check.preflight_failed and check.preflight_inconclusive
