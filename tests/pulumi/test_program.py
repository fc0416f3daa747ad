"""The example program's wiring under `pulumi.runtime` mocks (the provider itself is not called by mocks)."""

from __future__ import annotations

import base64
import runpy
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest

from sg_bitbucket_iac.pulumi import TYPE_TOKEN, ApiTokenAuth, BitbucketConnector

PROGRAM = Path(__file__).resolve().parents[2] / "examples" / "pulumi" / "__main__.py"
PROJECT = "sg-bitbucket-connectors"  # the name in the top-level Pulumi.yaml
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as outputs plus what the provider would compute, and records every call."""

    def __init__(self) -> None:
        self.created: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created[args.name] = args
        if args.resource_id:  # BitbucketConnector.get: a read, no inputs
            return args.resource_id, {"connector_id": args.resource_id, "auth_type": "api_token"}
        name = args.inputs.get("name") or args.name
        connector_id = args.inputs.get("connector_id") or str(name).replace("-", "_")
        outs = {
            **args.inputs,
            "connector_id": connector_id,
            "org": "acme",
            "authenticated": True,
            "modified_at": "2026-01-15T00:00:00Z",
            "credentials_fingerprint": "scrypt1:AAAA",
        }
        return connector_id, outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def use_mocks(config: dict[str, str], secret_keys: list[str]) -> RecordingMocks:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=False)
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{k}": v for k, v in config.items()}, [f"{PROJECT}:{k}" for k in secret_keys]
    )
    return mocks


CONFIG = {
    "bbUsername": "alice",
    "bbEmail": "alice@acme.io",
    "bbApiToken": "SENTINEL-api",
    "bbAccessToken": "SENTINEL-access",
    "bbAppPassword": "SENTINEL-app",
}
SECRETS = ["bbApiToken", "bbAccessToken", "bbAppPassword"]


@pytest.fixture
def mocks() -> RecordingMocks:
    return use_mocks(CONFIG, SECRETS)


@pulumi.runtime.test
def test_program_declares_one_connector_per_auth_type_with_secret_credentials(mocks: RecordingMocks) -> Any:
    namespace = runpy.run_path(str(PROGRAM))

    def check(_: Any) -> None:
        assert set(mocks.created) == {"main", "infra-repo", "legacy"}
        for args in mocks.created.values():
            assert args.typ == TYPE_TOKEN
            provider = args.inputs["__provider"]
            assert is_secret(provider)  # always secret (serialize_as_secret_always)
            blob = base64.b64decode(provider["value"])
            assert b"sg_bitbucket_iac.pulumi.provider" in blob and len(blob) < 1024
            assert b"SENTINEL" not in blob
        by_type = {a.inputs["auth_type"]: a.inputs for a in mocks.created.values()}
        assert set(by_type) == {"api_token", "access_token", "app_password"}
        for auth_type, inputs in by_type.items():
            assert is_secret(inputs[auth_type]), auth_type
            plain = {k: v for k, v in inputs.items() if k not in (auth_type, "__provider")}
            assert "SENTINEL" not in repr(plain)
        assert by_type["access_token"]["access_token_scope"] == "repository"
        assert by_type["api_token"]["tags"] == ["platform"]

    main = namespace["main"]
    return pulumi.Output.all(main.urn, namespace["infra"].urn, namespace["legacy"].urn).apply(check)


@pulumi.runtime.test
def test_outputs_are_exposed_and_secrets_stay_secret(mocks: RecordingMocks) -> Any:
    namespace = runpy.run_path(str(PROGRAM))
    main: BitbucketConnector = namespace["main"]

    def check(values: list[Any]) -> None:
        connector_id, auth_type, authenticated, modified_at, fingerprint = values
        assert connector_id == "bitbucket_main" and auth_type == "api_token"
        assert authenticated is True and modified_at and fingerprint

    async def secret_flags() -> bool:
        assert await main.api_token.is_secret()
        assert not await main.connector_id.is_secret()
        return True

    values = pulumi.Output.all(
        main.connector_id, main.auth_type, main.authenticated, main.modified_at, main.credentials_fingerprint
    ).apply(check)
    return pulumi.Output.all(values, pulumi.Output.from_input(cast(Any, secret_flags())))


@pulumi.runtime.test
def test_app_password_connector_only_when_configured() -> Any:
    config = {k: v for k, v in CONFIG.items() if k != "bbAppPassword"}
    mocks = use_mocks(config, ["bbApiToken", "bbAccessToken"])
    namespace = runpy.run_path(str(PROGRAM))

    def check(_: Any) -> None:
        assert set(mocks.created) == {"main", "infra-repo"}

    return pulumi.Output.all(namespace["main"].urn, namespace["infra"].urn).apply(check)


@pulumi.runtime.test
def test_plain_string_secrets_are_made_secret_and_get_reads_by_id() -> Any:
    mocks = use_mocks({}, [])
    conn = BitbucketConnector(
        "plain",
        workspace="acme",
        auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token="SENTINEL-plain"),
    )
    existing = BitbucketConnector.get("existing", "bitbucket_main")
    assert "SENTINEL" not in repr(ApiTokenAuth(username="a", email="a@b.io", api_token="SENTINEL-repr"))

    def check(_: Any) -> None:
        inputs = mocks.created["plain"].inputs
        assert is_secret(inputs["api_token"]) and inputs["name"] == "plain"  # name defaults to the resource name
        assert mocks.created["existing"].resource_id == "bitbucket_main"
        assert mocks.created["existing"].typ == TYPE_TOKEN

    return pulumi.Output.all(conn.urn, existing.connector_id).apply(check)


def test_auth_must_be_one_of_the_three_classes() -> None:
    use_mocks({}, [])
    with pytest.raises(TypeError, match="ApiTokenAuth"):
        BitbucketConnector("bad", workspace="acme", auth={"type": "api_token"})  # type: ignore[arg-type]
