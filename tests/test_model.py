"""Connector model: validation messages, secret wrapping, and what each auth type is and does."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any

import pytest
from declarations import api_token_declaration, with_auth

from sg_bitbucket_iac.field_rules import derive_id
from sg_bitbucket_iac.model import (
    AUTH_CLASSES,
    AccessTokenAuth,
    ApiTokenAuth,
    AppPasswordAuth,
    AuthType,
    ConnectorValidationError,
    credentials_from,
    parse_connector,
)
from sg_bitbucket_iac.secrets import Secret, mask

SENTINEL = "SENTINEL-model-0123456789abcdef"


def api_token_connector(**overrides: Any) -> dict[str, Any]:
    return api_token_declaration(SENTINEL, **overrides)


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
    ("empty tag", api_token_connector(tags=["ok", " "]), "connectors[0].tags[1]", "cannot be empty"),
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


def test_auth_models_are_exported_types() -> None:
    assert isinstance(parse_connector(api_token_connector()).auth, ApiTokenAuth)
    assert isinstance(parse_connector(with_auth(type="access_token", access_token=SENTINEL)).auth,
                      AccessTokenAuth)


# --------------------------------------------------------------------------- each auth type is one object
def _auths() -> dict[AuthType, Any]:
    return {
        AuthType.API_TOKEN: ApiTokenAuth(username="alice", email="alice@acme.io", api_token=Secret(SENTINEL)),
        AuthType.ACCESS_TOKEN: AccessTokenAuth(access_token=Secret(SENTINEL), scope="repository", repository="infra"),
        AuthType.APP_PASSWORD: AppPasswordAuth(username="bob", app_password=Secret(SENTINEL)),
    }


def test_each_auth_type_says_what_bitbucket_and_stackguardian_get() -> None:
    import base64

    auths = _auths()
    basic = "Basic " + base64.b64encode(f"alice@acme.io:{SENTINEL}".encode()).decode()
    assert auths[AuthType.API_TOKEN].authorization_header() == basic  # the email, not the username, for REST
    assert auths[AuthType.ACCESS_TOKEN].authorization_header() == f"Bearer {SENTINEL}"
    assert auths[AuthType.APP_PASSWORD].authorization_header() == (
        "Basic " + base64.b64encode(f"bob:{SENTINEL}".encode()).decode())
    assert auths[AuthType.API_TOKEN].credential_parts() == ("alice", "alice@acme.io", SENTINEL)
    assert auths[AuthType.ACCESS_TOKEN].credential_parts() == (SENTINEL,)  # scope and repository are not stored
    assert auths[AuthType.APP_PASSWORD].credential_parts() == ("bob", SENTINEL)
    for auth_type, auth in auths.items():
        assert auth.auth_type is auth_type and type(auth) is auth_type.auth_class
        assert auth.secret.reveal() == SENTINEL and auth_type.secret_field == auth_type.value
        config = auth.wire_config()
        assert config["bitbucketAuthType"] == auth_type.wire
        assert set(config) - {"bitbucketAuthType"} == set(auth.wire_keys)
        assert auth.wire_secret_key in auth.wire_keys
        assert set(auth.stored_fields) <= set(auth.credential_fields)
        assert SENTINEL not in repr(config) and SENTINEL not in "".join(auth.identity())


def test_each_auth_type_names_its_preflight() -> None:
    from sg_bitbucket_iac.preflight.algorithms import ALGORITHMS

    for auth_class in AUTH_CLASSES:
        profile = auth_class.preflight
        assert profile.algorithm in ALGORITHMS
        assert "repository" in profile.probes
        for row in profile.rows.values():
            assert set(row) <= set(profile.labels)  # every required scope is named in the guide's words
    assert ApiTokenAuth.preflight.classic_scopes is False and AppPasswordAuth.preflight.classic_scopes is True
    assert _auths()[AuthType.API_TOKEN].account == "alice@acme.io"
    assert _auths()[AuthType.ACCESS_TOKEN].account == ""


def test_each_credential_has_its_row_of_the_guide_and_a_scope_has_one_label() -> None:
    tokens = [AccessTokenAuth(access_token=Secret(SENTINEL), scope="repository", repository="infra"),
              AccessTokenAuth(access_token=Secret(SENTINEL), scope="project", project="INF"),
              AccessTokenAuth(access_token=Secret(SENTINEL))]
    rows = {auth.guide_name: auth.required_scopes for auth in [*_auths().values(), *tokens]}
    assert set(rows) == {"API token", "repository access token", "project access token", "workspace access token",
                         "app password"}
    labels: dict[str, set[str]] = {}
    for auth_class in AUTH_CLASSES:
        for scope, label in auth_class.preflight.labels.items():
            labels.setdefault(scope, set()).add(label)
    assert {scope: found for scope, found in labels.items() if len(found) > 1} == {}


def test_messages_name_fields_in_the_asking_fronts_words() -> None:
    from sg_bitbucket_iac.wording import TERRAFORM_WORDING

    names = TERRAFORM_WORDING.field_names
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(with_auth(type="access_token", access_token=SENTINEL, scope="repository"), names=names)
    assert "access_token_scope 'repository' needs `repository`" in str(caught.value)
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(with_auth(type="access_token", access_token=SENTINEL, email="a@acme.io"), names=names)
    assert "takes access_token, access_token_scope, repository, project" in str(caught.value)
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(api_token_connector(id="has space"), names=names)
    assert "leave `connector_id` out" in str(caught.value)
    with pytest.raises(ConnectorValidationError) as caught:  # the YAML's own words by default
        parse_connector(with_auth(type="access_token", access_token=SENTINEL, scope="repository"))
    assert "scope 'repository' needs `repository`" in str(caught.value)


def test_credentials_from_loose_values_keeps_the_models_rules() -> None:
    auth = credentials_from("access_token", {"access_token": SENTINEL, "repository": "infra", "username": None})
    assert isinstance(auth, AccessTokenAuth) and auth.scope == "repository"
    with pytest.raises(ConnectorValidationError) as caught:
        credentials_from("access_token", {"access_token": SENTINEL, "email": "a@acme.io"})
    assert caught.value.problems[0].path == "auth.email" and "belongs to auth type api_token" in str(caught.value)
