"""Property-based: any definitions file gives either valid connectors or clear problems with a path.

Never a traceback (only DefinitionsError escapes), never a request (the transport is disabled while
the loader runs), never a secret in a problem text. Hypothesis writes its examples nowhere
(``database=None``) so the suite leaves no files behind.
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sg_bitbucket_iac.cli.definitions import DefinitionsError, load_definitions

SENTINEL = "SENTINEL-property-7c1e"
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

KNOWN_KEYS = ["name", "id", "description", "tags", "workspace", "auth", "preflight", "adopt", "emial", "nmae"]
AUTH_KEYS = ["type", "username", "email", "api_token", "access_token", "app_password", "scope", "repository",
             "project", "emial", "api_token:x", "tokn"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["acme", "alice", "alice@acme.io", "api_token",
                                                           "access_token", "app_password", "repository", "infra",
                                                           "Main", "bitbucket-main", "${env:TOKEN}",
                                                           "${file:token.txt}", "${file:/etc/passwd}",
                                                           "${env:MISSING}", "${nope:x}", "****"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(string.ascii_letters + ":_ ", max_size=8), inner, max_size=4), max_leaves=8)
secrets = st.sampled_from([SENTINEL + "-token-0123456789", SENTINEL + "-other-9876543210", ""]) | st.text(max_size=5)


@st.composite
def auth_blocks(draw: st.DrawFn) -> Any:
    keys = draw(st.lists(st.sampled_from(AUTH_KEYS), unique=True, max_size=6))
    block: dict[str, Any] = {}
    for key in keys:
        secret_key = key in ("api_token", "access_token", "app_password")
        block[key] = draw(secrets) if secret_key else draw(values)
    if draw(st.booleans()):
        block["type"] = draw(st.sampled_from(["api_token", "access_token", "app_password", "api-token", None]))
    return block if draw(st.integers(0, 9)) else draw(values)


@st.composite
def connectors(draw: st.DrawFn) -> Any:
    keys = draw(st.lists(st.sampled_from(KNOWN_KEYS), unique=True, max_size=7))
    entry: dict[str, Any] = {key: draw(auth_blocks()) if key == "auth" else draw(values) for key in keys}
    return entry if draw(st.integers(0, 9)) else draw(values)


documents = st.fixed_dictionaries(
    {"connectors": st.lists(connectors(), max_size=4)},
    optional={"org": values, "prune": values, "extra": values},
) | values


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the definitions loader made a request")

    monkeypatch.setattr(requests.Session, "send", refuse)
    yield


def check(path: Path, allow_plaintext: bool) -> None:
    try:
        definitions = load_definitions(path, allow_plaintext_secrets=allow_plaintext,
                                       environ={"TOKEN": SENTINEL + "-from-env-0123"})
    except DefinitionsError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message and (problem.path or "the file" in problem.message), problem
            assert SENTINEL not in str(problem), problem
        return
    for declared in definitions.connectors:
        assert declared.path.startswith("connectors[")
        assert declared.connector.connector_id


@PROPERTY_SETTINGS
@given(document=documents, allow_plaintext=st.booleans())
def test_any_document_is_valid_or_a_clear_error(no_requests: None, document: Any, allow_plaintext: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "token.txt").write_text(SENTINEL + "-from-file-0123\n")
        path = Path(folder) / "connectors.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        check(path, allow_plaintext)


@PROPERTY_SETTINGS
@given(text=st.lists(st.sampled_from([*"{}[]:,-&*!|>'\"#% \n\tab01", "connectors:", "  - name: x\n", "*a", "&a ",
                                      "<<: ", "auth:", "api_token: ", "${env:TOKEN}", "\x1b", "\u202e"]),
                     max_size=60).map("".join))
def test_any_text_is_valid_or_a_clear_error(no_requests: None, text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "connectors.yaml"
        path.write_text(text, encoding="utf-8")
        check(path, True)
