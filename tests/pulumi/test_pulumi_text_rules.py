"""Names, descriptions and tags with control characters, and huge values, through the Pulumi provider.

Refused by `check` as a failure on the property (never the value), and never written.
"""

from __future__ import annotations

import pytest
from pulumi_helpers import api_props, stats

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

CASES = {
    "ESC in the name": ({"name": "bitbucket-main\x1b[31m"}, "name", "U+001B"),
    "RLE in the name": ({"name": "main\u202bniam"}, "name", "U+202B"),
    "BEL in the description": ({"description": "ding\x07"}, "description", "U+0007"),
    "FSI in the description": ({"description": "a\u2068b"}, "description", "U+2068"),
    "NUL in a tag": ({"tags": ["platform", "nul\x00"]}, "tags", "U+0000"),
    "RLM in a tag": ({"tags": ["\u200fprod"]}, "tags", "U+200F"),
}


def writes(emulator: Emulator) -> int:
    by_method = stats(emulator)["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


@pytest.mark.parametrize(("values", "key", "names"), CASES.values(), ids=list(CASES))
def test_control_characters_fail_check_on_the_property_and_are_never_written(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str], values: dict[str, object],
    key: str, names: str,
) -> None:
    props = api_props(tokens["api"], **values)
    failures = provider.check({}, props).failures
    assert [f.property for f in failures] == [key]
    assert f"control characters ({names})" in failures[0].reason
    assert not any(ch in failures[0].reason for ch in "\x1b\x07\x00\u202b\u2068\u200f")
    with pytest.raises(BitbucketConnectorError, match="control characters"):
        provider.create(props)  # the engine always checks first; create refuses on its own all the same
    assert writes(emulator) == 0


def test_a_5_mb_value_is_shown_by_its_start_and_length(provider: BitbucketConnectorProvider, emulator: Emulator,
                                                       tokens: dict[str, str]) -> None:
    failures = provider.check({}, api_props(tokens["api"], email="x" * 5_000_000)).failures
    assert [f.property for f in failures] == ["email"]
    assert "(5000000 characters)" in failures[0].reason and len(failures[0].reason) < 1000
    assert tokens["api"] not in failures[0].reason and writes(emulator) == 0
