"""Settings: keys and credentials from config or environment are stripped; control characters refused."""

from __future__ import annotations

import pytest

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
