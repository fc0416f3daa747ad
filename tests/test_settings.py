"""Settings: keys and credentials from config or environment are stripped; control characters refused."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.engine import Engine
from sg_bitbucket_iac.errors import ConfigurationError, UnsafeValueError
from sg_bitbucket_iac.secrets import Secret
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient

KEY = "sgo_SENTINEL_settings_key_0123456789"


@pytest.mark.parametrize("raw", [KEY + "\n", f"  {KEY}\r\n", f"\t{KEY} "])
def test_surrounding_whitespace_is_stripped_from_env_and_explicit_keys(raw: str) -> None:
    assert Settings.resolve(environ={"SG_API_TOKEN": raw}).api_key == Secret(KEY)
    assert Settings.resolve(api_key=raw, environ={}).api_key == Secret(KEY)
    assert Settings.resolve(api_key=Secret(raw), environ={}).api_key == Secret(KEY)
    assert Settings.resolve(environ={"SG_ORG": " acme\n"}).org == "acme"


def test_a_blank_first_variable_falls_through_to_the_next() -> None:
    settings = Settings.resolve(environ={"SG_API_TOKEN": " \n", "STACKGUARDIAN_API_KEY": KEY})
    assert settings.api_key == Secret(KEY)


@pytest.mark.parametrize("raw", [f"{KEY[:8]}\n{KEY[8:]}", KEY + "\x00", "\x1b[31m" + KEY, KEY + "\u200b"])
def test_control_characters_are_refused_naming_the_setting_never_the_value(raw: str) -> None:
    with pytest.raises(UnsafeValueError) as caught:
        Settings.resolve(environ={"STACKGUARDIAN_API_KEY": raw})
    text = str(caught.value)
    assert "STACKGUARDIAN_API_KEY contains control characters" in text
    assert "SENTINEL" not in text and KEY[:6] not in text
    with pytest.raises(UnsafeValueError):
        StackGuardianClient("http://127.0.0.1:1", raw, "acme")
    with pytest.raises(UnsafeValueError):
        Settings.resolve(environ={"SG_ORG": "ac\x1bme"})
    with pytest.raises(ConfigurationError):
        Settings.resolve(environ={"SG_BASE_URL": "http://127.0.0.1:1\x1b"})


def test_the_request_timeout_comes_from_the_explicit_value_else_the_environment() -> None:
    assert Settings.resolve(environ={}).request_timeout is None  # each client's own default
    assert Settings.resolve(environ={"SG_BITBUCKET_IAC_TIMEOUT": " 2.5 "}).request_timeout == 2.5
    assert Settings.resolve(request_timeout="7", environ={"SG_BITBUCKET_IAC_TIMEOUT": "2.5"}).request_timeout == 7.0


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "nan", "inf", "601"])
def test_a_request_timeout_that_is_not_a_sensible_number_of_seconds_is_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="SG_BITBUCKET_IAC_TIMEOUT") as caught:
        Settings.resolve(environ={"SG_BITBUCKET_IAC_TIMEOUT": raw})
    assert "seconds" in str(caught.value)


def test_both_clients_wait_as_long_as_the_timeout_says() -> None:
    settings = Settings.resolve(api_key="sgo_k", org="acme", request_timeout=3, environ={})
    assert StackGuardianClient.from_settings(settings).timeout == (3.0, 3.0)
    assert Engine(settings).client.timeout == (3.0, 3.0)  # the engine's own client, built from the settings
    assert StackGuardianClient.from_settings(Settings.resolve(api_key="sgo_k", org="a", environ={})).timeout == (
        5.0, 30.0)
