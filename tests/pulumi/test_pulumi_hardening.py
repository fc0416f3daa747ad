"""Issue 11 through the Pulumi dynamic provider: key whitespace, odd records on read, faults on create."""

from __future__ import annotations

import pytest
from pulumi_helpers import API_KEY, ORG, api_props, configured, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError


def test_api_key_with_a_trailing_newline_works(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator, apiKey=API_KEY + "\n")
    result = provider.create(api_props(tokens["api"]))
    assert result.id == "bitbucket_main"


def test_api_key_with_control_characters_is_refused_without_the_value(emulator: Emulator,
                                                                      tokens: dict[str, str]) -> None:
    provider = configured(emulator, apiKey="sgo_\x00secretpart")
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    assert "stackguardian:apiKey contains control characters" in str(caught.value)  # where it came from
    assert "secretpart" not in str(caught.value) and "Invalid header" not in str(caught.value)


def test_read_of_an_odd_record_is_drift_that_the_next_update_repairs(emulator: Emulator, tokens: dict[str, str],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    provider = configured(emulator)
    props = api_props(tokens["api"])
    created = provider.create(props)
    record = raw_record(emulator)
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                   {"Settings": {"kind": "BITBUCKET_ORG", "config": [{**record["Settings"]["config"][0],
                                                                       "bitbucketEmail": 123}]}})
    capsys.readouterr()
    read = provider.read(created.id, created.outs or {})
    warned = capsys.readouterr().err
    assert "bitbucket_main" in warned and "Settings.config[0].bitbucketEmail is a number, not a string" in warned
    assert tokens["api"] not in warned
    outs = read.outs or {}
    assert read.id == "bitbucket_main" and outs["name"] == "bitbucket-main"
    assert outs["email"] == "alice@acme.io"  # what StackGuardian shows unreadably, the state keeps
    assert outs["credentials_fingerprint"] is None  # the next up re-sends the declared credential
    assert provider.diff("bitbucket_main", outs, props).changes
    provider.update("bitbucket_main", outs, props)
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketEmail"] == "alice@acme.io"  # repaired
    assert provider.read(created.id, created.outs or {}).outs is not None


def test_read_of_a_record_whose_kind_is_odd_says_what_is_wrong(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator)
    created = provider.create(api_props(tokens["api"]))
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                   {"Settings": {"kind": ["BITBUCKET_ORG"], "config": {"bitbucketAuthType": "API_TOKEN"}}})
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.read(created.id, created.outs or {})
    text = str(caught.value)
    assert "bitbucket_main" in text and "Settings.kind is a list, not a string" in text
    assert "unexpected" not in text and tokens["api"] not in text


def test_create_whose_answer_is_lost_after_store_converges(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator)
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": r"integrations/?$",
                                       "status": 429, "after": True, "times": 1, "headers": {"Retry-After": "0"}})
    result = provider.create(api_props(tokens["api"]))
    assert result.id == "bitbucket_main"
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert len(records) == 1


def test_a_token_with_a_trailing_newline_is_stripped(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator)
    props = api_props(tokens["api"] + "\n")
    assert provider.check({}, props).failures == []
    created = provider.create(props)
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"
    assert provider.diff(created.id, created.outs or {}, props).changes is False
