"""The provider in its real process (`python -m pulumi.dynamic`), driven over gRPC as the engine does.

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
from pulumi_helpers import API_KEY, ORG, api_props, raw_record, stack_config, stats

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


# --------------------------------------------------------------------------- lifecycle
def test_lifecycle_create_noop_rotation_switch_replace_delete(
    engine: EngineLikeClient,
    server: DynamicProviderServer,
    emulator: Emulator,
    tokens: dict[str, str],
    sentinel: str,
    blob: str,
) -> None:
    decoded = base64.b64decode(blob)
    assert b"sg_bitbucket_iac.pulumi.provider" in decoded and len(decoded) < 1024
    assert API_KEY.encode() not in decoded and sentinel.encode() not in decoded

    # Create: Check then Create; the Pulumi id is the StackGuardian Id.
    ins = checked(engine, {}, program(tokens["api"], tags=["platform"]))
    assert is_secret(ins["api_token"])
    id_, outs = engine.create(NAME, ins)
    assert id_ == "bitbucket_main"
    assert is_secret(outs["api_token"]) and is_secret(outs["credentials_fingerprint"])
    assert outs["connector_id"] == id_ and outs["auth_type"] == "api_token" and outs["authenticated"] is True
    assert outs["modified_at"] and outs["org"] == ORG and outs["tags"] == ["platform"]
    assert_no_plain(sentinel, ins, outs)
    provider_blob = outs[PROVIDER_KEY]["value"] if is_secret(outs[PROVIDER_KEY]) else outs[PROVIDER_KEY]
    assert provider_blob == blob  # the provider is stored, not re-pickled with settings

    # No-op: same program -> DIFF_NONE.
    same = checked(engine, ins, program(tokens["api"], tags=["platform"]))
    assert engine.diff(NAME, id_, outs, same, ins)["changes"] == "DIFF_NONE"

    # Rotation within the type: an update of the secret only.
    rotated = checked(engine, ins, program(tokens["api2"], tags=["platform"]))
    diff = engine.diff(NAME, id_, outs, rotated, ins)
    assert diff == {"changes": "DIFF_SOME", "replaces": [], "deleteBeforeReplace": False}
    outs2 = engine.update(NAME, id_, outs, rotated, ins)
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api2']}"
    assert is_secret(outs2["api_token"]) and outs2["api_token"]["value"] == tokens["api2"]
    assert outs2["connector_id"] == id_ and outs2["tags"] == ["platform"]  # UpdateResult kept every output
    assert_no_plain(sentinel, rotated, outs2)

    # Auth-type switch: an in-place update replacing the whole credential set, same Id.
    switched = checked(engine, rotated, access_program(tokens["access"]))
    diff = engine.diff(NAME, id_, outs2, switched, rotated)
    assert diff["changes"] == "DIFF_SOME" and diff["replaces"] == []
    outs3 = engine.update(NAME, id_, outs2, switched, rotated)
    record = raw_record(emulator)
    assert record["Id"] == id_
    config = record["Settings"]["config"][0]
    assert "bitbucketCreds" not in config and "bitbucketEmail" not in config
    assert config["bitbucketAccessToken"] == tokens["access"]
    assert outs3["auth_type"] == "access_token" and is_secret(outs3["access_token"])
    assert outs3.get("api_token") is None and outs3.get("email") is None
    assert_no_plain(sentinel, switched, outs3)
    assert engine.diff(NAME, id_, outs3, switched, switched)["changes"] == "DIFF_NONE"

    # A rename keeps the Id derived at creation: an in-place update, never a replacement.
    renamed = checked(engine, switched, {**access_program(tokens["access"]), "name": "bitbucket-renamed"})
    assert engine.diff(NAME, id_, outs3, renamed, switched) == {
        "changes": "DIFF_SOME",
        "replaces": [],
        "deleteBeforeReplace": False,
    }
    outs3 = engine.update(NAME, id_, outs3, renamed, switched)
    assert outs3["connector_id"] == id_ and raw_record(emulator)["ResourceName"] == "bitbucket-renamed"
    switched = renamed

    # Delete: gone from StackGuardian; a second delete (already gone) is fine.
    engine.delete(NAME, id_, outs3, switched)
    with pytest.raises(Exception, match="404"):
        raw_record(emulator)
    engine.delete(NAME, id_, outs3, switched)
    assert sentinel not in server.close()


def test_refresh_shows_out_of_band_edits_and_outside_deletion(
    engine: EngineLikeClient, emulator: Emulator, tokens: dict[str, str], sentinel: str
) -> None:
    declared = program(tokens["api"], description="declared")
    ins = checked(engine, {}, declared)
    id_, outs = engine.create(NAME, ins)

    # Refresh without drift: same outputs, inputs rebuilt, secrets still secret, no phantom diff.
    rid, routs, rins = engine.read(NAME, id_, outs, ins)
    assert rid == id_ and rins is not None
    assert is_secret(routs["api_token"]) and is_secret(rins["api_token"])
    assert is_secret(routs["credentials_fingerprint"])
    assert engine.diff(NAME, id_, routs, checked(engine, rins, declared), rins)["changes"] == "DIFF_NONE"

    # Edited behind the tool's back: refresh shows it in outputs and inputs; `up` would put it back.
    emulator.admin(
        "PATCH", f"/stackguardian/orgs/{ORG}/integrations/{id_}", {"Description": "edited outside", "Tags": ["shadow"]}
    )
    rid, routs, rins = engine.read(NAME, id_, outs, ins)
    assert rid == id_ and rins is not None
    assert routs["description"] == "edited outside" and routs["tags"] == ["shadow"]
    assert rins["description"] == "edited outside" and rins["tags"] == ["shadow"]
    assert_no_plain(sentinel, routs, rins)
    assert engine.diff(NAME, id_, routs, checked(engine, rins, declared), rins)["changes"] == "DIFF_SOME"

    # Deleted outside: Read answers an empty id, so refresh drops it from state.
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{id_}")
    rid, routs, _ = engine.read(NAME, id_, outs, ins)
    assert rid == "" and set(routs) <= {PROVIDER_KEY}


def test_get_style_read_with_inputs_only(
    engine: EngineLikeClient, tokens: dict[str, str], sentinel: str, blob: str
) -> None:
    id_, _ = engine.create(NAME, checked(engine, {}, program(tokens["api"])))
    rid, routs, _ = engine.read("existing", id_, {}, {PROVIDER_KEY: secret(blob)})
    assert rid == id_ and routs["name"] == "bitbucket-main" and routs["auth_type"] == "api_token"
    assert_no_plain(sentinel, routs)


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
