"""`sg-bitbucket schema`: the JSON Schema editors use, held to the loader (issue 22, part 7).

The property: what the schema refuses, the loader refuses. Documents are built from valid ones by
random edits (a value replaced by an odd one, a key dropped or added, anywhere in the tree), written
as YAML and loaded by the real loader; every one the schema refuses must be refused by the loader
too. The loader may refuse more (duplicates, references, dates), so the converse is not asserted,
but the examples' files and every valid document the strategy starts from pass both.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.cli.definitions import TOP_LEVEL_KEYS, load_definitions
from sg_bitbucket_iac.cli.definitions_schema import DESCRIPTIONS, SET_NAME_PATTERN, definitions_schema
from sg_bitbucket_iac.errors import DefinitionsError

REPOSITORY = Path(__file__).resolve().parents[2]
SCHEMA = definitions_schema()
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
ENVIRON = {"TOK": "a-real-looking-token-0123456789"}

VALID: list[dict[str, Any]] = [
    {"org": "acme", "prune": False, "connectors": [
        {"name": "bitbucket-main", "id": "bitbucket_main", "description": "Main", "tags": ["platform", "prod"],
         "workspace": "acme", "preflight": True, "adopt": False,
         "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": "${env:TOK}"}},
        {"name": "infra", "workspace": "acme",
         "auth": {"type": "access_token", "scope": "repository", "repository": "infra", "access_token": "${env:TOK}"}},
        {"name": "plat", "workspace": "acme",
         "auth": {"type": "access_token", "scope": "project", "project": "PLAT", "access_token": "${env:TOK}"}},
        {"name": "whole", "workspace": "acme", "auth": {"type": "access_token", "access_token": "plain-text-token"}},
        {"name": "legacy", "workspace": "acme",
         "auth": {"type": "app_password", "username": "bob", "app_password": "${env:TOK}"}},
    ]},
    {"connectors": []},
    {"org": None, "prune": None, "connectors": [{"name": " spaced ", "id": " spaced-id ", "workspace": " acme ",
                                                  "description": None, "tags": None,
                                                  "auth": {"type": "api_token", "username": " alice ",
                                                           "email": " alice@acme.io ", "api_token": " x "}}]},
]

ODD_STRINGS = ["", " ", "a", " a ", "a b", "a@b.c", "alice@acme", "x/y", "UPPER", "-x", "a:b", "acme", "infra",
               "PLAT", "alice", "alice@acme.io", "repository", "project", "workspace", "api_token", "access_token",
               "app_password", "default", "platform", "${env:TOK}", "${nope}", "****", "x" * 99, "x" * 100,
               "y" * 256, "\t", "\u00a0x\u2028", "\x1cid\x1f", "é", "1.5"]
ODD_VALUES: list[Any] = [*ODD_STRINGS, None, True, False, 0, 7, 1.5, [], ["a"], ["a", "a"], [""], ["a"] * 11, {},
                         {"a": 1}, [1]]
KEYS = ["name", "id", "description", "tags", "workspace", "auth", "preflight", "adopt", "type", "username", "email",
        "api_token", "access_token", "app_password", "scope", "repository", "project", "org", "prune", "set",
        "connectors", "emial", "extra"]


def odd_value() -> st.SearchStrategy[Any]:
    """A value to put somewhere; a fresh copy each time (a document's edits never reach ODD_VALUES)."""
    return st.one_of(st.sampled_from(ODD_VALUES).map(copy.deepcopy),
                     st.text(alphabet=st.sampled_from("aZ09_-.@:/ \t\n\u00a0\x1c"), max_size=12))


def containers(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every mapping and list in the document (where an edit can happen)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(document, dict):
        found.append(path)
        for key, value in document.items():
            found += containers(value, (*path, key))
    elif isinstance(document, list):
        found.append(path)
        for index, value in enumerate(document):
            found += containers(value, (*path, index))
    return found


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def edited_documents(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = containers(document)
        target = at(document, draw(st.sampled_from(paths)))
        action = draw(st.sampled_from(["set", "set", "drop", "add"]))
        if isinstance(target, dict):
            if action == "drop" and target:
                del target[draw(st.sampled_from(sorted(target)))]
            elif action == "add":
                target[draw(st.sampled_from(KEYS))] = draw(odd_value())
            elif target:
                target[draw(st.sampled_from(sorted(target)))] = draw(odd_value())
        elif isinstance(target, list):
            if action == "drop" and target:
                del target[draw(st.integers(min_value=0, max_value=len(target) - 1))]
            elif action == "add" or not target:
                target.append(draw(odd_value()))
            else:
                target[draw(st.integers(min_value=0, max_value=len(target) - 1))] = draw(odd_value())
    if draw(st.booleans()) and isinstance(document, dict):
        document = draw(st.sampled_from([None, [], "connectors", 1])) if draw(st.booleans()) else document
    return document


def loader_refuses(document: Any, tmp_path: Path) -> bool:
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        load_definitions(path, allow_plaintext_secrets=True, environ=ENVIRON)
    except DefinitionsError:
        return True
    return False


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=edited_documents())
def test_what_the_schema_refuses_the_loader_refuses(document: Any, tmp_path: Path) -> None:
    if not VALIDATOR.is_valid(document):
        errors = [e.message for e in VALIDATOR.iter_errors(document)]
        assert loader_refuses(document, tmp_path), f"the schema refuses ({errors}) what the loader accepts"


@pytest.mark.parametrize("document", VALID, ids=range(len(VALID)))
def test_valid_documents_pass_both(document: dict[str, Any], tmp_path: Path) -> None:
    VALIDATOR.validate(document)
    assert not loader_refuses(document, tmp_path)


def test_the_examples_follow_the_schema() -> None:
    example = yaml.safe_load((REPOSITORY / "examples" / "connectors.yaml").read_text())
    VALIDATOR.validate(example)
    first_line = (REPOSITORY / "examples" / "connectors.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./connectors.schema.json"
    committed = json.loads((REPOSITORY / "examples" / "connectors.schema.json").read_text())
    assert committed == SCHEMA, "examples/connectors.schema.json is stale: `sg-bitbucket schema > ...` again"


def test_every_key_the_loader_knows_is_described() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert list(SCHEMA["properties"]) == list(TOP_LEVEL_KEYS)
    connector = SCHEMA["properties"]["connectors"]["items"]
    described = {key for where, key in DESCRIPTIONS if where == "connector"}
    assert set(connector["properties"]) == described
    for part in connector["properties"]["auth"]["allOf"]:
        for key, rule in part["then"]["properties"].items():
            assert key == "type" or rule["description"], key


def test_the_set_rules_the_lead_fixed(tmp_path: Path) -> None:
    """`set:` and its prune rule, as the schema gives them once the loader knows the key."""
    with_sets = jsonschema.Draft7Validator(definitions_schema(with_sets=True))
    assert with_sets.schema["properties"]["set"]["pattern"] == SET_NAME_PATTERN == r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
    assert with_sets.schema["properties"]["set"]["default"] == "default"
    assert with_sets.is_valid({"set": "platform", "prune": True, "connectors": []})
    assert with_sets.is_valid({"set": "team.a-1_x", "connectors": []})
    assert with_sets.is_valid({"prune": False, "connectors": []})
    for refused in ({"prune": True, "connectors": []}, {"set": "default", "prune": True, "connectors": []},
                    {"set": "-x", "connectors": []}, {"set": "a" * 65, "connectors": []},
                    {"set": "a b", "connectors": []}, {"set": 1, "connectors": []}):
        assert not with_sets.is_valid(refused), refused


def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == SCHEMA
