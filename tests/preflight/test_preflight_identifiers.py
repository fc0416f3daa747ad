"""Preflight's paths through a loopback recorder: a hostile workspace or slug from the caller is an
INVALID_INPUT check with no request, and a slug Bitbucket itself returns that breaks the rule is never
probed; every request stays under /2.0/."""

from __future__ import annotations

from typing import Any

import pytest
from loopback_recorder import Recorders, network_guard, recorders  # noqa: F401 - fixtures
from seeding import seed_api_token, seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.model import parse_auth
from sg_bitbucket_iac.preflight import Outcome, run_preflight

TOKEN = "SENTINEL-preflight-ids-0123456789"


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    seed_workspace(emulator)
    seed_api_token(emulator, TOKEN)
    return emulator


def _auth() -> Any:
    return parse_auth({"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": TOKEN})


@pytest.mark.parametrize(("workspace", "repositories"), [
    ("..", ()), ("acme/../x", ()), ("a%2F..", ()), ("acme", ("..",)), ("acme", ("infra/../../user",)),
])
def test_a_hostile_workspace_or_slug_is_invalid_input_and_sends_nothing(
        seeded: Emulator, recorders: Recorders, network_guard: list[str],  # noqa: F811
        workspace: str, repositories: tuple[str, ...]) -> None:
    result = run_preflight(_auth(), workspace, api_url=recorders.bitbucket_url, repositories=repositories,
                           cache=None, retry_backoff=0)
    assert [c.outcome for c in result.checks] == [Outcome.INVALID_INPUT]
    assert result.requests_made == 0 and recorders.requests() == 0 and network_guard == []


def test_a_slug_bitbucket_returns_that_breaks_the_rule_is_never_probed(
        seeded: Emulator, recorders: Recorders, network_guard: list[str]) -> None:  # noqa: F811
    def listing(body: Any) -> tuple[int, Any]:
        values = [{**v, "slug": "../../../user"} for v in body.get("values", [])]
        return 200, {**body, "values": values}

    recorders.bitbucket.answer("GET", r"^/2\.0/repositories/acme\?", listing)
    result = run_preflight(_auth(), "acme", api_url=recorders.bitbucket_url, cache=None, retry_backoff=0)
    assert recorders.bitbucket.lines and not recorders.bitbucket.outside("/2.0/")
    assert not any("pullrequests" in line.target for line in recorders.bitbucket.lines)
    assert {c.name for c in result.checks} >= {"identity", "repository_read"} and network_guard == []
