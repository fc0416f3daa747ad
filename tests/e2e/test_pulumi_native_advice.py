"""Every command the native provider tells a person to run works when followed literally (issue 22, part 2).

The real Pulumi CLI and YAML language host on the emulator. Each test meets a refusal, takes the command
from the text the CLI printed (tests/advice.py), fills in only what a person fills in (the resource's name,
its URN), runs it, and ends in a preview with nothing to do. The advice is in the native provider's words
(`adopt: true` on the sgbitbucket Connector, `pulumi import sgbitbucket:index:Connector NAME ID`,
`pulumi state delete <urn>`), never the dynamic resource's and never `sg-bitbucket`'s.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pulumi")

from advice import argv, the_command
from native_harness import (
    CLOCK,
    VENV_BIN,
    NativeProject,
    api_token_connector,
    assert_no_leak,
    emulated,
    secrets_block,
    seed_record,
    stack_for,
    yaml_engine,
)
from pulumi_harness import raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG, WORKSPACE_TAG

pytestmark = pytest.mark.e2e

ORG = "acme"
LATER = "2026-01-15T01:00:00Z"  # the CLI's write comes after the stack's
CONFIG = secrets_block("api")
TAKE_OVER = ("take it over with `adopt: true` on the sgbitbucket Connector (`adopt=True` in Python, "
             "`Adopt: pulumi.Bool(true)` in Go), then `pulumi up`")


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    return yaml_engine()


@pytest.fixture
def emu(sentinel: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)
    with emulated(f"sgo_{sentinel}", {"api": f"{sentinel}-token"}) as emulator:
        yield emulator


def project_for(binary: Path, root: Path, emu: Emulator, sentinel: str, program: str) -> NativeProject:
    return stack_for(binary, root, emu, f"sgo_{sentinel}", {"api": f"{sentinel}-token"}, program)


def owner(emu: Emulator, connector_id: str) -> str | None:
    record = raw_record(emu, ORG, connector_id)
    assert record is not None, connector_id
    return (record.get("ContextTags") or {}).get(OWNER_TAG)


def follow(project: NativeProject, text: str, starting: str = "", **fill: str) -> None:
    """The `pulumi ...` command the text names, with what a person fills in; `--yes` where a person answers."""
    args = argv(the_command(text, "pulumi", starting=starting), **fill)
    if args[0] in ("up", "import", "state"):
        args.append("--yes")  # nobody at a terminal to answer the prompt: what CI passes
    project.run(*args)


def clean(project: NativeProject) -> None:
    preview = project.run("preview", "--expect-no-changes", check=False)
    assert preview.returncode == 0, preview.output


def cli_adopts(emu: Emulator, sentinel: str, tmp_path: Path) -> None:
    """`sg-bitbucket apply` of a file that takes over the stack's connector (`adopt: true`)."""
    definitions = tmp_path / "connectors.yaml"
    definitions.write_text("connectors:\n  - name: main\n    workspace: acme\n    adopt: true\n"
                           "    auth: {type: api_token, username: alice, email: alice@acme.io, "
                           'api_token: "${env:BB_TOKEN}"}\n', encoding="utf-8")
    env = {**os.environ, "SG_API_TOKEN": f"sgo_{sentinel}", "SG_BASE_URL": emu.stackguardian_url, "SG_ORG": ORG,
           "BITBUCKET_API_URL": emu.bitbucket_url, "BB_TOKEN": f"{sentinel}-token", "SG_BITBUCKET_IAC_NOW": LATER}
    emu.admin("POST", "/clock", {"now": LATER})
    try:
        done = subprocess.run([str(VENV_BIN / "sg-bitbucket"), "apply", "-f", str(definitions), "--auto-approve"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        emu.admin("POST", "/clock", {"now": CLOCK})
    assert done.returncode == 0 and owner(emu, "main") == "cli", done.stdout + done.stderr
    assert sentinel not in done.stdout + done.stderr


def test_connectors_the_stack_does_not_manage_yet_are_taken_over_and_imported_as_told(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, sentinel: str
) -> None:
    seed_record(emu, ORG, "cli_owned", f"{sentinel}-token", name="cli-owned",
                tags={OWNER_TAG: "cli", WORKSPACE_TAG: "acme", "sg-bitbucket-iac/managed": "true"})
    seed_record(emu, ORG, "ui_made", f"{sentinel}-token", name="ui-made")
    owned = api_token_connector("cliowned", name="cli-owned", extra="      connectorId: cli_owned\n")
    project = project_for(pulumi_cli, tmp_path, emu, sentinel, CONFIG + "resources:\n" + owned)

    # Another front's connector: `adopt: true`, then `pulumi up`.
    said = " ".join(project.fails("preview").output.split())
    assert "owned by cli" in said and TAKE_OVER in said, said
    assert "sg-bitbucket " not in said and "BitbucketConnector" not in said
    owned = api_token_connector("cliowned", name="cli-owned", extra="      connectorId: cli_owned\n      adopt: true\n")
    project.program(CONFIG + "resources:\n" + owned)
    follow(project, said[said.index(TAKE_OVER):], starting="up")
    assert owner(emu, "cli_owned") == "pulumi"
    clean(project)

    # One made in the UI: `pulumi import sgbitbucket:index:Connector NAME ui_made`, NAME the resource's name.
    made = api_token_connector("uimade", name="ui-made", extra="      connectorId: ui_made\n")
    project.program(CONFIG + "resources:\n" + owned + made)
    said = " ".join(project.fails("preview").output.split())
    assert "already exists" in said and "`pulumi import sgbitbucket:index:Connector NAME ui_made`" in said, said
    follow(project, said, starting="import", NAME="uimade")
    assert "uimade" in project.resources()
    project.run("up", "--yes")  # the import's own advice: set the credential in the program, `pulumi up`
    assert owner(emu, "ui_made") == "pulumi"
    clean(project)
    assert_no_leak(list(project.printed()), sentinel)


def test_a_connector_the_cli_took_over_is_taken_back_or_left_as_told(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, sentinel: str
) -> None:
    declared = CONFIG + "resources:\n" + api_token_connector("main")
    project = project_for(pulumi_cli, tmp_path / "stack", emu, sentinel, declared)
    project.run("up", "--yes")

    # Taken back: `adopt: true` on the Connector, then `pulumi up`.
    cli_adopts(emu, sentinel, tmp_path)
    project.run("refresh", "--yes")  # sees the write made outside: the declared credential is to be re-sent
    said = " ".join(project.fails("up", "--yes").output.split())
    assert "owned by cli" in said and TAKE_OVER in said, said
    project.program(CONFIG + "resources:\n" + api_token_connector("main", extra="      adopt: true\n"))
    follow(project, said[said.index(TAKE_OVER):], starting="up")
    assert owner(emu, "main") == "pulumi"
    clean(project)

    # Left to the CLI: `pulumi state delete <urn>` (the URN `pulumi stack --show-urns` lists), then the
    # Connector goes from the program; nothing is deleted.
    project.program(declared)
    cli_adopts(emu, sentinel, tmp_path)
    project.run("refresh", "--yes")
    said = " ".join(project.fails("up", "--yes").output.split())
    leave = said[said.index("leave it to cli"):said.index("take it over with")]
    assert "`pulumi stack --show-urns`" in leave, leave
    urns = project.run("stack", "--show-urns").stdout
    urn = next(word for word in urns.split() if word.startswith("urn:pulumi:") and word.endswith("::main"))
    follow(project, leave, starting="state delete", **{"<urn>": urn})
    project.program(CONFIG + "resources: {}\n")
    clean(project)
    assert owner(emu, "main") == "cli" and raw_record(emu, ORG, "main") is not None
    assert_no_leak(list(project.printed()), sentinel)
