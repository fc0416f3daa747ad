"""Property-based: any Pulumi or Terraform input maps to a valid connector or clear problems with a path.

The fronts' flat inputs (Pulumi properties, Terraform attributes) go through the same backend
mapping; whatever a user writes, the answer is a Connector or ConnectorValidationError whose
problems each name a field, never another exception, never a request, never a secret in the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sg_bitbucket_iac.model import ConnectorValidationError, parse_connector

SENTINEL = "SENTINEL-front-properties-51d0"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])

FLAT_KEYS = ["name", "connector_id", "description", "tags", "workspace", "auth_type", "username", "email",
             "api_token", "access_token", "access_token_scope", "repository", "project", "app_password"]
SECRET_KEYS = {"api_token", "access_token", "app_password"}
plain = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.text(max_size=30),
                  st.sampled_from(["api_token", "access_token", "app_password", "repository", "project", "workspace",
                                   "acme", "alice", "alice@acme.io", "infra", "PLAT", "bitbucket-main", "****"]),
                  st.lists(st.text(max_size=8), max_size=12), st.dictionaries(st.text(max_size=4), st.text(max_size=4),
                                                                              max_size=2))
secret = st.sampled_from([SENTINEL + "-a-0123456789abcdef", SENTINEL + " with space", SENTINEL + "\x00nul", ""])


@st.composite
def flat_inputs(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(FLAT_KEYS), unique=True, max_size=len(FLAT_KEYS)))
    return {key: draw(secret) if key in SECRET_KEYS else draw(plain) for key in keys}


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("input mapping made a request")

    monkeypatch.setattr(requests.Session, "send", refuse)
    yield


@PROPERTY_SETTINGS
@given(props=flat_inputs())
def test_pulumi_properties_map_to_a_connector_or_problems_on_properties(no_requests: None,
                                                                        props: dict[str, Any]) -> None:
    from sg_bitbucket_iac.pulumi.provider import connector_data, property_of

    try:
        parse_connector(connector_data(props))
    except ConnectorValidationError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path and property_of(problem.path), problem
            assert SENTINEL not in str(problem), problem


# Terraform hands the provider values of the schema's types (strings, a set of strings, booleans).
typed_text = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
    ["api_token", "access_token", "app_password", "repository", "project", "workspace", "acme", "alice",
     "alice@acme.io", "infra", "PLAT", "bitbucket-main", "****"]))


@st.composite
def terraform_attributes(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(FLAT_KEYS), unique=True, max_size=len(FLAT_KEYS)))
    values: dict[str, Any] = {}
    for key in keys:
        if key in SECRET_KEYS:
            values[key] = draw(secret)
        elif key == "tags":
            values[key] = draw(st.none() | st.lists(st.text(max_size=8), max_size=12))
        else:
            values[key] = draw(typed_text)
    return values


@PROPERTY_SETTINGS
@given(values=terraform_attributes())
def test_terraform_attributes_map_to_a_connector_or_diagnostics_on_attributes(no_requests: None,
                                                                              values: dict[str, Any]) -> None:
    from tf.utils import Diagnostics

    from sg_bitbucket_iac.terraform.attributes import parse

    diags = Diagnostics()
    parsed = parse(values, diags)
    if parsed.connector is None and diags.has_errors():
        for diagnostic in diags.diagnostics:
            assert SENTINEL not in f"{diagnostic.summary} {diagnostic.detail}"
