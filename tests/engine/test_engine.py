"""The engine against the emulator: apply, auth-type switch, rotation, preflight gate, drift, adopt."""

from __future__ import annotations

from typing import Any

import pytest
from seeding import seed_api_token, seed_credential, seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import (
    Action,
    AppliedSnapshot,
    ConnectorExistsError,
    DriftStatus,
    Engine,
    PreflightFailed,
)
from sg_bitbucket_iac.model import Connector, ConnectorValidationError, parse_connector
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wording import CLI_WORDING

ORG = "acme"
KEY = "sgo_test_key"


@pytest.fixture
def bitbucket(emulator: Emulator, sentinel: str) -> dict[str, str]:
    """A workspace with a repository, an API token and a workspace access token that both pass preflight."""
    seed_workspace(emulator)
    tokens = {"api": sentinel, "api2": sentinel + "-rotated", "access": sentinel + "-access"}
    for secret in (tokens["api"], tokens["api2"]):
        seed_api_token(emulator, secret)
    seed_credential(emulator, "access_token", tokens["access"], workspaces=["acme"], resource="acme",
                    scopes=["repository", "pullrequest", "project", "account"])
    return tokens


@pytest.fixture
def engine(emulator: Emulator) -> Engine:
    client = StackGuardianClient(emulator.stackguardian_url, KEY, ORG, backoff=0.01)
    return Engine(Settings(bitbucket_api_url=emulator.bitbucket_url, clock="2026-01-15T00:00:00Z"), client=client,
                  preflight_backoff=0.01)


def api_token(token: str, **extra: Any) -> Connector:
    data: dict[str, Any] = {"name": "bitbucket-main", "workspace": "acme",
                            "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io",
                                     "api_token": token}}
    data.update(extra)
    return parse_connector(data)


def access_token(token: str) -> Connector:
    return parse_connector({"name": "bitbucket-main", "workspace": "acme",
                            "auth": {"type": "access_token", "access_token": token, "scope": "workspace"}})


def raw_config(emulator: Emulator, connector_id: str = "bitbucket_main") -> dict[str, Any]:
    record = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}")
    config: dict[str, Any] = record["Settings"]["config"][0]
    return config


def sg_writes(emulator: Emulator) -> int:
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "DELETE"))


def apply(engine: Engine, desired: Connector, applied: AppliedSnapshot | None = None) -> AppliedSnapshot:
    plan = engine.plan(desired, applied=applied)
    result = engine.apply(desired, plan)
    assert result.snapshot is not None
    return result.snapshot


def test_create_then_noop(engine: Engine, emulator: Emulator, bitbucket: dict[str, str]) -> None:
    snapshot = apply(engine, api_token(bitbucket["api"]))
    assert raw_config(emulator)["bitbucketCreds"] == f"alice:{bitbucket['api']}"
    assert engine.plan(api_token(bitbucket["api"]), applied=snapshot).action is Action.NOOP


def test_switch_api_token_to_access_token_keeps_id_and_drops_old_fields(
    engine: Engine, emulator: Emulator, bitbucket: dict[str, str]
) -> None:
    snapshot = apply(engine, api_token(bitbucket["api"]))
    created_at = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")["CreatedAt"]
    emulator.admin("DELETE", "/stats")
    desired = access_token(bitbucket["access"])
    plan = engine.plan(desired, applied=snapshot)
    assert plan.action is Action.UPDATE and plan.full_credential_replacement
    engine.apply(desired, plan)
    assert raw_config(emulator) == {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": bitbucket["access"]}
    record = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")
    assert record["Id"] == "bitbucket_main" and record["CreatedAt"] == created_at
    patches = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    assert patches.get("PATCH") == 1 and "POST" not in patches


def test_switch_to_api_token_without_email_is_rejected_before_any_request(emulator: Emulator) -> None:
    emulator.admin("DELETE", "/stats")
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector({"name": "bitbucket-main", "workspace": "acme",
                         "auth": {"type": "api_token", "username": "alice", "api_token": "x" * 20}})
    assert caught.value.problems[0].path == "auth.email"
    assert emulator.admin("GET", "/stats")["stackguardian"]["total"] == 0


def test_rotation_updates_only_the_secret(engine: Engine, emulator: Emulator, bitbucket: dict[str, str]) -> None:
    snapshot = apply(engine, api_token(bitbucket["api"], description="kept"))
    rotated = api_token(bitbucket["api2"], description="kept")
    plan = engine.plan(rotated, applied=snapshot)
    assert [c.field for c in plan.changes] == ["auth.api_token"]
    engine.apply(rotated, plan)
    assert raw_config(emulator)["bitbucketCreds"] == f"alice:{bitbucket['api2']}"


def test_failed_preflight_writes_nothing(engine: Engine, emulator: Emulator, bitbucket: dict[str, str],
                                         sentinel: str) -> None:
    emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": sentinel + "-weak", "email": "alice@acme.io", "username": "alice",
        "scopes": ["read:user:bitbucket"], "workspaces": ["acme"]})
    emulator.admin("DELETE", "/stats")
    desired = api_token(sentinel + "-weak")
    with pytest.raises(PreflightFailed) as caught:
        engine.apply(desired, engine.plan(desired))
    text = str(caught.value)
    assert "read:repository:bitbucket" in text and "read:workspace:bitbucket" in text
    assert sentinel not in text
    assert sg_writes(emulator) == 0


def test_preflight_can_be_turned_off_per_call(engine: Engine, emulator: Emulator, sentinel: str) -> None:
    desired = api_token(sentinel + "-unknown-to-bitbucket")
    result = engine.apply(desired, engine.plan(desired), preflight=False)
    assert result.preflight is None and result.observed is not None


def test_existing_connector_is_adopted_only_when_asked(
    engine: Engine, emulator: Emulator, bitbucket: dict[str, str]
) -> None:
    apply(engine, api_token(bitbucket["api"]))
    with pytest.raises(ConnectorExistsError, match="adopt"):
        engine.plan(api_token(bitbucket["api"]))
    plan = engine.plan(api_token(bitbucket["api"]), adopt=True)
    assert plan.adopt and plan.sends_credentials


def test_managed_marker_and_fingerprint_live_in_context_tags(
    emulator: Emulator, bitbucket: dict[str, str]
) -> None:
    client = StackGuardianClient(emulator.stackguardian_url, KEY, ORG, backoff=0.01)
    engine = Engine(Settings(bitbucket_api_url=emulator.bitbucket_url, preflight=False, clock="2026-01-15T00:00:00Z"),
                    front=CLI_WORDING, client=client)
    desired = api_token(bitbucket["api"])
    engine.apply(desired, engine.plan(desired))
    tags = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")["ContextTags"]
    assert tags["sg-bitbucket-iac/managed"] == "true"
    assert tags["sg-bitbucket-iac/fingerprint"].startswith("scrypt1:")
    assert bitbucket["api"] not in str(tags)
    # A second run, with no local state, finds nothing to do.
    assert engine.plan(desired).action is Action.NOOP


def test_drift_after_out_of_band_edit_and_delete(
    engine: Engine, emulator: Emulator, bitbucket: dict[str, str]
) -> None:
    desired = api_token(bitbucket["api"], description="declared")
    snapshot = apply(engine, desired)
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                   {"Description": "edited behind our back"})
    report = engine.drift(desired, applied=snapshot, observed=engine.read("bitbucket_main"))
    assert report.statuses == [DriftStatus.CHANGED_OUTSIDE]
    assert report.changed_outside[0].after == "edited behind our back"
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")
    report = engine.drift(desired, applied=snapshot, observed=engine.read("bitbucket_main"))
    assert report.statuses == [DriftStatus.DELETED_OUTSIDE]


def test_revoked_credentials_are_drift(engine: Engine, emulator: Emulator, bitbucket: dict[str, str]) -> None:
    desired = api_token(bitbucket["api"])
    snapshot = apply(engine, desired)
    emulator.admin("PATCH", f"/bitbucket/credentials/{bitbucket['api']}", {"revoked": True})
    report = engine.drift(desired, applied=snapshot, observed=engine.read("bitbucket_main"),
                          verify_credentials=True)
    assert DriftStatus.CREDENTIALS_FAILING in report.statuses
    assert bitbucket["api"] not in repr(report.to_dict())


def test_two_declarations_of_one_name_never_both_create(engine: Engine, emulator: Emulator,
                                                        bitbucket: dict[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sg_bitbucket_iac.errors import NameClashError

    # A resource block copied with a new Id but the same name: both plans pass (neither exists yet) ...
    first, second = api_token(bitbucket["api"], id="copy_a"), api_token(bitbucket["api"], id="copy_b")
    plans = [engine.plan(c) for c in (first, second)]
    assert [p.action for p in plans] == [Action.CREATE, Action.CREATE]

    def create(pair: tuple[Connector, Any]) -> Any:
        try:
            return engine.apply(pair[0], pair[1])
        except NameClashError as error:
            return error

    # ... and they are applied at the same time, as Terraform and Pulumi do: only one is created.
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(create, zip((first, second), plans, strict=True)))
    clashes = [o for o in outcomes if isinstance(o, NameClashError)]
    assert len(clashes) == 1 and "already used by connector copy_" in str(clashes[0])
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert len([r for r in records if r["ResourceName"] == "bitbucket-main"]) == 1
    # The declaration that won may be applied again by this engine (a retry is not a clash), the other not.
    winner, loser = (second, first) if isinstance(outcomes[0], NameClashError) else (first, second)
    assert engine.apply(winner, plans[[first, second].index(winner)]).observed is not None
    with pytest.raises(NameClashError):
        engine.apply(loser, plans[[first, second].index(loser)])
