"""The native provider's door into the backend, called directly (no gRPC): what only it decides."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.native.backend import UNKNOWN, Backend, is_unknown


def configured(emulator: Emulator, **config: object) -> Backend:
    backend = Backend(lambda text: None)
    backend.configure({"apiKey": "sgo_test_key", "apiUrl": emulator.stackguardian_url, "org": "acme",
                       "bitbucketApiUrl": emulator.bitbucket_url, **config})
    return backend


def test_missing_settings_say_the_pulumi_way_to_set_them(emulator: Emulator) -> None:
    no_key = Backend(lambda text: None)
    no_key.configure({"org": "acme", "apiUrl": emulator.stackguardian_url})
    with pytest.raises(BitbucketConnectorError, match="pulumi config set --secret sgbitbucket:apiKey"):
        no_key.engine()
    no_org = Backend(lambda text: None)
    no_org.configure({"apiKey": "k", "apiUrl": emulator.stackguardian_url})
    with pytest.raises(BitbucketConnectorError, match="pulumi config set sgbitbucket:org"):
        no_org.org()


def test_state_without_a_snapshot_writes_everything_again(emulator: Emulator, tokens: dict[str, str]) -> None:
    news = {"name": "n", "workspace": "acme", "auth_type": "api_token", "username": "alice",
            "email": "alice@acme.io", "api_token": tokens["api"]}
    difference = configured(emulator).diff("n", {"name": "n"}, news)
    assert difference.changes and "api_token" in difference.changed


def test_unknowns_anywhere_in_a_value() -> None:
    assert is_unknown([1, {"a": UNKNOWN}]) and not is_unknown(["a", {"b": None}])


def test_lookup_needs_exactly_one_key(emulator: Emulator) -> None:
    found, failures = configured(emulator).lookup("a", "b")
    assert found == {} and "got connectorId and name" in failures[0].reason


def test_warnings_reach_the_sink_once_per_text(emulator: Emulator, tokens: dict[str, str]) -> None:
    said: list[str] = []
    backend = Backend(said.append)
    backend.configure({"apiKey": "sgo_test_key", "apiUrl": emulator.stackguardian_url, "org": "acme",
                       "bitbucketApiUrl": emulator.bitbucket_url})
    backend._say("c1", ["same \x1b[31mnote", "same \x1b[31mnote"])
    assert said == ["c1: same \\x1b[31mnote"]
