"""Connector model: validation messages, secret wrapping and the StackGuardian wire mapping."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any

import pytest

from sg_bitbucket_iac.model import (
    AccessTokenAuth,
    ApiTokenAuth,
    AuthType,
    ConnectorValidationError,
    credential_config,
    derive_id,
    observed_from_record,
    parse_connector,
    to_create_payload,
    wire_json_default,
)
from sg_bitbucket_iac.secrets import Secret, mask

SENTINEL = "SENTINEL-model-0123456789abcdef"


def api_token_connector(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "bitbucket-main",
        "workspace": "acme",
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": SENTINEL},
    }
    data.update(overrides)
    return data


def with_auth(**auth: Any) -> dict[str, Any]:
    return {"name": "c", "workspace": "acme", "auth": auth}


# Each case: definition, expected error path, a fragment of the fix that must be in the message.
MALFORMED: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing name", {"workspace": "acme", "auth": {"type": "access_token", "access_token": SENTINEL}},
     "connectors[0].name", "required"),
    ("empty name", api_token_connector(name="  "), "connectors[0].name", "give the connector a name"),
    ("name too long", api_token_connector(name="n" * 100), "connectors[0].name", "at most 99"),
    ("bad id", api_token_connector(id="bitbucket main"), "connectors[0].id", "bitbucket_main"),
    ("description too long", api_token_connector(description="d" * 256), "connectors[0].description",
     "under 256"),
    ("too many tags", api_token_connector(tags=[f"t{i}" for i in range(11)]), "connectors[0].tags",
     "at most 10"),
    ("tags as string", api_token_connector(tags="platform"), "connectors[0].tags", "list of strings"),
    ("empty tag", api_token_connector(tags=["ok", " "]), "connectors[0].tags", "cannot be empty"),
    ("duplicate tags", api_token_connector(tags=["a", "a"]), "connectors[0].tags", "once"),
    ("missing workspace", {"name": "c", "auth": {"type": "access_token", "access_token": SENTINEL}},
     "connectors[0].workspace", "required"),
    ("workspace with spaces", api_token_connector(workspace="Acme Corp"), "connectors[0].workspace",
     "bitbucket.org/<slug>"),
    ("unknown top-level key", api_token_connector(descriptoin="x"), "connectors[0].descriptoin",
     "did you mean `description`"),
    ("missing auth", {"name": "c", "workspace": "acme"}, "connectors[0].auth", "add an `auth` block"),
    ("auth without type", {"name": "c", "workspace": "acme", "auth": {"access_token": SENTINEL}},
     "connectors[0].auth.type", "api_token (recommended)"),
    ("unknown auth type", with_auth(type="apitoken"), "connectors[0].auth.type", "did you mean `api_token`"),
    ("api_token email without @", with_auth(type="api_token", username="alice", email="alice",
                                            api_token=SENTINEL),
     "connectors[0].auth.email", "Atlassian account email"),
    ("api_token username is an email", with_auth(type="api_token", username="alice@acme.io",
                                                 email="alice@acme.io", api_token=SENTINEL),
     "connectors[0].auth.username", "not an email"),
    ("api_token missing email", with_auth(type="api_token", username="alice", api_token=SENTINEL),
     "connectors[0].auth.email", "required for auth type api_token"),
    ("api_token missing token", with_auth(type="api_token", username="alice", email="a@acme.io"),
     "connectors[0].auth.api_token", "required for auth type api_token"),
    ("api_token with access_token field", with_auth(type="api_token", username="alice", email="a@acme.io",
                                                    api_token=SENTINEL, access_token=SENTINEL),
     "connectors[0].auth.access_token", "belongs to auth type access_token"),
    ("access_token with email", with_auth(type="access_token", access_token=SENTINEL, email="a@acme.io"),
     "connectors[0].auth.email", "belongs to auth type api_token"),
    ("access_token typo", with_auth(type="access_token", access_token=SENTINEL, emial="a@acme.io"),
     "connectors[0].auth.emial", "did you mean `email`"),
    ("repository scope without repository", with_auth(type="access_token", access_token=SENTINEL,
                                                      scope="repository"),
     "connectors[0].auth.repository", "one repository only"),
    ("project scope without project", with_auth(type="access_token", access_token=SENTINEL, scope="project"),
     "connectors[0].auth.project", "key of the project"),
    ("repository scope with project", with_auth(type="access_token", access_token=SENTINEL,
                                                scope="repository", repository="infra", project="PLAT"),
     "connectors[0].auth.project", "project access token"),
    ("bad scope", with_auth(type="access_token", access_token=SENTINEL, scope="org"),
     "connectors[0].auth.scope", "repository, project, workspace"),
    ("repository with workspace prefix", with_auth(type="access_token", access_token=SENTINEL,
                                                   repository="acme/infra"),
     "connectors[0].auth.repository", "slug only"),
    ("app_password with email username", with_auth(type="app_password", username="bob@acme.io",
                                                    app_password=SENTINEL),
     "connectors[0].auth.username", "app passwords do not work with an email"),
    ("app_password not a string", with_auth(type="app_password", username="bob", app_password=12345),
     "connectors[0].auth.app_password", "must be a string"),
    ("empty token", with_auth(type="access_token", access_token=""), "connectors[0].auth.access_token",
     "empty"),
    ("masked token pasted", with_auth(type="access_token", access_token="********"),
     "connectors[0].auth.access_token", "not the real value"),
    ("token with whitespace", with_auth(type="access_token", access_token=SENTINEL + "\nsecond-line"),
     "connectors[0].auth.access_token", "without spaces"),
]


@pytest.mark.parametrize(("definition", "path", "fix"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_definition_names_path_and_fix(definition: dict[str, Any], path: str, fix: str) -> None:
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(definition, prefix="connectors[0]")
    problems = caught.value.problems
    assert any(p.path == path and fix in p.message for p in problems), [str(p) for p in problems]
    text = str(caught.value) + repr(caught.value)
    assert SENTINEL not in text


def test_at_least_25_malformed_cases() -> None:
    assert len(MALFORMED) >= 25


def test_every_problem_is_reported_at_once() -> None:
    definition = {"name": "", "workspace": "Bad WS", "auth": {"type": "api_token", "username": "a@b.io",
                                                              "email": "nope", "api_token": SENTINEL}}
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(definition)
    paths = {p.path for p in caught.value.problems}
    assert {"name", "workspace", "auth.username", "auth.email"} <= paths


def test_secret_is_wrapped_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    connector = parse_connector(api_token_connector())
    assert isinstance(connector.auth.api_token, Secret)  # type: ignore[union-attr]
    logging.getLogger("test").warning("connector %s %r", connector, connector)
    dumped = json.dumps(connector.model_dump(mode="json"))
    for text in (repr(connector), str(connector), dumped, caplog.text, f"{connector.auth.secret}"):
        assert SENTINEL not in text
    assert "****cdef" in repr(connector)
    with pytest.raises(TypeError):
        pickle.dumps(connector.auth.secret)
    assert copy.deepcopy(connector) == connector


def test_mask_shows_at_most_last_four() -> None:
    assert mask("short") == "****"
    assert mask("a" * 12 + "wxyz" + "1234") == "****1234"


def test_id_derived_from_name() -> None:
    assert derive_id("bitbucket-main") == "bitbucket_main"
    assert derive_id("My Repo.Conn") == "My_Repo_Conn"
    assert parse_connector(api_token_connector()).connector_id == "bitbucket_main"
    assert parse_connector(api_token_connector(id="custom_1")).connector_id == "custom_1"


def test_access_token_scope_is_inferred() -> None:
    assert parse_connector(with_auth(type="access_token", access_token=SENTINEL, repository="infra")
                           ).auth.scope == "repository"  # type: ignore[union-attr]
    assert parse_connector(with_auth(type="access_token", access_token=SENTINEL, project="PLAT")
                           ).auth.scope == "project"  # type: ignore[union-attr]
    assert parse_connector(with_auth(type="access_token", access_token=SENTINEL)
                           ).auth.scope == "workspace"  # type: ignore[union-attr]


def _wire(payload: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(json.dumps(payload, default=wire_json_default))
    return decoded


def test_wire_mapping_for_each_auth_type() -> None:
    api = parse_connector(api_token_connector(description="Main", tags=["platform"]))
    payload = _wire(to_create_payload(api, {"k": "v"}))
    assert payload == {
        "Id": "bitbucket_main",
        "ResourceName": "bitbucket-main",
        "Description": "Main",
        "Tags": ["platform"],
        "ContextTags": {"k": "v"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{SENTINEL}",
            "bitbucketEmail": "alice@acme.io"}]},
    }
    access = parse_connector(with_auth(type="access_token", access_token=SENTINEL, repository="infra"))
    assert _wire(credential_config(access.auth)) == {"bitbucketAuthType": "ACCESS_TOKEN",
                                                     "bitbucketAccessToken": SENTINEL}
    app = parse_connector(with_auth(type="app_password", username="bob", app_password=SENTINEL))
    assert _wire(credential_config(app.auth)) == {"bitbucketAuthType": "APP_PASSWORD",
                                                  "bitbucketCreds": f"bob:{SENTINEL}"}
    # Unencoded, the payload holds only wrapped secrets.
    assert SENTINEL not in repr(to_create_payload(api))


def test_read_back_with_masked_secrets() -> None:
    record = {
        "Id": "bitbucket_main", "ResourceName": "bitbucket-main", "Description": "",
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "API_TOKEN",
                                                          "bitbucketCreds": "********",
                                                          "bitbucketEmail": "alice@acme.io"}]},
        "Tags": [], "ContextTags": {"sg-bitbucket-iac/workspace": "acme"},
        "CreatedAt": 1735689600000, "ModifiedAt": 1735689700000,
        "Authentication": {"authenticated": True, "authenticatedAt": 1735689700000},
    }
    observed = observed_from_record(record)
    assert observed.auth_type is AuthType.API_TOKEN
    assert observed.username is None and observed.email == "alice@acme.io" and observed.has_secret
    assert observed.workspace == "acme" and observed.authenticated is True
    assert observed.modified_at is not None and observed.modified_at.year == 2025
    # Echo mode shows the username; the secret part is never kept.
    record["Settings"]["config"][0]["bitbucketCreds"] = f"alice:{SENTINEL}"
    echoed = observed_from_record(record)
    assert echoed.username == "alice" and SENTINEL not in repr(echoed)
    # Omit mode: no secret key at all.
    del record["Settings"]["config"][0]["bitbucketCreds"]
    assert observed_from_record(record).has_secret is False


def test_auth_type_inferred_from_fields_when_absent() -> None:
    base = {"Id": "x", "ResourceName": "x", "Settings": {"kind": "BITBUCKET_ORG", "config": [{}]}}
    base["Settings"]["config"][0] = {"bitbucketAccessToken": "********"}
    assert observed_from_record(base).auth_type is AuthType.ACCESS_TOKEN
    base["Settings"]["config"][0] = {"bitbucketEmail": "a@b.io", "bitbucketCreds": "********"}
    assert observed_from_record(base).auth_type is AuthType.API_TOKEN
    base["Settings"]["config"][0] = {"bitbucketCreds": "********"}
    assert observed_from_record(base).auth_type is AuthType.APP_PASSWORD


def test_auth_models_are_exported_types() -> None:
    assert isinstance(parse_connector(api_token_connector()).auth, ApiTokenAuth)
    assert isinstance(parse_connector(with_auth(type="access_token", access_token=SENTINEL)).auth,
                      AccessTokenAuth)


# --------------------------------------------------------------------------- issue 11: odd records
def _record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {"Id": "odd", "ResourceName": "odd", "Settings": {"kind": "BITBUCKET_ORG", "config": [
        {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "********", "bitbucketEmail": "a@b.io"}]}}
    record.update(overrides)
    return record


@pytest.mark.parametrize(("overrides", "what"), [
    ({"Authentication": {"authenticatedAt": 1e20}}, "Authentication.authenticatedAt is 1e+20"),
    ({"Authentication": {"authenticatedAt": -1e18}}, "Authentication.authenticatedAt is -1e+18"),
    ({"Authentication": {"authenticatedAt": float("nan")}}, "Authentication.authenticatedAt is nan"),
    ({"ModifiedAt": "yesterday"}, "ModifiedAt is a string"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": {"bitbucketAuthType": "API_TOKEN"}}},
     "Settings.config is a mapping, not a list"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": ["x"]}}, "Settings.config[0] is a string, not a mapping"),
    ({"Settings": "BITBUCKET_ORG"}, "Settings is a string, not a mapping"),
    ({"Tags": "platform"}, "Tags is a string, not a list"),
    ({"Tags": [{"k": "v"}]}, "Tags[0] is a mapping, not a string"),
    ({"ContextTags": ["a"]}, "ContextTags is a list, not a mapping"),
    ({"Authentication": True}, "Authentication is a boolean, not a mapping"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketEmail": ["SECRET-ish"]}]}},
     "Settings.config[0].bitbucketEmail is a list, not a string"),
])
def test_odd_records_raise_one_typed_error_naming_the_connector_and_the_field(
    overrides: dict[str, object], what: str
) -> None:
    from sg_bitbucket_iac.errors import OddRecordError, SGBitbucketError

    with pytest.raises(OddRecordError) as caught:
        observed_from_record(_record(**overrides))
    assert isinstance(caught.value, SGBitbucketError)
    assert caught.value.connector_id == "odd" and what in str(caught.value)
    assert "SECRET-ish" not in str(caught.value)


def test_a_record_that_is_not_a_mapping_is_odd_too() -> None:
    from sg_bitbucket_iac.errors import OddRecordError

    with pytest.raises(OddRecordError, match="the record is a list"):
        observed_from_record(["x"])  # type: ignore[arg-type]
    assert observed_from_record(_record(Authentication={"authenticatedAt": 1_700_000_000_000})).authenticated_at


def test_any_record_parses_or_raises_the_typed_per_record_error() -> None:
    """Property: whatever JSON a server returns, parsing gives a connector or OddRecordError, nothing else."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sg_bitbucket_iac.errors import OddRecordError

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10)
    keys = st.sampled_from(["Id", "ResourceName", "Description", "Tags", "ContextTags", "Settings", "Authentication",
                            "CreatedAt", "ModifiedAt"])
    settings_blocks = st.fixed_dictionaries({}, optional={"kind": json_values, "config": json_values | st.lists(
        st.dictionaries(st.sampled_from(["bitbucketAuthType", "bitbucketCreds", "bitbucketEmail",
                                         "bitbucketAccessToken"]), json_values), max_size=2)})
    records = st.dictionaries(keys, json_values, max_size=9).flatmap(
        lambda r: st.just(r) | settings_blocks.map(lambda s: {**r, "Settings": s}))

    @settings(max_examples=150, deadline=None, database=None)
    @given(record=records | json_values)
    def parse(record: Any) -> None:
        try:
            observed = observed_from_record(record)
        except OddRecordError as error:
            assert error.problems and str(error)
            return
        assert isinstance(observed.id, str) and isinstance(observed.tags, tuple)

    parse()
