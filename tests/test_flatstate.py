"""The flat-state mapping both fronts share: keys, paths, declaration, snapshot, refreshed state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sg_bitbucket_iac import flatstate
from sg_bitbucket_iac.model import SECRET_FIELDS, parse_connector
from sg_bitbucket_iac.wire import observed_from_record


def test_secret_keys_are_the_models_secret_fields() -> None:
    assert set(flatstate.SECRET_KEYS) == set(SECRET_FIELDS)


@pytest.mark.parametrize(("path", "key"), [
    ("auth.email", ("email", None)),
    ("auth.scope", ("access_token_scope", None)),
    ("auth", ("auth_type", None)),
    ("auth.type", ("auth_type", None)),
    ("id", ("connector_id", None)),
    ("tags[1]", ("tags", 1)),
    ("", ("", None)),
])
def test_problem_path_to_key(path: str, key: tuple[str, int | None]) -> None:
    assert flatstate.key_of_path(path) == key


@pytest.mark.parametrize(("path", "field"), [
    ("auth.scope", ("scope", None)), ("auth", ("type", None)), ("id", ("id", None)), ("tags[1]", ("tags", 1)),
])
def test_problem_path_to_backend_field(path: str, field: tuple[str, int | None]) -> None:
    """The field a front names through its wording table (the native provider: `accessTokenScope`)."""
    assert flatstate.field_of_path(path) == field


def test_declaration_round_trips_through_the_model() -> None:
    values = {"name": "main", "workspace": "acme", "auth_type": "access_token", "access_token": "tok",
              "repository": "infra", "tags": ("a",), "description": None}
    connector = parse_connector(flatstate.declaration(values))
    flat = flatstate.flat_of(connector)
    assert flat["access_token_scope"] == "repository" and flat["access_token"] == "tok"
    assert flat["tags"] == ["a"] and flat["connector_id"] == "main"


def test_an_unknown_secret_becomes_the_placeholder_and_other_unknowns_are_left_out() -> None:
    values = {"name": "main", "workspace": "acme", "auth_type": "api_token", "username": "alice",
              "email": "x", "api_token": "?"}
    data = flatstate.declaration(values, unknown={"email", "api_token"}, secret_placeholder="later")
    assert data["auth"] == {"type": "api_token", "username": "alice", "api_token": "later"}


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert flatstate.timestamp(datetime(2026, 1, 15, 12, 0, 1, 234567, tzinfo=UTC)) == "2026-01-15T12:00:01.234Z"
    assert flatstate.timestamp(None) is None


def test_refreshed_state_nulls_the_other_auth_types_and_keeps_what_only_we_know() -> None:
    observed = observed_from_record({
        "Id": "main", "ResourceName": "main", "Description": "", "Tags": [], "ModifiedAt": 1700000000000,
        "ContextTags": {"sg-bitbucket-iac/workspace": "acme"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketEmail": "alice@acme.io", "bitbucketCreds": "****"}]},
    })
    prior = {"auth_type": "api_token", "username": "alice", "api_token": "tok", "access_token": "old",
             "description": "", "tags": None, "credentials_fingerprint": "fp"}
    values = flatstate.refreshed(observed, prior)
    assert (values["api_token"], values["username"], values["credentials_fingerprint"]) == ("tok", "alice", "fp")
    assert values["access_token"] is None and values["email"] == "alice@acme.io"
    assert values["description"] == "" and values["tags"] is None  # the prior spelling of "empty"
    assert values["workspace"] == "acme" and values["modified_at"] == "2023-11-14T22:13:20.000Z"
    switched = flatstate.refreshed(observed, {**prior, "auth_type": "access_token"})
    assert switched["api_token"] is None and switched["credentials_fingerprint"] is None
