"""The product on each server behaviour that no public source settles (the emulator's switches).

A stale PATCH answer must not reach the observed record (and so state, snapshots or drift); an
auth-type switch must leave nothing of the old type whether the server replaces `Settings` whole
or merges `config[0]`; both listall item shapes read the same; null ContextTags values are read.
The wider suite runs on the non-default behaviours too (`SG_BITBUCKET_IAC_EMULATOR_SWITCHES`, see
the README's emulator section); these tests pin the cases that matter on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from seeding import API_TOKEN_SCOPES

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import Action, AppliedSnapshot, DriftStatus, Engine
from sg_bitbucket_iac.model import Connector, parse_connector
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient

Factory = Callable[..., Emulator]
ORG, KEY = "acme", "sgo_test_key"
T0, T1 = "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"


def started(factory: Factory, sentinel: str, **switches: Any) -> tuple[Emulator, Engine]:
    emulator = factory(now=T0, **switches)
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "repositories": [{"slug": "infra"}]})
    for secret in (sentinel, sentinel + "-2"):
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
    emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "access_token", "secret": sentinel + "-at", "resource": "acme",
        "scopes": ["repository", "pullrequest", "project", "account"]})
    client = StackGuardianClient(emulator.stackguardian_url, KEY, ORG, backoff=0.01)
    engine = Engine(Settings(bitbucket_api_url=emulator.bitbucket_url, clock="2026-01-15T00:00:00Z"), client=client,
                    preflight_backoff=0.01)
    return emulator, engine


def connector(auth: dict[str, Any], name: str = "bitbucket-main") -> Connector:
    return parse_connector({"name": name, "id": "bitbucket_main", "workspace": "acme", "auth": auth})


def api_token(secret: str) -> dict[str, Any]:
    return {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": secret}


def access_token(secret: str) -> dict[str, Any]:
    return {"type": "access_token", "access_token": secret, "scope": "workspace"}


def stored(emulator: Emulator) -> dict[str, Any]:
    return emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")


def apply(engine: Engine, desired: Connector, applied: AppliedSnapshot | None = None) -> Any:
    return engine.apply(desired, engine.plan(desired, applied=applied))


@pytest.mark.parametrize("patch_answer", ["fresh", "stale"])
def test_the_observed_record_after_an_update_is_the_written_one(
    emulator_factory: Factory, sentinel: str, patch_answer: str
) -> None:
    emulator, engine = started(emulator_factory, sentinel, patch_answer=patch_answer)
    first = apply(engine, connector(api_token(sentinel)))
    emulator.admin("POST", "/clock", {"now": T1})
    # A rename with a rotation, then a rotation alone (where only ModifiedAt tells a stale answer).
    for desired in (connector(api_token(sentinel + "-2"), name="renamed"), connector(api_token(sentinel), "renamed")):
        result = apply(engine, desired, applied=first.snapshot)
        assert result.plan.action is Action.UPDATE
        record = stored(emulator)
        assert result.observed.name == record["ResourceName"] == "renamed"
        assert result.observed.modified_at is not None
        assert result.observed.modified_at.timestamp() * 1000 == record["ModifiedAt"]
        first = result
    report = engine.drift(connector(api_token(sentinel), "renamed"), applied=first.snapshot,
                          observed=engine.read("bitbucket_main"))
    assert report.statuses == [DriftStatus.IN_SYNC]  # no edit outside: ModifiedAt is this tool's own write


@pytest.mark.parametrize("settings_patch", ["replace", "merge"])
@pytest.mark.parametrize("patch_answer", ["fresh", "stale"])
def test_nothing_of_the_old_auth_type_survives_a_switch(
    emulator_factory: Factory, sentinel: str, settings_patch: str, patch_answer: str
) -> None:
    emulator, engine = started(emulator_factory, sentinel, settings_patch=settings_patch, patch_answer=patch_answer)
    applied = apply(engine, connector(api_token(sentinel))).snapshot
    result = apply(engine, connector(access_token(sentinel + "-at")), applied=applied)
    assert stored(emulator)["Settings"]["config"][0] == {"bitbucketAuthType": "ACCESS_TOKEN",
                                                         "bitbucketAccessToken": sentinel + "-at"}
    assert result.observed.email is None and result.observed.username is None
    apply(engine, connector(api_token(sentinel + "-2")), applied=result.snapshot)
    assert stored(emulator)["Settings"]["config"][0] == {"bitbucketAuthType": "API_TOKEN",
                                                         "bitbucketCreds": f"alice:{sentinel}-2",
                                                         "bitbucketEmail": "alice@acme.io"}


@pytest.mark.parametrize("list_item_wrap", [False, True])
def test_both_listall_item_shapes_read_the_same(emulator_factory: Factory, sentinel: str, list_item_wrap: bool) -> None:
    _emulator, engine = started(emulator_factory, sentinel, list_item_wrap=list_item_wrap)
    apply(engine, connector(api_token(sentinel)))
    listed = list(engine.list_observed())
    assert [(o.id, o.name, o.auth_type.value if o.auth_type else None) for o in listed] == [
        ("bitbucket_main", "bitbucket-main", "api_token")]
    assert listed[0] == engine.read("bitbucket_main")


def test_null_context_tag_values_read_as_absent(emulator_factory: Factory, sentinel: str) -> None:
    emulator, engine = started(emulator_factory, sentinel)
    applied = apply(engine, connector(api_token(sentinel))).snapshot
    tags = dict(stored(emulator)["ContextTags"])
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                   {"ContextTags": {**tags, "cost-centre": None}})
    observed = engine.read("bitbucket_main")
    assert observed is not None and "cost-centre" not in observed.context_tags
    assert all(isinstance(value, str) for value in observed.context_tags.values())
    assert engine.plan(connector(api_token(sentinel)), applied=applied).action is Action.NOOP
