"""The sg-bitbucket-iac/* ContextTags (tags.py): each key read and written in one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.tags import (
    ACCESS_SCOPE_TAG,
    APPLIED_TAG,
    DEFAULT_SET,
    FINGERPRINT_TAG,
    LAST_WRITE_TAG,
    MANAGED_TAG,
    OWNER_TAG,
    PROJECT_TAG,
    REPOSITORY_TAG,
    SET_TAG,
    UNREADABLE_SET,
    USERNAME_TAG,
    WORKSPACE_TAG,
    Front,
    applied_of,
    cli_bookkeeping,
    descriptive_tags,
    is_ours,
    is_set_name,
    last_write_of,
    last_write_tag,
    owner_of,
    set_of,
    with_owner,
    without_cli_bookkeeping,
)

WRITE = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(("tags", "owner"), [
    ({}, None),
    ({MANAGED_TAG: "true"}, Front.CLI),  # written before owner tags: the CLI's marker means the CLI
    ({OWNER_TAG: "terraform", MANAGED_TAG: "true"}, Front.TERRAFORM),  # the owner tag wins
    ({OWNER_TAG: "pulumi"}, Front.PULUMI),
    ({OWNER_TAG: "ansible"}, None),  # an owner this version does not know acts for nobody
])
def test_owner_of(tags: dict[str, str], owner: Front | None) -> None:
    assert owner_of(tags) is owner


def test_the_last_write_tag_round_trips_in_milliseconds() -> None:
    assert last_write_of(last_write_tag(WRITE)).at == WRITE
    assert last_write_of({}).missing and last_write_of({}).at is None
    broken = last_write_of({LAST_WRITE_TAG: "not a number"})
    assert broken.at is None and not broken.missing and "not a time in epoch milliseconds" in broken.unreadable


def test_the_clis_bookkeeping_round_trips_and_keeps_the_fingerprint_in_its_own_tag() -> None:
    snapshot = {"connector_id": "c1", "org": "acme", "name": "n", "fingerprint": "fp"}
    written = cli_bookkeeping(snapshot, WRITE)
    assert written[MANAGED_TAG] == "true" and written[FINGERPRINT_TAG] == "fp"
    assert json.loads(written[APPLIED_TAG]) == {"connector_id": "c1", "org": "acme", "name": "n"}
    assert written[APPLIED_TAG] == '{"connector_id":"c1","name":"n","org":"acme"}'  # compact, sorted: comparable
    assert last_write_of(written).at == WRITE
    assert applied_of(written) == snapshot
    assert FINGERPRINT_TAG not in cli_bookkeeping({**snapshot, "fingerprint": None}, WRITE)
    assert applied_of({APPLIED_TAG: "not json"}) is None and applied_of({APPLIED_TAG: "[1]"}) is None
    assert applied_of({}) is None


def test_descriptive_tags_come_from_the_auth_type() -> None:
    api = parse_connector({"name": "n", "workspace": "acme",
                           "auth": {"type": "api_token", "username": "alice", "email": "a@acme.io", "api_token": "t"}})
    assert descriptive_tags(api) == {WORKSPACE_TAG: "acme", USERNAME_TAG: "alice"}
    access = parse_connector({"name": "n", "workspace": "acme",
                              "auth": {"type": "access_token", "access_token": "t", "project": "INF"}})
    assert descriptive_tags(access) == {WORKSPACE_TAG: "acme", ACCESS_SCOPE_TAG: "project", PROJECT_TAG: "INF"}
    repo = parse_connector({"name": "n", "workspace": "acme",
                            "auth": {"type": "access_token", "access_token": "t", "repository": "infra"}})
    assert descriptive_tags(repo)[REPOSITORY_TAG] == "infra"


def test_ownership_writes_keep_what_is_not_ours() -> None:
    tags = {**cli_bookkeeping({"fingerprint": "fp"}, WRITE), WORKSPACE_TAG: "acme", "team": "x"}
    assert without_cli_bookkeeping(tags) == {WORKSPACE_TAG: "acme", "team": "x"}
    assert with_owner({"team": "x"}, Front.PULUMI) == {"team": "x", OWNER_TAG: "pulumi"}
    assert is_ours(WORKSPACE_TAG) and not is_ours("team")


@pytest.mark.parametrize(("tags", "cli_set"), [
    ({OWNER_TAG: "cli", SET_TAG: "platform"}, "platform"),
    ({OWNER_TAG: "cli"}, DEFAULT_SET),  # tagged by a file without `set:`, or before sets existed
    ({MANAGED_TAG: "true"}, DEFAULT_SET),  # before owner tags, too
    ({OWNER_TAG: "cli", SET_TAG: "bad set\x1b[31m"}, UNREADABLE_SET),  # edited outside: in no file's set
    ({OWNER_TAG: "terraform", SET_TAG: "platform"}, None),  # sets are the CLI's only
    ({}, None),
])
def test_set_of(tags: dict[str, str], cli_set: str | None) -> None:
    assert set_of(tags) == cli_set


def test_set_names_follow_their_rule_without_a_trailing_newline() -> None:
    assert is_set_name("platform") and is_set_name("a" * 64) and is_set_name("Team_1.x-y")
    for bad in ("", "-x", ".x", "a" * 65, "two words", "x\n", "x/y", "ä"):
        assert not is_set_name(bad), bad
    assert with_owner({}, Front.CLI, "platform") == {OWNER_TAG: "cli", SET_TAG: "platform"}
    assert with_owner({}, Front.CLI) == {OWNER_TAG: "cli", SET_TAG: DEFAULT_SET}
    assert SET_TAG not in without_cli_bookkeeping({SET_TAG: "platform"})  # a take-over drops it
