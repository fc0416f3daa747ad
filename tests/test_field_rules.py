"""Single declared values (field_rules.py): each check's rule, exercised through the model that applies it."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.errors import ConnectorValidationError
from sg_bitbucket_iac.field_rules import MAX_DESCRIPTION, MAX_NAME, MAX_TAGS, check_secret, check_tags
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.secrets import Secret

SENTINEL = "SENTINEL-rules-0123456789abcdef"


def test_a_secret_loses_surrounding_whitespace_and_nothing_else() -> None:
    assert check_secret(Secret(f"  {SENTINEL}\n"), "token").reveal() == SENTINEL
    for bad, rule in ((f"{SENTINEL} two", "whitespace"), ("********", "mask"), (f"a\x1bb{SENTINEL}", "control")):
        with pytest.raises(ValueError, match=rule) as caught:
            check_secret(Secret(bad), "token")
        assert SENTINEL not in str(caught.value)


def test_tags_are_trimmed_and_checked_as_a_set() -> None:
    data = {"name": "n", "workspace": "acme", "auth": {"type": "access_token", "access_token": SENTINEL}}
    assert parse_connector({**data, "tags": [" a ", "b"]}).tags == ("a", "b")
    with pytest.raises(ConnectorValidationError, match="once"):
        parse_connector({**data, "tags": ["a", " a"]})
    with pytest.raises(ValueError, match="once"):
        check_tags(("a", "a"))


@pytest.mark.parametrize(("field", "value", "says"), [
    ("name", "n" * (MAX_NAME + 1), f"at most {MAX_NAME}"),
    ("description", "d" * (MAX_DESCRIPTION + 1), "under 256"),
    ("tags", [f"t{i}" for i in range(MAX_TAGS + 1)], f"at most {MAX_TAGS}"),
    ("workspace", "Acme Corp", "bitbucket.org/<slug>"),
])
def test_the_limits_stackguardian_and_bitbucket_set(field: str, value: object, says: str) -> None:
    data = {"name": "n", "workspace": "acme", "auth": {"type": "access_token", "access_token": SENTINEL}, field: value}
    with pytest.raises(ConnectorValidationError, match=says):
        parse_connector(data)


# The characters issue 21 names: ESC, BEL, NUL, the bidi embeddings/overrides/isolates and marks.
REFUSED = ["\x1b", "\x07", "\x00", "\x7f", "\x9b", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
           "\u200e", "\u200f", "\u061c", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
@pytest.mark.parametrize(("field", "path"), [("name", "name"), ("description", "description"), ("tags", "tags[1]")])
def test_control_and_bidi_characters_are_refused_naming_them_not_the_value(char: str, field: str, path: str) -> None:
    value = f"{SENTINEL}{char}tail"
    data = {"name": "n", "workspace": "acme", "auth": {"type": "access_token", "access_token": "t" * 20},
            field: ["ok", value] if field == "tags" else value}
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(data)
    [problem] = caught.value.problems
    assert problem.path == path and problem.rule == "control_characters"
    assert f"U+{ord(char):04X}" in problem.message and SENTINEL not in problem.message and char not in str(problem)


def test_a_description_may_span_lines_and_hold_tabs_and_emoji_joiners() -> None:
    data = {"name": "n", "workspace": "acme", "auth": {"type": "access_token", "access_token": "t" * 20}}
    text = "first line\n\tsecond line 👩\u200d💻 \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert parse_connector({**data, "description": text}).description == text
    for field, value in (("name", "a\nb"), ("name", "a\tb"), ("tags", ["a\u200db"]), ("description", "a\rb"),
                         ("description", "zero\u200bwidth"), ("description", "\ufeffbom")):
        with pytest.raises(ConnectorValidationError, match="control characters"):
            parse_connector({**data, field: value})


@pytest.mark.parametrize(("field", "value"), [
    ("auth.email", "x" * 5_000_000),
    ("auth.type", "y" * 5_000_000),
    ("workspace", "Z" * 5_000_000),
])
def test_a_huge_value_is_shown_by_its_start_and_length(field: str, value: str) -> None:
    data: dict[str, object] = {"name": "n", "workspace": "acme",
                               "auth": {"type": "api_token", "username": "u", "email": "a@b.io", "api_token": "t" * 20}}
    if field.startswith("auth."):
        data["auth"] = {**data["auth"], field.removeprefix("auth."): value}  # type: ignore[dict-item]
    else:
        data[field] = value
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector(data)
    [problem] = caught.value.problems
    assert "(5000000 characters)" in problem.message and len(problem.message) < 400, problem.message[:500]
