"""The Pulumi front under the real Pulumi CLI (v3.274.1), on the emulator.

Each test is one temp project and stack; the scenarios are grouped into few updates because every
CLI command starts the engine and a provider process (a few seconds on 2 cores). A sentinel is
in every credential and in the API key: none may appear in anything the CLI printed or streamed,
nor in `pulumi stack export` (where secrets are encrypted).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from seeding import API_TOKEN_SCOPES

pytest.importorskip("pulumi")

import pulumi
from engines import require_engine
from mid_apply_kill import command_line, descendants, hold_the_create_answer, kill, wait_until_stored
from pulumi import automation as auto
from pulumi_harness import SG_ENV, SHIM, PulumiProject, is_secret_value, made_in_the_ui, raw_record
from traffic_guard import GUARD_ENV

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.pulumi import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.tags import MANAGED_TAG, OWNER_TAG
from sg_bitbucket_iac.wire import to_create_payload

pytestmark = pytest.mark.e2e

ORG, OTHER_ORG = "acme", "beta"
CLOCK = "2026-01-15T00:00:00Z"  # inside the app-password deprecation window


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    binary = require_engine("pulumi", "the Pulumi e2e tier runs the real CLI")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    return binary


@pytest.fixture(scope="module")
def sentinel() -> str:
    return "SENTINEL-" + secrets.token_hex(10)


@pytest.fixture(scope="module")
def api_key(sentinel: str) -> str:
    return f"sgo_{sentinel}_apikey"


@pytest.fixture(scope="module")
def tokens(sentinel: str) -> dict[str, str]:
    return {name: f"{sentinel}-{name}" for name in ("api", "rotated", "access", "app", "weak", "moved")}


@pytest.fixture(scope="module", autouse=True)
def _environment() -> Iterator[None]:
    """Settings only from stack config; the product clock fixed (the provider process inherits it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in SG_ENV:  # the URLs keep the traffic guard's closed loopback port (tests/traffic_guard.py)
            if name not in GUARD_ENV:
                patch.delenv(name, raising=False)
        patch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)
        yield


@pytest.fixture(scope="module")
def emu(api_key: str, tokens: dict[str, str]) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/clock", {"now": CLOCK})  # Bitbucket still accepts app passwords then
        for org in (ORG, OTHER_ORG):
            emulator.admin("POST", "/orgs", {"org": org, "api_keys": [api_key]})
        emulator.admin("POST", "/bitbucket/workspaces", {
            "slug": "acme", "projects": [{"key": "PLAT"}], "repositories": [{"slug": "infra", "project": "PLAT"}]})
        for name in ("api", "rotated", "moved"):
            emulator.admin("POST", "/bitbucket/credentials", {
                "kind": "api_token", "secret": tokens[name], "email": "alice@acme.io", "username": "alice",
                "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": tokens["weak"], "email": "alice@acme.io", "username": "alice",
            "scopes": ["read:user:bitbucket"], "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "access_token", "secret": tokens["access"], "resource": "acme",
            "scopes": ["repository", "pullrequest", "project", "account"], "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "app_password", "secret": tokens["app"], "username": "alice",
            "scopes": ["account", "team", "repository", "project", "pullrequest"], "workspaces": ["acme"]})
        yield emulator


def stack_config(emu: Emulator, api_key: str, tokens: dict[str, str], org: str = ORG) -> dict[str, auto.ConfigValue]:
    config = {
        "stackguardian:apiKey": auto.ConfigValue(api_key, secret=True),
        "stackguardian:org": auto.ConfigValue(org),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
    }
    config.update({f"token_{name}": auto.ConfigValue(value, secret=True) for name, value in tokens.items()})
    return config


def stats(emu: Emulator) -> dict[str, Any]:
    return emu.admin("GET", "/stats")


def writes(emu: Emulator) -> int:
    by_method = stats(emu)["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


def credential_config(record: dict[str, Any] | None) -> dict[str, Any]:
    assert record is not None
    return dict(record["Settings"]["config"][0])


def leaks(value: Any, secret: str, where: str = "") -> Iterator[str]:
    """JSON paths under `value` whose text holds `secret`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaks(item, secret, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaks(item, secret, f"{where}[{index}]")
    elif isinstance(value, str) and secret in value:
        yield where


def assert_no_leak(project: PulumiProject, *values: str) -> None:
    """No secret in anything printed, streamed or exported, and no Python traceback shown to the user."""
    printed = list(project.printed())
    assert printed
    # What the CLI printed (the event stream also carries the SDK's own debug-level logs, tracebacks included).
    shown = [text for run in project.runs for text in (run.stdout, run.stderr)]
    assert not [text for text in shown if "Traceback (most recent call last)" in text]
    for text in printed:
        for value in values:
            if value in text:
                where = list(leaks(json.loads(text), value)) if text.startswith("{") else [text]
                raise AssertionError(f"a secret leaked: {where}")


def secret_token(name: str) -> pulumi.Output[str]:
    return pulumi.Config().require_secret(f"token_{name}")


def one_connector(name: str) -> Callable[[], None]:
    """A program declaring one API-token connector named ``name`` (its Id derived from the name)."""
    def program() -> None:
        auth = ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("api"))
        BitbucketConnector(name, name=name, workspace="acme", auth=auth)
    return program


def diff_block(stdout: str, resource: str) -> str:
    """One resource's block of `pulumi preview --diff` output."""
    start = stdout.index(f"BitbucketConnector::{resource}]")
    end = stdout.find("pulumi-python:dynamic/stackguardian:BitbucketConnector:", start)
    return stdout[start:end if end != -1 else None]


# --------------------------------------------------------------------------- the fleet program
def fleet(
    *,
    main_token: str = "api",
    infra_api: bool = False,
    flip_access: bool = False,
    ren_name: str = "ren-old",
    moved_id: str = "moved_v1",
    description: str = "Main workspace",
    extra: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """Every auth type, one connector per scenario; the keyword arguments are the changes."""

    def program() -> None:
        main = BitbucketConnector(
            "main", name="bitbucket-main", workspace="acme", description=description, tags=["platform"],
            auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token(main_token)))
        infra_auth: Any = (
            ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("api")) if infra_api
            else AccessTokenAuth(access_token=secret_token("access"), scope="workspace"))
        BitbucketConnector("infra", name="infra", workspace="acme", auth=infra_auth)
        flip_auth: Any = (
            AccessTokenAuth(access_token=secret_token("access"), scope="workspace") if flip_access
            else ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("api")))
        BitbucketConnector("flip", name="flip", workspace="acme", auth=flip_auth)
        BitbucketConnector("legacy", name="legacy", workspace="acme",
                           auth=AppPasswordAuth(username="alice", app_password=secret_token("app")))
        ren = BitbucketConnector("ren", name=ren_name, workspace="acme", auth=ApiTokenAuth(
            username="alice", email="alice@acme.io", api_token=secret_token("api")))
        moved = BitbucketConnector("moved", name="moved", connector_id=moved_id, workspace="acme",
                                   auth=ApiTokenAuth(username="alice", email="alice@acme.io",
                                                     api_token=secret_token("moved")))
        BitbucketConnector("adopted", name="preexisting", workspace="acme", adopt=True,
                           auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("api")))
        peek = BitbucketConnector.get("peek", "foreign")
        pulumi.export("main_id", main.connector_id)
        pulumi.export("ren_id", ren.connector_id)
        pulumi.export("moved_id", moved.connector_id)
        pulumi.export("peek_name", peek.name)
        pulumi.export("peek_auth_type", peek.auth_type)
        if extra is not None:
            extra()

    return program


FLEET = ("main", "infra", "flip", "legacy", "ren", "moved", "adopted")


# --------------------------------------------------------------------------- the lifecycle of a fleet
def test_fleet_lifecycle_under_the_real_cli(
    pulumi_cli: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str, tmp_path: Path
) -> None:
    made_in_the_ui(emu, api_key, "preexisting", tokens["weak"])
    made_in_the_ui(emu, api_key, "foreign", tokens["api"])
    project = PulumiProject.create(pulumi_cli, tmp_path, project="sg-fleet",
                                   config=stack_config(emu, api_key, tokens))

    # 1. Create every auth type, adopt one, read one with .get().
    run, up = project.up(fleet())
    assert up.summary.resource_changes == {"create": 8}, run.stdout  # 7 connectors and the stack
    assert up.outputs["main_id"].value == "bitbucket_main"
    assert up.outputs["peek_name"].value == "foreign" and up.outputs["peek_auth_type"].value == "api_token"
    assert credential_config(raw_record(emu, ORG, "bitbucket_main"))["bitbucketAuthType"] == "API_TOKEN"
    assert credential_config(raw_record(emu, ORG, "infra"))["bitbucketAuthType"] == "ACCESS_TOKEN"
    assert credential_config(raw_record(emu, ORG, "legacy"))["bitbucketAuthType"] == "APP_PASSWORD"
    assert "adopting existing connector preexisting; its credentials are replaced" in run.stdout  # says so
    adopted = credential_config(raw_record(emu, ORG, "preexisting"))
    assert adopted["bitbucketCreds"] == f"alice:{tokens['api']}"  # adopt replaced the credential with ours
    state = project.resources()
    for name in FLEET:
        outputs = state[name]["outputs"]
        secret_key = {"infra": "access_token", "legacy": "app_password"}.get(name, "api_token")
        assert is_secret_value(outputs[secret_key]), (name, secret_key)
        assert is_secret_value(outputs["credentials_fingerprint"]) and is_secret_value(outputs["__provider"])
        assert state[name]["id"] == outputs["connector_id"]
    assert "peek" in state and state["peek"].get("external") is True

    # 2. The same program again: no changes, and not one write to StackGuardian.
    before = writes(emu)
    run, up = project.up(fleet())
    assert up.summary.resource_changes == {"same": 8}, run.stdout
    assert writes(emu) == before

    # 3. Preview of rotation, both auth-type switches, a rename and a new connector_id.
    changes = {"main_token": "rotated", "infra_api": True, "flip_access": True, "ren_name": "ren-new",
               "moved_id": "moved_v2"}
    before = writes(emu)
    run, _ = project.preview(fleet(**changes), diff=True)  # --diff: every changed value printed
    flip_diff = diff_block(run.stdout, "flip")  # what `pulumi preview --diff` shows: the whole credential set
    for line in ('~ auth_type         : "api_token" => "access_token"', "+ access_token      : [secret]",
                 "- api_token         : [secret]", '- email             : "alice@acme.io"',
                 '- username          : "alice"'):
        assert line in flip_diff, flip_diff
    assert {n: run.op_of(n) for n in ("main", "infra", "flip", "ren")} == {
        "main": ["update"], "infra": ["update"], "flip": ["update"], "ren": ["update"]}, run.stdout
    assert run.op_of("moved") == ["delete-replaced", "replace", "create-replacement"], run.ops()
    assert writes(emu) == before  # preview writes nothing

    # 4. Up: same Ids, nothing of the old auth type left, delete-before-replace for the new Id.
    run, up = project.up(fleet(**changes), diff=True)
    assert up.summary.resource_changes == {"same": 3, "update": 4, "replace": 1}, run.stdout
    moved_ops = run.op_of("moved")
    assert moved_ops.index("delete-replaced") < moved_ops.index("create-replacement"), moved_ops
    main = credential_config(raw_record(emu, ORG, "bitbucket_main"))
    assert main["bitbucketCreds"] == f"alice:{tokens['rotated']}"
    infra = credential_config(raw_record(emu, ORG, "infra"))
    assert infra["bitbucketAuthType"] == "API_TOKEN" and "bitbucketAccessToken" not in infra
    flip = credential_config(raw_record(emu, ORG, "flip"))
    assert flip["bitbucketAuthType"] == "ACCESS_TOKEN"
    assert "bitbucketCreds" not in flip and "bitbucketEmail" not in flip
    ren = raw_record(emu, ORG, "ren_old")
    assert ren is not None and ren["ResourceName"] == "ren-new" and up.outputs["ren_id"].value == "ren_old"
    assert raw_record(emu, ORG, "moved_v1") is None and raw_record(emu, ORG, "moved_v2") is not None
    state = project.resources()
    assert state["infra"]["outputs"].get("access_token") is None and state["flip"]["outputs"].get("api_token") is None

    # 5. A replacement is checked as a new connector (Check gets empty olds): a credential that lost
    #    scopes since its last write now fails preview, although an in-place update would not re-check it.
    moved_fp = "/bitbucket/credentials/" + tokens["moved"]
    emu.admin("PATCH", moved_fp, {"scopes": ["read:user:bitbucket"]})
    failed = project.failing("preview", fleet(**{**changes, "moved_id": "moved_v3"}))
    assert "read:repository:bitbucket" in failed.stdout + failed.stderr
    emu.admin("PATCH", moved_fp, {"scopes": API_TOKEN_SCOPES})

    # 6. A replacement whose create fails: the old one is already gone (delete first); the next up converges.
    emu.admin("POST", "/faults", {"api": "stackguardian", "path_regex": r"/integrations/?$", "method": "POST",
                                  "status": 400, "times": 1})
    failed = project.failing("up", fleet(**{**changes, "moved_id": "moved_v3"}))
    assert "moved_v3" in failed.stdout + failed.stderr and "Traceback" not in failed.stdout + failed.stderr
    assert raw_record(emu, ORG, "moved_v2") is None and raw_record(emu, ORG, "moved_v3") is None
    assert project.resources()["moved"].get("pendingReplacement") is True  # the engine knows the old one is gone
    run, up = project.up(fleet(**{**changes, "moved_id": "moved_v3"}))
    assert raw_record(emu, ORG, "moved_v3") is not None and up.outputs["moved_id"].value == "moved_v3"

    # 7. Out-of-band edit and delete, then refresh: shown and recorded; the next up restores both.
    emu.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main", {"Description": "edited outside"})
    outside = StackGuardianClient(emu.stackguardian_url, api_key, ORG)
    outside.delete("flip")
    outside.close()
    run, refresh = project.refresh()
    assert refresh.summary.resource_changes.get("update") == 1, run.stdout
    assert refresh.summary.resource_changes.get("delete") == 1, run.stdout
    state = project.resources()
    assert "flip" not in state and state["main"]["outputs"]["description"] == "edited outside"
    run, up = project.up(fleet(**{**changes, "moved_id": "moved_v3"}))
    assert up.summary.resource_changes.get("create") == 1 and up.summary.resource_changes.get("update") == 1
    assert raw_record(emu, ORG, "bitbucket_main")["Description"] == "Main workspace"  # type: ignore[index]
    assert raw_record(emu, ORG, "flip") is not None

    # 8. A bad token fails preview on that property, naming every missing scope; nothing is written.
    def weak() -> None:
        BitbucketConnector("weak", name="weak", workspace="acme",
                           auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("weak")))

    before = writes(emu)
    failed = project.failing("preview", fleet(**{**changes, "moved_id": "moved_v3"}, extra=weak))
    text = failed.stdout + failed.stderr
    assert "resource 'weak': property api_token value {[secret]} has a problem: credential preflight failed" in text
    for scope in ("read:workspace:bitbucket", "read:repository:bitbucket", "read:project:bitbucket",
                  "read:pullrequest:bitbucket"):
        assert scope in text, text
    assert writes(emu) == before and raw_record(emu, ORG, "weak") is None

    # 9. .get() of a missing Id is an error, not an empty resource.
    def ghost() -> None:
        BitbucketConnector.get("ghost", "no_such_connector")

    failed = project.failing("preview", fleet(**{**changes, "moved_id": "moved_v3"}, extra=ghost))
    assert "connector no_such_connector not found in StackGuardian org acme" in failed.stdout + failed.stderr

    # 10. Destroy: every managed connector goes, the one read with .get() stays.
    run, destroy = project.destroy()
    assert destroy.summary.resource_changes.get("delete") == 8, run.stdout
    for connector_id in ("bitbucket_main", "infra", "flip", "legacy", "ren_old", "moved_v3", "preexisting"):
        assert raw_record(emu, ORG, connector_id) is None, connector_id
    assert raw_record(emu, ORG, "foreign") is not None

    assert_no_leak(project, sentinel, api_key)


# --------------------------------------------------------------------------- org change
def test_org_change_replaces_and_refresh_and_destroy_need_no_configured_org(
    pulumi_cli: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str, tmp_path: Path
) -> None:
    def program() -> None:
        BitbucketConnector("orgmove", name="orgmove", workspace="acme", auth=ApiTokenAuth(
            username="alice", email="alice@acme.io", api_token=secret_token("api")))

    project = PulumiProject.create(pulumi_cli, tmp_path, project="sg-org", config=stack_config(emu, api_key, tokens))
    project.up(program)
    assert raw_record(emu, ORG, "orgmove") is not None

    # A new stackguardian:org replaces the connector (delete first), in the other org.
    project.stack.set_config("stackguardian:org", auto.ConfigValue(OTHER_ORG))
    run, _ = project.preview(program)
    assert run.op_of("orgmove") == ["delete-replaced", "replace", "create-replacement"], run.ops()
    said = " ".join((run.stdout + run.stderr).split())
    assert f"connector orgmove moves from org {ORG} to org {OTHER_ORG}" in said, said
    assert f"deletes it in org {ORG} and creates it in org {OTHER_ORG}" in said
    run, _ = project.up(program)
    ops = run.op_of("orgmove")
    assert ops.index("delete-replaced") < ops.index("create-replacement"), ops
    assert raw_record(emu, ORG, "orgmove") is None and raw_record(emu, OTHER_ORG, "orgmove") is not None
    assert project.resources()["orgmove"]["outputs"]["org"] == OTHER_ORG

    # Refresh and destroy work with no org configured at all: the engine configures the provider with
    # the config recorded at the last update, and Read/Delete use the org in the resource's state.
    project.stack.remove_config("stackguardian:org")
    run, refresh = project.refresh()
    assert refresh.summary.resource_changes == {"same": 2}, run.stdout
    # A connector already deleted outside does not block destroy.
    outside = StackGuardianClient(emu.stackguardian_url, api_key, OTHER_ORG)
    outside.delete("orgmove")
    outside.close()
    run, destroy = project.destroy()
    assert destroy.summary.resource_changes.get("delete") == 2, run.stdout
    assert project.resources() == {}
    assert_no_leak(project, sentinel, api_key)


# --------------------------------------------------------------------------- one owner, one name
CLI_DEFINITIONS = """\
org: acme
connectors:
  - name: cli-owned
    workspace: acme
    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:BB_TOKEN}"}
"""


def test_one_owner_and_one_name_under_the_real_cli(
    pulumi_cli: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A connector the CLI applied (the CLI owns it), and one made by hand under an Id not derived from its name.
    definitions = tmp_path / "cli.yaml"
    definitions.write_text(CLI_DEFINITIONS)
    environ = {"SG_API_TOKEN": api_key, "SG_BASE_URL": emu.stackguardian_url, "SG_ORG": ORG,
               "BITBUCKET_API_URL": emu.bitbucket_url, "SG_BITBUCKET_IAC_NOW": CLOCK, "BB_TOKEN": tokens["api"]}
    assert app.main(["apply", "-f", str(definitions), "--auto-approve"], environ=environ) == 0
    assert (raw_record(emu, ORG, "cli_owned") or {})["ContextTags"][OWNER_TAG] == "cli"
    handmade = parse_connector({
        "name": "shared-name", "id": "handmade_x", "workspace": "acme",
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": tokens["api"]}})
    client = StackGuardianClient(emu.stackguardian_url, api_key, ORG)
    client.create(to_create_payload(handmade))
    client.close()

    def program(*, adopt: bool = False, clash: bool = False) -> Callable[[], None]:
        def declare() -> None:
            auth = ApiTokenAuth(username="alice", email="alice@acme.io", api_token=secret_token("api"))
            BitbucketConnector("cliowned", name="cli-owned", workspace="acme", adopt=adopt, auth=auth)
            if clash:
                BitbucketConnector("clash", name="shared-name", workspace="acme", auth=auth)
        return declare

    project = PulumiProject.create(pulumi_cli, tmp_path / "stack", project="sg-owner",
                                   config=stack_config(emu, api_key, tokens))
    # 1. Declared without adopt: refused with the owner and the way to take it over; nothing written.
    before = writes(emu)
    failed = project.failing("up", program())
    text = failed.stdout + failed.stderr
    assert "connector cli_owned is owned by cli" in text and "`adopt=True` on the BitbucketConnector" in text, text
    assert "Traceback" not in text and writes(emu) == before

    # 2. adopt=True takes it over: the owner tag moves, the CLI's bookkeeping goes, and the run says so.
    run, up = project.up(program(adopt=True))
    assert up.summary.resource_changes == {"create": 1, "same": 1}, run.stdout  # the stack exists since step 1
    tags = (raw_record(emu, ORG, "cli_owned") or {})["ContextTags"]
    assert tags[OWNER_TAG] == "pulumi" and MANAGED_TAG not in tags, tags
    assert "cli" in run.stdout and "pulumi" in run.stdout and "owner" in run.stdout, run.stdout
    # ... and the CLI now leaves it alone.
    capsys.readouterr()
    assert app.main(["apply", "-f", str(definitions), "--auto-approve"], environ=environ) == 1
    assert "connector cli_owned is owned by pulumi" in capsys.readouterr().err

    # 3. A name another connector uses under another Id: preview fails before any write, in Pulumi's words.
    before = writes(emu)
    failed = project.failing("preview", program(adopt=True, clash=True))
    text = failed.stdout + failed.stderr
    assert "connector name 'shared-name' is already used by connector handmade_x" in text, text
    assert '`connector_id="handmade_x"` and `adopt=True`' in text and "`id:" not in text
    assert writes(emu) == before and raw_record(emu, ORG, "shared_name") is None
    assert_no_leak(project, sentinel, api_key)


# --------------------------------------------------------------------------- an interrupted create
def close_abandoned_programs() -> None:
    """Close the inline program a killed run left suspended, here and now.

    Left to the garbage collector, its close (which fails: "no running event loop") runs at a random
    later point, possibly inside `compile`, where CPython 3.11 then fails the whole session with "AST
    constructor recursion depth mismatch".
    """
    gc.collect()
    for found in gc.get_objects():
        if inspect.iscoroutine(found) and found.cr_code.co_name == "run_in_stack" and found.cr_frame is not None \
                and not found.cr_running:
            with contextlib.suppress(RuntimeError):
                found.close()


def test_an_up_whose_provider_is_killed_after_the_create_is_stored_is_finished_by_the_next_up(
    pulumi_cli: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str, tmp_path: Path
) -> None:
    program = one_connector("killed")
    project = PulumiProject.create(pulumi_cli, tmp_path, project="sg-killed",
                                   config=stack_config(emu, api_key, tokens))
    hold_the_create_answer(emu)
    failed: list[bool] = []

    def up() -> None:
        try:
            project.up(program)
        except auto.CommandError:
            failed.append(True)  # not the error itself: its traceback would keep the program's coroutine alive

    runner = threading.Thread(target=up)
    runner.start()
    try:
        record = wait_until_stored(lambda: raw_record(emu, ORG, "killed"), runner.is_alive)
        # The dynamic provider process (below the Pulumi CLI this test started) dies mid-Create.
        kill([pid for pid in descendants(os.getpid()) if "pulumi.dynamic" in command_line(pid)])
    finally:
        runner.join(timeout=120)
        emu.admin("DELETE", "/faults")
    assert failed and not runner.is_alive(), "the interrupted `pulumi up` should have failed"
    close_abandoned_programs()
    assert record["ContextTags"][OWNER_TAG] == "pulumi"
    assert "killed" not in project.resources()

    run, _ = project.preview(program)
    assert run.op_of("killed") == ["create"], run.ops()
    run, up_result = project.up(program)
    said = " ".join((run.stdout + run.stderr).split())
    assert "already exists" not in said
    assert "was created by this configuration but is missing from its state" in said, said
    diagnostics = said[said.index("Diagnostics:"):]
    assert diagnostics.count("was created by this configuration") == 1, said  # Check's and Create's note, once
    assert up_result.summary.resource_changes == {"create": 1, "same": 1}, run.stdout
    assert [r["Id"] for r in emu.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
            if r["Id"] == "killed"] == ["killed"]
    run, again = project.up(program)
    assert again.summary.resource_changes == {"same": 2}, run.stdout
    project.destroy()
    assert raw_record(emu, ORG, "killed") is None
    assert_no_leak(project, sentinel, api_key)
