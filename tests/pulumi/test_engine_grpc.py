"""The provider in its real process (`python -m pulumi.dynamic`), driven over gRPC as the engine does.

Only for what the real Pulumi CLI (tests/e2e/test_pulumi_*.py) cannot reach quickly or at all.

Secrets are stripped on the way in and re-marked by key on the way out (plus the resource's
additional_secret_outputs), so these tests see what Pulumi state and the CLI would see.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from engine_driver import (
    PROVIDER_KEY,
    UNKNOWN,
    DynamicProviderServer,
    EngineLikeClient,
    is_secret,
    plain_strings,
    secret,
)
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_helpers import API_KEY, ORG, api_props, stack_config, stats

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.provider import ADDITIONAL_SECRET_OUTPUTS, TYPE_TOKEN, BitbucketConnectorProvider

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "sg-bitbucket-connectors"
NAME = "main"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DynamicProviderServer]:
    """The provider process, started like the CLI's shim; always terminated."""
    started = DynamicProviderServer(pythonpath=[str(ROOT)], project=PROJECT, cwd=str(tmp_path))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def blob() -> str:
    return serialize_provider(BitbucketConnectorProvider())


@pytest.fixture
def engine(server: DynamicProviderServer, emulator: Emulator, blob: str) -> EngineLikeClient:
    client = EngineLikeClient(
        server, blob, TYPE_TOKEN, project=PROJECT, additional_secret_outputs=ADDITIONAL_SECRET_OUTPUTS
    )
    config: dict[str, Any] = dict(stack_config(emulator))
    config["stackguardian:apiKey"] = secret(API_KEY)
    config[f"{PROJECT}:bbApiToken"] = secret("program-config-is-sent-too")
    response = client.configure(config)
    assert response.acceptSecrets is False
    assert client.plugin_info().version
    return client


def program(token: str, **extra: Any) -> dict[str, Any]:
    """The inputs the program registers: credentials secret (the resource wraps them)."""
    props = api_props(secret(token), **extra)  # type: ignore[arg-type]
    for key in ("access_token", "app_password"):
        if key in props and not is_secret(props[key]):
            props[key] = secret(props[key])
    return {k: v for k, v in props.items() if v is not None}


def access_program(token: str) -> dict[str, Any]:
    return {
        "name": "bitbucket-main",
        "workspace": "acme",
        "auth_type": "access_token",
        "access_token": secret(token),
        "access_token_scope": "workspace",
        "adopt": False,
    }


def assert_no_plain(sentinel: str, *documents: Any) -> None:
    for document in documents:
        leaked = [text for text in plain_strings(document) if sentinel in text]
        assert not leaked, "secret visible outside a secret value"


def checked(engine: EngineLikeClient, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    inputs, failures = engine.check(NAME, olds, news)
    assert failures == []
    return inputs


# --------------------------------------------------------------------------- what the CLI cannot show quickly
# The lifecycle, refresh, get and adopt sequences run under the real Pulumi CLI in
# tests/e2e/test_pulumi_scenarios.py; what stays here needs a hand on the wire: the pickled blob,
# unknowns reaching Check, exact request counts, concurrency inside one provider process, and
# malformed properties that the engine would never send.
def test_the_pickled_provider_is_a_reference_without_settings(
    engine: EngineLikeClient, tokens: dict[str, str], sentinel: str, blob: str
) -> None:
    decoded = base64.b64decode(blob)
    assert b"sg_bitbucket_iac.pulumi.provider" in decoded and len(decoded) < 1024
    assert API_KEY.encode() not in decoded and sentinel.encode() not in decoded
    _, outs = engine.create(NAME, checked(engine, {}, program(tokens["api"])))
    provider_blob = outs[PROVIDER_KEY]["value"] if is_secret(outs[PROVIDER_KEY]) else outs[PROVIDER_KEY]
    assert provider_blob == blob  # the provider is stored, not re-pickled with settings


# --------------------------------------------------------------------------- check before any write
def test_preview_with_unknowns_and_a_bad_token(
    engine: EngineLikeClient, emulator: Emulator, tokens: dict[str, str], sentinel: str
) -> None:
    emulator.admin("DELETE", "/stats")
    ins, failures = engine.check(NAME, {}, {**program("x"), "api_token": UNKNOWN})
    assert failures == [] and ins["api_token"] == UNKNOWN
    assert stats(emulator)["bitbucket"]["total"] == 0

    # Diff in a preview with an unknown credential: an update may happen, never a replace.
    id_, outs = engine.create(NAME, checked(engine, {}, program(tokens["api"])))
    assert engine.diff(NAME, id_, outs, {**ins, "api_token": UNKNOWN}) == {
        "changes": "DIFF_SOME",
        "replaces": [],
        "deleteBeforeReplace": False,
    }
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{id_}")
    emulator.admin("DELETE", "/stats")

    _, failures = engine.check(NAME, {}, program(tokens["weak"]))
    assert [prop for prop, _ in failures] == ["api_token"]
    reason = failures[0][1]
    assert "read:repository:bitbucket" in reason and "read:workspace:bitbucket" in reason
    assert sentinel not in reason
    assert stats(emulator)["stackguardian"]["total"] == 0  # nothing was created


def test_switch_to_api_token_without_email_fails_before_any_request(
    engine: EngineLikeClient, emulator: Emulator, tokens: dict[str, str]
) -> None:
    old = checked(engine, {}, access_program(tokens["access"]))
    engine.create(NAME, old)
    emulator.admin("DELETE", "/stats")
    news = program(tokens["api"])
    del news["email"]
    _, failures = engine.check(NAME, old, news)
    assert [prop for prop, _ in failures] == ["email"]
    counts = stats(emulator)
    assert counts["stackguardian"]["total"] == 0 and counts["bitbucket"]["total"] == 0


def test_concurrent_calls_share_one_configured_provider(
    engine: EngineLikeClient, emulator: Emulator, tokens: dict[str, str], sentinel: str
) -> None:
    """The server runs 4 worker threads on one cached provider instance: lazy setup must be thread-safe."""

    def create(index: int) -> tuple[str, dict[str, Any]]:
        name = f"conn-{index}"
        inputs = checked(engine, {}, program(tokens["api"], name=name))
        return engine.create(name, inputs)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    assert sorted(id_ for id_, _ in results) == [f"conn_{i}" for i in range(8)]
    assert all(is_secret(outs["api_token"]) for _, outs in results)
    assert_no_plain(sentinel, *(outs for _, outs in results))
    assert stats(emulator)["stackguardian"]["by_method"]["POST"] == 8



def test_an_unrecognised_preflight_value_fails_check_on_the_wire(
    engine: EngineLikeClient, emulator: Emulator, tokens: dict[str, str]
) -> None:
    """As the engine sends it: a string, or a number (every number reaches the provider as a float)."""
    emulator.admin("DELETE", "/stats")
    for value, shown in (("maybe", "'maybe'"), (0, "'0.0'")):
        _, failures = engine.check(NAME, {}, program(tokens["weak"], preflight=value))
        assert failures == [("preflight", f"preflight={shown} is not a boolean; use true or false")]
    counts = stats(emulator)
    assert counts["stackguardian"]["total"] == 0 and counts["bitbucket"]["total"] == 0
    _, failures = engine.check(NAME, {}, program(tokens["weak"], preflight="off"))
    assert failures == []  # the settings' word for off: no preflight, so the weak token passes Check


# --------------------------------------------------------------------------- errors
def test_error_tracebacks_carry_no_secret(
    engine: EngineLikeClient,
    server: DynamicProviderServer,
    emulator: Emulator,
    tokens: dict[str, str],
    sentinel: str,
    blob: str,
) -> None:
    # A server error that echoes what it was sent: the provider's message (no traceback) goes to the CLI
    # in gRPC details, scrubbed.
    emulator.admin(
        "POST",
        "/faults",
        {
            "api": "stackguardian",
            "method": "POST",
            "path_regex": "integrations",
            "status": 400,
            "times": 1,
            "body": {"msg": f"bad bitbucketCreds alice:{tokens['api']}"},
        },
    )
    ins = checked(engine, {}, program(tokens["api"]))
    with pytest.raises(grpc.RpcError) as caught:
        engine.create(NAME, ins)
    details = caught.value.details() or ""
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert details.startswith("create: ") and "400" in details and "Traceback" not in details
    assert sentinel not in details

    # Invalid properties reaching Create (no Check) fail cleanly too.
    broken = {**program(tokens["api"]), PROVIDER_KEY: secret(blob)}
    del broken["email"]
    with pytest.raises(grpc.RpcError) as caught:
        engine.create(NAME, broken)
    details = caught.value.details() or ""
    assert "invalid connector" in details and "email" in details and sentinel not in details
    assert "During handling" not in details and "direct cause" not in details
    assert sentinel not in server.close()
