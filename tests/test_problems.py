"""Pydantic errors as Problems (problems.py): paths, keys that may carry a value, front words."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from sg_bitbucket_iac.problems import (
    Shape,
    did_you_mean,
    display_key,
    join_path,
    problems_from_validation_error,
    unknown_key_message,
)

SENTINEL = "SENTINEL-problems-0123456789"


class _Token(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = "token"
    secret: str
    scope: str


class _Other(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = "other"
    user: str


SHAPE = Shape(top_fields=("name", "auth"), auth_models={"token": _Token, "other": _Other}, rule_fields={})


def _errors(data: dict[str, object], model: type[BaseModel] = _Token) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return caught.value


def test_paths_count_list_items_from_zero_and_cut_keys_that_may_hold_a_value() -> None:
    assert join_path("connectors[0]", ["auth", "email"]) == "connectors[0].auth.email"
    assert join_path("", ["tags", 1]) == "tags[1]"
    assert display_key(f"api_token:{SENTINEL}") == "api_token…"
    assert display_key("x" * 40) == "x" * 32 + "…" and display_key("") == '""'
    message = unknown_key_message(f"api_token:{SENTINEL}", ["api_token"])
    assert SENTINEL not in message and "did you mean `api_token`" in message and "YAML needs `key: value`" in message
    assert did_you_mean("emial", ["email", "name"]) == "; did you mean `email`?" and did_you_mean("zz", ["a"]) == ""


def test_a_field_of_another_auth_type_is_named_in_the_fronts_words() -> None:
    error = _errors({"secret": "s", "scope": "repo", "user": "alice"})
    located = problems_from_validation_error(error, SHAPE, "connectors[2]", inside=("auth", "token"))
    (problem,) = located
    assert problem.path == "connectors[2].auth.user" and problem.rule == "unknown_key"
    assert "belongs to auth type other, not token" in problem.message
    (renamed,) = problems_from_validation_error(error, SHAPE, "", {"scope": "token_scope"}, inside=("auth", "token"))
    assert "takes secret, token_scope" in renamed.message


def test_a_missing_field_says_what_its_auth_type_needs() -> None:
    (problem,) = problems_from_validation_error(_errors({"secret": "s"}), SHAPE, inside=("auth", "token"))
    assert problem.path == "auth.scope" and "required for auth type token (it needs secret, scope)" in problem.message
