"""The error module: the class tree its docstring draws is the real one, and `.problems` has one type."""

from __future__ import annotations

import inspect
import re

import pytest

from sg_bitbucket_iac import errors
from sg_bitbucket_iac.errors import (
    ConnectorValidationError,
    DefinitionsError,
    OddRecordError,
    Problem,
    ProblemsError,
    SGBitbucketError,
)
from sg_bitbucket_iac.wire import observed_from_record

_DRAWN = re.compile(r"^    (?P<indent>(?:│   |    )*)(?:[├└]── )?(?P<name>[A-Z]\w+)")


def drawn_tree() -> dict[str, str | None]:
    """Each class the docstring draws, with the class it is drawn under."""
    tree = (errors.__doc__ or "").split("The class tree::", 1)[1].split("\n\n", 2)[1]
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in tree.splitlines():
        match = _DRAWN.match(line)
        assert match, f"not a line of the tree: {line!r}"
        depth = len(match["indent"]) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def test_the_docstring_draws_every_error_under_its_real_parent() -> None:
    real = {name: next((base.__name__ for base in cls.__bases__ if issubclass(base, SGBitbucketError)), None)
            for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, SGBitbucketError) and cls.__module__ == errors.__name__}
    assert drawn_tree() == real


@pytest.mark.parametrize("error_class", [ConnectorValidationError, ProblemsError, DefinitionsError])
def test_problems_are_problems_wherever_they_appear(error_class: type[SGBitbucketError]) -> None:
    problems = (problem for problem in [Problem("connectors[0].auth.email", "required; add it", "required")])
    error = error_class(problems)  # type: ignore[call-arg]
    assert error.problems == [Problem("connectors[0].auth.email", "required; add it", "required")]  # type: ignore[attr-defined]


def test_an_odd_record_lists_problems_too_and_reads_as_before() -> None:
    with pytest.raises(OddRecordError) as caught:
        observed_from_record({"Id": "odd", "Tags": "platform", "ContextTags": {"k\x1b": ["v"]}})
    assert all(isinstance(problem, Problem) for problem in caught.value.problems)
    assert caught.value.problems[0] == Problem("Tags", "is a string, not a list", "unreadable_record")
    assert caught.value.findings == ["Tags is a string, not a list", "ContextTags.k\\x1b is a list, not a string"]
    assert str(caught.value).startswith("connector odd: unreadable record: Tags is a string, not a list; ")
    with pytest.raises(OddRecordError) as not_a_mapping:
        observed_from_record(["x"])  # type: ignore[arg-type]
    assert not_a_mapping.value.findings == ["the record is a list, not a mapping"]
