"""Helpers shared by the Pulumi front's tests (a uniquely named module: tests run in prepend import mode)."""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

ORG = "acme"
API_KEY = "sgo_test_key"


def stack_config(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    """The `stackguardian:*` stack config a Pulumi program would carry for the emulator."""
    config = {
        "stackguardian:apiKey": API_KEY,
        "stackguardian:apiUrl": emulator.stackguardian_url,
        "stackguardian:org": ORG,
        "stackguardian:bitbucketApiUrl": emulator.bitbucket_url,
    }
    config.update({f"stackguardian:{k}": v for k, v in extra.items()})
    return config


def configured(emulator: Emulator, **extra: Any) -> BitbucketConnectorProvider:
    provider = BitbucketConnectorProvider()
    provider.configure(ConfigureRequest(Config(stack_config(emulator, **extra), "sg-test")))
    return provider


def api_props(token: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "bitbucket-main",
        "workspace": "acme",
        "auth_type": "api_token",
        "username": "alice",
        "email": "alice@acme.io",
        "api_token": token,
        "adopt": False,
    }
    props.update(extra)
    return props


def access_props(token: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "bitbucket-main",
        "workspace": "acme",
        "auth_type": "access_token",
        "access_token": token,
        "access_token_scope": "workspace",
        "adopt": False,
    }
    props.update(extra)
    return props


def raw_record(emulator: Emulator, connector_id: str = "bitbucket_main") -> dict[str, Any]:
    return emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}")


def stats(emulator: Emulator) -> dict[str, Any]:
    return emulator.admin("GET", "/stats")
