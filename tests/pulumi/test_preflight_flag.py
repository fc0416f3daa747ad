"""The per-resource ``preflight`` input, through the provider: the settings' words, or a CheckFailure.

A value the settings' parser does not know used to turn preflight off silently; now it is refused
at `preview` on the ``preflight`` property, and Create/Update refuse it too, before any request.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_helpers import api_props, stats

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

UNRECOGNISED: list[Any] = ["maybe", "flase", "disabled", 0.0, 1.0, ["false"]]


def requests_sent(emulator: Emulator) -> tuple[int, int]:
    counts = stats(emulator)
    return counts["stackguardian"]["total"], counts["bitbucket"]["total"]


@pytest.mark.parametrize("value", UNRECOGNISED)
def test_an_unrecognised_value_is_a_check_failure_naming_the_accepted_values(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str], value: Any
) -> None:
    emulator.admin("DELETE", "/stats")
    found = provider.check({}, api_props(tokens["weak"], preflight=value)).failures
    assert [f.property for f in found] == ["preflight"]
    assert found[0].reason == f"preflight={value if isinstance(value, str) else repr(value)!r} is not a boolean; " \
                              "use true or false"
    assert requests_sent(emulator) == (0, 0)  # neither a preflight nor a read


def test_it_is_reported_with_the_connector_problems_at_once(
    provider: BitbucketConnectorProvider, tokens: dict[str, str]
) -> None:
    found = provider.check({}, api_props(tokens["api"], email="no-at", preflight="nope")).failures
    assert sorted(f.property for f in found) == ["email", "preflight"]


def test_create_and_update_refuse_it_before_any_request(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    emulator.admin("DELETE", "/stats")
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"], preflight="maybe"))
    assert str(caught.value) == "create: preflight='maybe' is not a boolean; use true or false"
    assert requests_sent(emulator) == (0, 0)
    outs = provider.create(api_props(tokens["api"])).outs
    emulator.admin("DELETE", "/stats")
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.update("bitbucket_main", outs, api_props(tokens["api2"], preflight="off please"))
    assert str(caught.value) == "update: preflight='off please' is not a boolean; use true or false"
    assert requests_sent(emulator) == (0, 0)


@pytest.mark.parametrize("value", ["false", "OFF", "no", "0", False])
def test_the_settings_words_for_off_turn_it_off(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str], value: Any
) -> None:
    emulator.admin("DELETE", "/stats")
    assert provider.check({}, api_props(tokens["weak"], preflight=value)).failures == []
    assert requests_sent(emulator)[1] == 0


@pytest.mark.parametrize("value", ["true", "Yes", "on", "1", True, None])
def test_the_settings_words_for_on_keep_it_on(
    provider: BitbucketConnectorProvider, tokens: dict[str, str], value: Any
) -> None:
    found = provider.check({}, api_props(tokens["weak"], preflight=value)).failures
    assert [f.property for f in found] == ["api_token"]  # the weak token's missing scopes
