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
    assert check_tags((" a ", "b")) == ("a", "b")
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
