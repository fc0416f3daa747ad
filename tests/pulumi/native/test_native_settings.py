"""The native provider's settings (issue 22, part 5): a hint about a bad key or URL names where the value came
from, in the native provider's words (`sgbitbucket:apiKey`, `sgbitbucket:apiUrl`) or the environment variable."""

from __future__ import annotations

import grpc
import pytest
from native_driver import Driver, running

from sg_bitbucket_iac.emulator import Emulator


def api(token: str) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "api_token", "username": "alice",
            "email": "alice@acme.io", "apiToken": token}


def error_of(driver: Driver, token: str) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        driver.create(api(token))
    return str(caught.value.details())


def test_a_rejected_api_key_names_the_setting_it_came_from(emulator: Emulator, tokens: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with running() as driver:
        driver.configure(emulator, apiKey="sgo_wrong_key")
        said = error_of(driver, tokens["api"])
        assert "401" in said and "sgbitbucket:apiKey" in said and "sgo_wrong_key" not in said, said
        assert "stackguardian:" not in said  # the dynamic resource's names are not this provider's
    monkeypatch.setenv("SG_API_TOKEN", "sgo_wrong_key")
    with running() as driver:
        driver.configure(emulator, apiKey=None)  # the key from the environment instead
        said = error_of(driver, tokens["api"])
        assert "SG_API_TOKEN" in said and "sgbitbucket:apiKey" not in said, said


def test_missing_settings_say_how_to_set_them_in_pulumi(emulator: Emulator, tokens: dict[str, str]) -> None:
    with running() as driver:
        driver.configure(emulator, org=None)
        with pytest.raises(grpc.RpcError) as caught:
            driver.check(api(tokens["api"]))
    said = str(caught.value.details())
    assert said.startswith("no StackGuardian org: set it with `pulumi config set sgbitbucket:org ORG`"), said
