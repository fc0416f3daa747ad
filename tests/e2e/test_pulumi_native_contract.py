"""Waves 2's promises, kept by the native provider under the real Pulumi CLI and YAML language host.

* A preview never writes (issue 20): `pulumi preview`, `refresh` and `import` send StackGuardian only GETs,
  an `adopt: true` take-over moves the owner at `up`; a new `connectorId` replaces the connector without
  clashing with itself; a record with odd fields is drift that `refresh` reports and `up` repairs; checks
  meant for creating never block `pulumi destroy --run-program`.
* A new `sgbitbucket:org` replaces the connector, and the preview names the one deleted (issue 22).
* An `up` whose plugin is killed after StackGuardian stored the create is finished by the next `up` (issue 22).
* `SG_BITBUCKET_IAC_LOG` shows the plugin's requests with the run, scrubbed (issue 22).

A sentinel is in every credential and the API key: none may appear in anything printed or stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pulumi")

from mid_apply_kill import command_line, descendants, hold_the_create_answer, kill, wait_until_stored
from native_harness import (
    CLOCK,
    api_token_connector,
    assert_no_leak,
    emulated,
    secrets_block,
    seed_record,
    stack_for,
    verbs,
    yaml_engine,
)
from pulumi_harness import raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = pytest.mark.e2e

ORG, NEW_ORG = "acme", "beta"
CONFIG = secrets_block("api", "weak")
PLUGIN = "pulumi-resource-sgbitbucket"


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    return yaml_engine()


@pytest.fixture
def api_key(sentinel: str) -> str:
    return f"sgo_{sentinel}_apikey"


@pytest.fixture
def tokens(sentinel: str) -> dict[str, str]:
    return {name: f"{sentinel}-{name}-0123456789abcdef" for name in ("api", "weak")}


@pytest.fixture
def emu(api_key: str, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)  # the plugin inherits the product clock
    with emulated(api_key, tokens, orgs=(ORG, NEW_ORG)) as emulator:
        yield emulator


def owner(emu: Emulator, org: str, connector_id: str) -> str | None:
    record = raw_record(emu, org, connector_id)
    assert record is not None, f"no connector {connector_id} in org {org}"
    return (record.get("ContextTags") or {}).get(OWNER_TAG)


def ids(emu: Emulator, org: str) -> list[str]:
    return sorted(r["Id"] for r in emu.admin("GET", f"/stackguardian/orgs/{org}/integrations")["records"])


def fleet(moved_id: str = "moved_v1", extra: str = "") -> str:
    return CONFIG + "resources:\n" + api_token_connector("main") + api_token_connector(
        "moved", extra=f"      connectorId: {moved_id}\n") + api_token_connector(
        "cliowned", extra="      adopt: true\n") + extra


def test_planning_reads_only_and_what_changes_outside_or_in_the_program_converges(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str
) -> None:
    seed_record(emu, ORG, "cliowned", tokens["api"], tags={OWNER_TAG: "cli", "sg-bitbucket-iac/managed": "true"})
    project = stack_for(pulumi_cli, tmp_path, emu, api_key, tokens, fleet())

    # 1. preview (Check, Diff) reads only, `adopt: true` included; `up` moves the owner. The plugin's log,
    #    asked for with SG_BITBUCKET_IAC_LOG, comes with the run: every request, no secret.
    emu.admin("DELETE", "/stats")
    quiet = project.run("preview")
    assert verbs(emu) == {"GET"} and owner(emu, ORG, "cliowned") == "cli"
    assert "sg_bitbucket_iac.stackguardian" not in quiet.output  # no log unless asked for
    up = project.run("up", "--yes", env={"SG_BITBUCKET_IAC_LOG": "debug"})
    assert "sg-bitbucket-iac DEBUG sg_bitbucket_iac.stackguardian: POST /api/v1/orgs/acme/integrations/ -> 200" \
        in up.output, up.output
    assert "sg-bitbucket-iac INFO sg_bitbucket_iac.preflight: Bitbucket preflight" in up.output
    assert owner(emu, ORG, "cliowned") == "pulumi"

    # 2. a new connectorId: a replacement, previewed reading only, applied without clashing with itself
    project.program(fleet(moved_id="moved_v2"))
    emu.admin("DELETE", "/stats")
    preview = project.run("preview")
    assert "+- sgbitbucket:index:Connector moved replace" in " ".join(preview.stdout.split()), preview.stdout
    assert verbs(emu) == {"GET"}
    project.run("up", "--yes")
    assert ids(emu, ORG) == ["cliowned", "main", "moved_v2"]

    # 3. one odd record: refresh reads only, keeps the rest and says what is wrong; `up` repairs it
    stored = raw_record(emu, ORG, "main")
    assert stored is not None
    emu.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/main", {"Settings": {
        "kind": "BITBUCKET_ORG", "config": [{**stored["Settings"]["config"][0], "bitbucketEmail": 123}]}})
    emu.admin("DELETE", "/stats")
    refresh = project.run("refresh", "--yes")
    assert verbs(emu) == {"GET"}
    said = " ".join(refresh.output.split())
    assert "Settings.config[0].bitbucketEmail is a number, not a string" in said, said
    assert "main" in project.resources()
    project.run("up", "--yes")
    assert raw_record(emu, ORG, "main")["Settings"]["config"][0]["bitbucketEmail"] == (  # type: ignore[index]
        "alice@acme.io")
    assert project.run("preview", "--expect-no-changes").returncode == 0

    # 4. a new org: each connector is replaced, and the preview names the one deleted in the old org
    project.run("config", "set", "sgbitbucket:org", NEW_ORG)
    emu.admin("DELETE", "/stats")
    moving = project.run("preview")
    said = " ".join(moving.output.split())
    assert "connector main moves from org acme to org beta: `pulumi up` deletes it in org acme" in said, said
    assert "set sgbitbucket:org back" in said and verbs(emu) == {"GET"}
    project.run("up", "--yes")
    assert ids(emu, ORG) == [] and ids(emu, NEW_ORG) == ["cliowned", "main", "moved_v2"]

    # 5. destroy, running a program whose new connectors every create check refuses
    seed_record(emu, NEW_ORG, "taken", tokens["api"])
    refused = fleet(moved_id="moved_v2", extra=api_token_connector("weak", token="weak") + api_token_connector(
        "clash", name="taken", extra="      connectorId: clash\n"))
    project.program(refused)
    failed = project.fails("preview")
    assert "credential preflight failed" in failed.output or "already used by connector taken" in failed.output
    project.run("destroy", "--yes", "--run-program")
    assert ids(emu, NEW_ORG) == ["taken"]
    assert_no_leak([*project.printed(), *project.state_files()], api_key, *tokens.values(), sentinel)


def test_an_up_whose_plugin_is_killed_after_the_create_is_stored_is_finished_by_the_next_up(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, api_key: str, tokens: dict[str, str], sentinel: str
) -> None:
    project = stack_for(pulumi_cli, tmp_path, emu, api_key, tokens,
                        CONFIG + "resources:\n" + api_token_connector("killed"))
    hold_the_create_answer(emu)
    running = project.start("up", "--yes")
    try:
        record = wait_until_stored(lambda: raw_record(emu, ORG, "killed"), lambda: running.poll() is None)
        # The plugin process (below the Pulumi CLI this test started) dies mid-Create.
        plugins = [pid for pid in descendants(running.pid) if PLUGIN in command_line(pid)]
        assert plugins, "no plugin process below the running `pulumi up`"
        kill(plugins)
        failed = project.finished(running, "up", "--yes")
    finally:
        if running.poll() is None:
            kill([running.pid])
            running.wait(timeout=30)
        emu.admin("DELETE", "/faults")
    assert failed.returncode != 0, failed.output
    assert record["ContextTags"][OWNER_TAG] == "pulumi" and "killed" not in project.resources()

    preview = project.run("preview")
    assert "already exists" not in preview.output
    assert "+ sgbitbucket:index:Connector killed create" in " ".join(preview.stdout.split()), preview.stdout
    up = project.run("up", "--yes")
    said = " ".join(up.output.split())
    assert "already exists" not in said
    assert "was created by this configuration but is missing from its state" in said, said
    for diagnostics in (part.split("Resources:")[0] for part in said.split("Diagnostics:")[1:]):
        # Check's and Create's note, said once in each phase (the preview's, the update's)
        assert diagnostics.count("was created by this configuration") == 1, up.output
    assert ids(emu, ORG) == ["killed"]
    assert project.run("preview", "--expect-no-changes").returncode == 0
    state = json.dumps(project.export())
    project.run("destroy", "--yes")
    assert ids(emu, ORG) == []
    assert_no_leak([*project.printed(), state], api_key, *tokens.values(), sentinel)
    assert not [pid for pid in descendants(os.getpid()) if PLUGIN in command_line(pid)]
