"""The attribute mapping on its own: pure functions, no emulator."""

from __future__ import annotations

from typing import Any

import pytest
from tf.types import Unknown
from tf.utils import Diagnostics
from tf_helpers import access_token_config, api_token_config, config

from sg_bitbucket_iac.engine.precheck import APP_PASSWORD_DEPRECATED, check_policy
from sg_bitbucket_iac.flatstate import SECRET_KEYS, snapshot_of
from sg_bitbucket_iac.model import AuthType, parse_connector
from sg_bitbucket_iac.terraform import attributes as attrs
from sg_bitbucket_iac.wire import observed_from_record
from sg_bitbucket_iac.wording import TERRAFORM_WORDING

SENTINEL = "SENTINEL-attr-00112233445566778899"


@pytest.mark.parametrize(("problem_path", "expected"), [
    ("auth.email", ["email"]),
    ("auth.username", ["username"]),
    ("auth.access_token", ["access_token"]),
    ("auth.api_token", ["api_token"]),
    ("auth.app_password", ["app_password"]),
    ("auth.scope", ["access_token_scope"]),
    ("auth.repository", ["repository"]),
    ("auth.type", ["auth_type"]),
    ("auth", ["auth_type"]),
    ("id", ["connector_id"]),
    ("name", ["name"]),
    ("workspace", ["workspace"]),
    ("tags", ["tags"]),
    ("tags[1]", ["tags", (1,)]),
    ("", []),
])
def test_problem_paths_map_to_attributes(problem_path: str, expected: list[Any]) -> None:
    assert attrs.attribute_path(problem_path) == expected


def test_flat_attributes_become_the_nested_backend_input() -> None:
    data, unknown = attrs.connector_input(access_token_config(SENTINEL, access_token_scope="repository",
                                                              tags=["a"], connector_id="my_id"))
    assert unknown == set()
    assert data == {"name": "bitbucket-main", "id": "my_id", "tags": ["a"], "workspace": "acme",
                    "auth": {"type": "access_token", "access_token": SENTINEL, "scope": "repository",
                             "repository": "infra"}}


def test_unknown_values_are_left_out_and_named_and_unknown_secrets_get_a_placeholder() -> None:
    data, unknown = attrs.connector_input(api_token_config(Unknown, email=Unknown, tags=["x", Unknown]))
    assert unknown == {"api_token", "email", "tags"}
    assert "email" not in data["auth"] and "tags" not in data
    assert data["auth"]["api_token"] == attrs.UNKNOWN_SECRET_PLACEHOLDER


def _errors(values: dict[str, Any]) -> list[tuple[list[Any] | None, str, str]]:
    diags = Diagnostics()
    parsed = attrs.parse(values, diags)
    assert parsed.connector is None
    return [(d.path, d.summary, d.detail) for d in diags.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(("values", "path", "says"), [
    (api_token_config(SENTINEL, email=None), ["email"], "required for auth type api_token"),
    (api_token_config(SENTINEL, email="alice"), ["email"], "has no @"),
    (api_token_config(SENTINEL, username="alice@acme.io"), ["username"], "username, not an email"),
    (api_token_config(None), ["api_token"], "required for auth type api_token"),
    (api_token_config(SENTINEL, workspace="Not A Slug"), ["workspace"], "workspace slug"),
    (api_token_config(SENTINEL, connector_id="has space"), ["connector_id"], "letters, digits, '_' and '-'"),
    (api_token_config(SENTINEL, auth_type="oauth"), ["auth_type"], "unknown auth type"),
    (access_token_config(SENTINEL, access_token_scope="org"), ["access_token_scope"], "repository, project"),
    (access_token_config(SENTINEL, repository=None, access_token_scope="repository"), ["repository"],
     "needs `repository`"),
    (access_token_config(SENTINEL, username="alice"), ["username"], "belongs to auth type api_token"),
    (api_token_config(SENTINEL, access_token=SENTINEL), ["access_token"], "belongs to auth type access_token"),
    (api_token_config(SENTINEL, tags=["a", "a"]), ["tags"], "each tag may appear once"),
])
def test_validation_problems_land_on_the_attribute(values: dict[str, Any], path: list[Any], says: str) -> None:
    errors = _errors(values)
    assert [e[0] for e in errors] == [path], errors
    assert says in errors[0][2]
    assert SENTINEL not in repr(errors)


def test_messages_speak_terraform_attribute_names() -> None:
    errors = _errors(access_token_config(SENTINEL, email="alice@acme.io"))
    detail = errors[0][2]
    assert "access_token_scope" in detail and "auth." not in detail
    (_, _, detail), = _errors(api_token_config(SENTINEL, connector_id="has space"))
    assert "leave `connector_id` out" in detail
    (_, _, detail), = _errors(access_token_config(SENTINEL, repository=None, access_token_scope="repository"))
    assert "access_token_scope 'repository' needs `repository`" in detail


def test_secret_with_whitespace_is_reported_without_its_value() -> None:
    errors = _errors(api_token_config(SENTINEL + " \nsecond"))
    assert errors[0][0] == ["api_token"] and "whitespace" in errors[0][2]
    assert SENTINEL not in repr(errors)


def test_unknown_values_postpone_validation_without_errors() -> None:
    diags = Diagnostics()
    parsed = attrs.parse(api_token_config(Unknown, email=Unknown), diags)
    assert parsed == attrs.Parsed(None, False) and not diags.diagnostics
    # ...but what is known is still checked now.
    parsed = attrs.parse(api_token_config(Unknown, workspace="NOPE NOPE"), diags)
    assert [d.path for d in diags.diagnostics] == [["workspace"]]


def test_an_unknown_secret_alone_still_yields_a_connector_for_policy_checks_but_not_a_complete_one() -> None:
    diags = Diagnostics()
    parsed = attrs.parse(api_token_config(Unknown), diags)
    assert not diags.diagnostics and parsed.complete is False
    assert parsed.connector is not None and parsed.connector.auth_type is AuthType.API_TOKEN


def test_backend_warning_lands_on_its_attribute_in_terraform_words() -> None:
    from datetime import UTC, datetime

    app = parse_connector({"name": "legacy", "workspace": "acme",
                           "auth": {"type": "app_password", "username": "bob", "app_password": SENTINEL}})
    diags = Diagnostics()
    for warning in check_policy(app, at=datetime(2026, 1, 15, tzinfo=UTC), creating=False,
                                wording=TERRAFORM_WORDING).warnings:
        attrs.report_warning(diags, warning)
    (warning,) = diags.diagnostics
    assert warning.path == ["auth_type"] and warning.summary == "App passwords are deprecated"
    assert "auth_type = \"api_token\"" in warning.detail
    assert APP_PASSWORD_DEPRECATED == "app_password_deprecated"


def test_report_error_scrubs_secrets_even_from_unexpected_errors() -> None:
    diags = Diagnostics()
    attrs.report_error(diags, "boom", RuntimeError(f"value was {SENTINEL}"), [SENTINEL, None])
    assert SENTINEL not in str(diags) and "RuntimeError" in str(diags)


def _record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": "bitbucket_main", "ResourceName": "bitbucket-main", "Description": "", "Tags": [],
        "ContextTags": {"sg-bitbucket-iac/workspace": "acme"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [
            {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "********", "bitbucketEmail": "alice@acme.io"}]},
        "Authentication": {"authenticated": True, "authenticatedAt": 1},
        "CreatedAt": 1_700_000_000_000, "ModifiedAt": 1_700_000_123_456,
    }
    record.update(overrides)
    return record


def _applied(token: str = SENTINEL, **values: Any) -> dict[str, Any]:
    state = api_token_config(token, **values)
    state.update(id="bitbucket_main", connector_id="bitbucket_main", authenticated=True,
                 modified_at="2023-11-14T22:13:20.000Z", credentials_fingerprint="scrypt1:abc")
    return state


@pytest.mark.parametrize(("prior", "observed", "expected"), [
    (None, "", None), ("", "", ""), ("old", "", None), (None, "new", "new"),
])
def test_empty_description_from_the_api_equals_an_unset_one(prior: Any, observed: str, expected: Any) -> None:
    state = attrs.refreshed_state(_applied(description=prior), observed_from_record(_record(Description=observed)))
    assert state["description"] == expected


@pytest.mark.parametrize(("prior", "observed", "expected"), [
    (None, [], None), ([], [], []), (["a"], [], None), (None, ["b"], ["b"]),
])
def test_empty_tag_list_from_the_api_equals_an_unset_one(prior: Any, observed: list[str], expected: Any) -> None:
    state = attrs.refreshed_state(_applied(tags=prior), observed_from_record(_record(Tags=observed)))
    assert state["tags"] == expected


def test_refresh_keeps_secrets_and_invisible_fields_from_state() -> None:
    state = attrs.refreshed_state(_applied(), observed_from_record(_record()))
    assert state["api_token"] == SENTINEL and state["username"] == "alice"
    assert state["credentials_fingerprint"] == "scrypt1:abc"
    assert state["modified_at"] == "2023-11-14T22:15:23.456Z" and state["authenticated"] is True


def test_refresh_shows_an_auth_type_change_made_outside_as_every_credential_attribute_changing() -> None:
    record = _record(Settings={"kind": "BITBUCKET_ORG", "config": [
        {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "********"}]},
        ContextTags={"sg-bitbucket-iac/workspace": "acme", "sg-bitbucket-iac/access-token-scope": "workspace"})
    state = attrs.refreshed_state(_applied(), observed_from_record(record))
    assert state["auth_type"] == "access_token"
    assert state["api_token"] is None and state["username"] is None and state["email"] is None
    assert state["access_token"] is None  # unknown to us: the next plan sets it
    assert state["access_token_scope"] == "workspace"
    assert state["credentials_fingerprint"] is None


def test_import_state_has_no_secrets_and_reads_workspace_and_scope_from_context_tags() -> None:
    record = _record(Settings={"kind": "BITBUCKET_ORG", "config": [
        {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "********"}]},
        ContextTags={"sg-bitbucket-iac/workspace": "acme", "sg-bitbucket-iac/access-token-scope": "repository",
                     "sg-bitbucket-iac/repository": "infra"})
    state = attrs.imported_state(observed_from_record(record))
    assert state == {**config(), "id": "bitbucket_main", "connector_id": "bitbucket_main", "name": "bitbucket-main",
                     "workspace": "acme", "auth_type": "access_token", "access_token_scope": "repository",
                     "repository": "infra", "authenticated": True, "modified_at": "2023-11-14T22:15:23.456Z"}


def test_data_source_state_has_no_secret_attribute() -> None:
    state = attrs.data_source_state(observed_from_record(_record()))
    assert not set(SECRET_KEYS) & set(state) and "credentials_fingerprint" not in state
    assert state["email"] == "alice@acme.io" and state["auth_type"] == "api_token"


def test_snapshot_from_state_is_what_the_backend_needs_to_plan_an_update() -> None:
    snapshot = snapshot_of(_applied(description=None, tags=None), "acme")
    assert snapshot is not None
    assert (snapshot.connector_id, snapshot.org, snapshot.auth_type) == ("bitbucket_main", "acme", AuthType.API_TOKEN)
    assert (snapshot.username, snapshot.email, snapshot.fingerprint) == ("alice", "alice@acme.io", "scrypt1:abc")
    assert snapshot.description == "" and snapshot.tags == ()
    assert SENTINEL not in repr(snapshot)
