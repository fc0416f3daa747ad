"""The Pulumi property keys on their own: which are secret, and how the ``preflight`` and ``adopt`` inputs are read."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown

from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.pulumi.lifecycle import flag
from sg_bitbucket_iac.pulumi.properties import (
    ADDITIONAL_SECRET_OUTPUTS,
    COMPUTED_KEYS,
    DIRECTIVE_KEYS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    SECRET_KEYS,
    UNKNOWN_WIRE,
)
from sg_bitbucket_iac.pulumi.provider import _values
from sg_bitbucket_iac.settings import Settings


def test_every_secret_is_an_input_and_an_output_under_its_own_key() -> None:
    assert set(SECRET_KEYS) <= set(INPUT_KEYS) - set(DIRECTIVE_KEYS)
    assert set(SECRET_KEYS) <= set(OUTPUT_KEYS)
    # What is derived from a secret is secret by name: it has no input key for the engine to match.
    assert set(ADDITIONAL_SECRET_OUTPUTS) <= set(COMPUTED_KEYS) - set(INPUT_KEYS)


@pytest.mark.parametrize("value", [None, "", Unknown(), UNKNOWN_WIRE])
def test_an_unset_or_unknown_preflight_defers_to_the_provider(value: Any) -> None:
    """The dynamic resource's unknowns (the SDK's) become the lifecycle's on the way in."""
    assert flag(_values({"preflight": value})["preflight"], "preflight") is None


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("true", True), (" Yes ", True), ("on", True), ("1", True),
    ("FALSE", False), ("no", False), ("off", False), ("0", False),
])
def test_the_words_of_the_preflight_setting_are_accepted(value: Any, expected: bool) -> None:
    assert flag(value, "preflight") is expected
    assert flag(value, "adopt") is expected


@pytest.mark.parametrize("value", ["maybe", "ture", "disabled", " ", 1.0, 0.0, ["true"], {"on": True}])
def test_anything_else_is_an_error_naming_the_accepted_values(value: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        flag(value, "preflight")
    assert str(caught.value).startswith("preflight=") and str(caught.value).endswith("use true or false")


@settings(deadline=None, database=None)  # no example database left behind
@given(st.one_of(st.text(max_size=8), st.sampled_from(["true", "False", " on ", "OFF", "1", "0", "yes", "n"])))
def test_the_input_reads_a_string_exactly_as_the_stack_setting_does(text: str) -> None:
    try:
        expected: bool | type[ConfigurationError] | None = Settings.resolve(preflight=text, environ={}).preflight
    except ConfigurationError:
        expected = ConfigurationError
    if text == "":
        expected = None  # an empty input is an unset one: the provider's setting decides
    try:
        found: bool | type[ConfigurationError] | None = flag(text, "preflight")
    except ConfigurationError:
        found = ConfigurationError
    assert found == expected
