"""Names, descriptions and tags with control characters, and huge values, through the CLI's YAML.

Control characters (ESC, BEL, NUL, bidi overrides) are refused at validation with the field path and
are never written to StackGuardian; a 5 MB value is never echoed back, only its start and length.
"""

from __future__ import annotations

import textwrap

import pytest
from cli_helpers import InProcess

ENTRY = textwrap.dedent("""\
    connectors:
      - name: {name}
        description: {description}
        tags: {tags}
        workspace: acme
        auth: {{type: api_token, username: alice, email: {email}, api_token: "${{env:TOK_MAIN}}"}}
    """)
GOOD = {"name": "bitbucket-main", "description": "Main", "tags": "[platform]", "email": "alice@acme.io"}
# YAML's double-quoted escapes put each character into the value: \e ESC, \a BEL, \0 NUL, \u202E RLO.
CASES = {
    "ESC in the name": ({"name": '"bitbucket-main\\e[31m"'}, "connectors[0].name", "U+001B"),
    "RLO in the name": ({"name": '"main\\u202Eniam"'}, "connectors[0].name", "U+202E"),
    "BEL in the description": ({"description": '"ding\\a"'}, "connectors[0].description", "U+0007"),
    "LRI in the description": ({"description": '"a\\u2066b"'}, "connectors[0].description", "U+2066"),
    "NUL in a tag": ({"tags": '[platform, "nul\\0"]'}, "connectors[0].tags[1]", "U+0000"),
    "RLM in a tag": ({"tags": '["\\u200Fprod"]'}, "connectors[0].tags[0]", "U+200F"),
}


@pytest.mark.parametrize(("fields", "path", "names"), CASES.values(), ids=list(CASES))
def test_control_characters_are_refused_in_every_command_and_never_written(
    inproc: InProcess, fields: dict[str, str], path: str, names: str
) -> None:
    definitions = str(inproc.write("c.yaml", ENTRY.format(**{**GOOD, **fields})))
    for command in (["validate", "-f", definitions], ["plan", "-f", definitions],
                    ["apply", "-f", definitions, "--auto-approve"]):
        result = inproc.cli(*command)
        assert result.code == 1, result.output
        assert f"{path}: " in result.stderr and f"control characters ({names})" in result.stderr, result.stderr
        assert not any(ch in result.output for ch in "\x1b\x07\x00\u202e\u2066\u200f")
    assert inproc.sg_writes() == 0
    as_json = inproc.cli("validate", "-f", definitions, "--json").json()
    assert [e["path"] for e in as_json["errors"]] == [path]


def test_a_multiline_description_with_tabs_is_still_fine(inproc: InProcess) -> None:
    text = ENTRY.format(**{**GOOD, "description": '"first line\\n\\tsecond line"'})
    assert inproc.cli("apply", "-f", str(inproc.write("c.yaml", text)), "--auto-approve").code == 0


def test_a_5_mb_value_is_shown_by_its_start_and_length(inproc: InProcess) -> None:
    huge = "x" * 5_000_000
    definitions = str(inproc.write("c.yaml", ENTRY.format(**{**GOOD, "email": huge})))
    result = inproc.cli("validate", "-f", definitions)
    assert result.code == 1 and "connectors[0].auth.email" in result.stderr
    assert "… (5000000 characters) has no @" in result.stderr and len(result.output) < 2000, len(result.output)
    as_json = inproc.cli("plan", "-f", definitions, "--json")
    assert as_json.code == 1 and len(as_json.stdout) < 2000
    assert inproc.sg_writes() == 0
