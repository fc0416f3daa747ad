"""Issue 20 under the real Pulumi CLI: preview and refresh read only (an `adopt=True` moves the owner at
`up`), a new connector_id never clashes with itself, one odd record never blocks a refresh, and checks meant
for creating never block a resource removed from the program or `pulumi destroy`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from seeding import API_TOKEN_SCOPES

pytest.importorskip("pulumi")

import pulumi
from engines import require_engine
from pulumi import automation as auto
from pulumi_harness import SG_ENV, SHIM, PulumiProject, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import ApiTokenAuth, AppPasswordAuth, BitbucketConnector
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = pytest.mark.e2e

ORG = "acme"
CLOCK, AFTER_CUTOFF = "2026-01-15T00:00:00Z", "2026-06-10T00:00:00Z"
RECORDS = f"/stackguardian/orgs/{ORG}/integrations"


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    binary = require_engine("pulumi", "the Pulumi e2e tier runs the real CLI")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    return binary


@pytest.fixture
def tokens() -> dict[str, str]:
    sentinel = "SENTINEL-" + secrets.token_hex(10)
    return {name: f"{sentinel}-{name}" for name in ("api", "app", "weak", "key")}


@pytest.fixture
def emu(tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in SG_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)  # the provider process inherits the product clock
    with Emulator() as emulator:
        emulator.admin("POST", "/clock", {"now": CLOCK})
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [tokens["key"]]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "repositories": [{"slug": "infra"}]})
        for name, scopes in (("api", API_TOKEN_SCOPES), ("weak", API_TOKEN_SCOPES[:1])):
            emulator.admin("POST", "/bitbucket/credentials", {
                "kind": "api_token", "secret": tokens[name], "email": "alice@acme.io", "username": "alice",
                "scopes": scopes, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "app_password", "secret": tokens["app"], "username": "alice",
            "scopes": ["account", "project", "repository", "pullrequest"], "workspaces": ["acme"]})
        yield emulator


def seed(emu: Emulator, connector_id: str, token: str, tags: dict[str, str]) -> None:
    emu.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": connector_id, "Tags": [], "ContextTags": tags,
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


def verbs(emu: Emulator) -> set[str]:
    return set(emu.admin("GET", "/stats")["stackguardian"]["by_method"])


def secret(name: str) -> pulumi.Output[str]:
    return pulumi.Config().require_secret(f"token_{name}")


def api(name: str, token: str = "api", **extra: Any) -> None:
    BitbucketConnector(name, name=extra.pop("connector_name", name), workspace="acme", **extra,
                       auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret(token)))


def legacy(name: str) -> None:
    BitbucketConnector(name, name=name, workspace="acme", auth=AppPasswordAuth(username="alice",
                                                                             app_password=secret("app")))


def program(*, moved_id: str = "moved_v1", legacies: tuple[str, ...] = ("legacy1", "legacy2"),
            extra: Callable[[], None] | None = None) -> Callable[[], None]:
    def declare() -> None:
        api("main")
        api("moved", connector_id=moved_id)
        api("cliowned", adopt=True)
        for name in legacies:
            legacy(name)
        if extra is not None:
            extra()
    return declare


def test_the_plan_contract_under_the_real_cli(pulumi_cli: Path, emu: Emulator, tokens: dict[str, str],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(emu, "cliowned", tokens["api"], {OWNER_TAG: "cli", "sg-bitbucket-iac/managed": "true"})
    config = {
        "stackguardian:apiKey": auto.ConfigValue(tokens["key"], secret=True),
        "stackguardian:org": auto.ConfigValue(ORG),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
        **{f"token_{name}": auto.ConfigValue(value, secret=True) for name, value in tokens.items()},
    }
    project = PulumiProject.create(pulumi_cli, tmp_path, project="sg-contract", config=config)

    # 1. Preview (check, diff, read) writes nothing, `adopt=True` included; up moves the owner.
    emu.admin("DELETE", "/stats")
    project.preview(program())
    assert verbs(emu) == {"GET"}
    assert raw_record(emu, ORG, "cliowned")["ContextTags"][OWNER_TAG] == "cli"  # type: ignore[index]
    project.up(program())
    assert raw_record(emu, ORG, "cliowned")["ContextTags"][OWNER_TAG] == "pulumi"  # type: ignore[index]

    # 2. A new connector_id replaces the connector with the same name: previewed and applied, no clash.
    emu.admin("DELETE", "/stats")
    run, _ = project.preview(program(moved_id="moved_v2"))
    assert run.op_of("moved") == ["delete-replaced", "replace", "create-replacement"], run.ops()
    assert verbs(emu) == {"GET"}
    project.up(program(moved_id="moved_v2"))
    assert raw_record(emu, ORG, "moved_v1") is None and raw_record(emu, ORG, "moved_v2") is not None

    # 3. One odd record: refresh reads only, keeps the rest and says what is wrong; up repairs it.
    stored = raw_record(emu, ORG, "main")
    assert stored is not None
    emu.admin("PATCH", f"{RECORDS}/main", {"Settings": {
        "kind": "BITBUCKET_ORG", "config": [{**stored["Settings"]["config"][0], "bitbucketEmail": 123}]}})
    emu.admin("DELETE", "/stats")
    run, _ = project.refresh()
    assert verbs(emu) == {"GET"}
    assert "Settings.config[0].bitbucketEmail is a number, not a string" in run.stdout + run.stderr
    assert "main" in project.resources()
    project.up(program(moved_id="moved_v2"))
    assert raw_record(emu, ORG, "main")["Settings"]["config"][0]["bitbucketEmail"] == (  # type: ignore[index]
        "alice@acme.io")

    # 4. After StackGuardian's cut-off: a legacy connector removed from the program is deleted, one left
    #    as it is only warned about (its credential is not written).
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", AFTER_CUTOFF)
    run, up = project.up(program(moved_id="moved_v2", legacies=("legacy2",)))
    assert up.summary.resource_changes.get("delete") == 1, run.stdout
    assert raw_record(emu, ORG, "legacy1") is None and raw_record(emu, ORG, "legacy2") is not None
    assert "2026-06-09" in run.stdout + run.stderr

    # 5. Destroy, running a program whose new connectors every create check refuses.
    seed(emu, "taken", tokens["api"], {})

    def refused() -> None:
        api("weak", token="weak")  # a token without scopes
        api("clash", connector_name="taken", connector_id="clash")  # a name another connector holds
        legacy("legacy3")  # an app password after the cut-off

    blocked = program(moved_id="moved_v2", legacies=("legacy2",), extra=refused)
    failed = project.failing("preview", blocked)  # `up` would refuse them (preview stops at the first ones)
    reasons = ("credential preflight failed", "already used by connector taken", "ended support for app passwords")
    assert any(reason in failed.stdout + failed.stderr for reason in reasons), failed.stdout
    run, destroy = project.destroy(run_program=True, program=blocked)
    assert destroy.summary.resource_changes.get("delete") == 5, run.stdout
    for connector_id in ("main", "moved_v2", "cliowned", "legacy2"):
        assert raw_record(emu, ORG, connector_id) is None, connector_id
    assert raw_record(emu, ORG, "taken") is not None
    for text in project.printed():
        assert all(value not in text for value in tokens.values())
