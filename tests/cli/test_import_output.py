"""`sg-bitbucket import` output (cli/commands/import_connector.py) declares exactly the connector it shows.

Names, descriptions and tags set in the StackGuardian UI can hold line breaks, YAML syntax and terminal
escapes. Each test loads what was printed back with the same YAML loader the definitions use: one
connector, with values equal to the record's, and nothing else declared.
"""

from __future__ import annotations

from typing import Any

import yaml
from cli_helpers import InProcess
from hypothesis import given, settings
from hypothesis import strategies as st

from sg_bitbucket_iac.cli.commands.import_connector import as_list_item, yaml_text

ORG = "acme"
INJECTION = "x\n  - name: evil\n    workspace: acme\n    auth: {type: access_token, access_token: t}"
HOSTILE: list[dict[str, Any]] = [
    {"Id": "injected", "ResourceName": "a\n  - name: evil\n    workspace: acme", "Description": INJECTION,
     "Tags": ["- x", "y: z", "&anchor", "*alias", "!!python/object:os.system", "{a: b}", "[c]", "'q'", '"d"', "%TAG"]},
    {"Id": "lookalikes", "ResourceName": "plain: no", "Description": "# not a comment\r\n--- \n...",
     "Tags": ["`e`", "#f", "0o17", "1e3", "0x1F", "null", "~", " padded ", "y", "yes"]},
    {"Id": "escapes", "ResourceName": "red\x1b[31m\u202eevil\x07", "Description": "tab\there \u2028 nel\x85 bom\ufeff",
     "Tags": ["\x00nul", "\u2066isolate\u2069", "émoji 👩\u200d💻", "\\backslash", "a  b"]},
]


def seed_hostile(inproc: InProcess) -> None:
    inproc.emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [
        {**record, "ContextTags": {}, "Settings": {"kind": "BITBUCKET_ORG", "config": [
            {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "t" * 20}]}} for record in HOSTILE]})


def declared(entry: dict[str, Any], record: dict[str, Any]) -> None:
    assert entry["id"] == record["Id"] and entry["name"] == record["ResourceName"]
    assert entry["description"] == record["Description"] and entry["tags"] == record["Tags"]


def test_import_to_yaml_loads_back_to_one_connector_with_equal_values(inproc: InProcess) -> None:
    seed_hostile(inproc)
    for record in HOSTILE:
        result = inproc.cli("import", record["Id"], "--to-yaml")
        assert result.code == 0, result.output
        document = yaml.safe_load(result.stdout)
        assert set(document) == {"org", "connectors"} and document["org"] == ORG
        [entry] = document["connectors"]
        declared(entry, record)
        assert result.stdout.replace("\n", "").isprintable(), result.stdout  # no raw control character at all


def test_import_pasted_under_connectors_declares_that_one_connector(inproc: InProcess) -> None:
    seed_hostile(inproc)
    for record in HOSTILE:
        result = inproc.cli("import", record["Id"])
        assert result.code == 0, result.output
        comments = [line for line in result.stdout.splitlines() if not line.startswith("  ")]
        assert all(line.startswith("# ") for line in comments), comments  # every other line is a comment
        pasted = yaml.safe_load("org: acme\nconnectors:\n" + result.stdout)
        [entry] = pasted["connectors"]
        declared(entry, record)
    escapes = inproc.cli("import", "escapes")
    assert "# Connector escapes (red\\x1b[31m\\u202eevil\\x07) in org acme" in escapes.stdout
    assert "the name holds control characters (U+0007, U+001B, U+202E), which definitions refuse" in escapes.stdout


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12), min_size=1, max_size=4))
def test_any_text_round_trips_through_the_emitter(values: list[str]) -> None:
    entry = {"name": values[0], "description": values[-1], "tags": values, "auth": {"type": "api_token"}}
    text = yaml_text({"org": "acme", "connectors": [entry]})
    assert yaml.safe_load(text) == {"org": "acme", "connectors": [entry]}
    assert text.replace("\n", "").isprintable()
    assert yaml.safe_load("connectors:\n" + as_list_item(entry)) == {"connectors": [entry]}
