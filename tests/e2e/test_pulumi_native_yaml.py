"""The native provider under the real Pulumi CLI and the YAML language host, on the emulator.

The plugin is the `pulumi-resource-sgbitbucket` console script that `pip install` put on `PATH`
(how a user's activated venv finds it). A sentinel is in every credential and the API key: none
may appear in anything the CLI printed, in `pulumi stack export`, or in generated code.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pulumi")

from native_harness import (
    CLOCK,
    VENV_BIN,
    assert_no_leak,
    emulated,
    secret_outputs_encrypted,
    stack_for,
    verbs,
    writes,
    yaml_engine,
)
from pulumi_harness import made_in_the_ui, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = pytest.mark.e2e

ORG = "acme"


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    return yaml_engine()


@pytest.fixture(scope="module")
def sentinel() -> str:
    return "SENTINEL-" + secrets.token_hex(10)


@pytest.fixture(scope="module")
def api_key(sentinel: str) -> str:
    return f"sgo_{sentinel}_apikey"


@pytest.fixture(scope="module")
def tokens(sentinel: str) -> dict[str, str]:
    return {name: f"{sentinel}-{name}-0123456789abcdef" for name in ("api", "api2", "access", "weak")}


@pytest.fixture(scope="module", autouse=True)
def _clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)  # the plugin inherits it
        yield


@pytest.fixture
def emu(api_key: str, tokens: dict[str, str]) -> Iterator[Emulator]:
    with emulated(api_key, tokens) as emulator:
        yield emulator


CONFIG = "config:\n" + "".join(
    f"  token_{name}:\n    type: string\n    secret: true\n" for name in ("api", "api2", "access", "weak"))


def fleet(*, main_auth: str = "api_token", main_description: str = "Main workspace") -> str:
    """`main` (switchable auth type; ignoreChanges on tags), `dependent` (its description is unknown
    at the first preview: it comes from main's createdAt)."""
    main_credential = {
        "api_token": "      authType: api_token\n      username: alice\n      email: alice@acme.io\n"
                     "      apiToken: ${token_api}\n",
        "access_token": "      authType: access_token\n      accessTokenScope: workspace\n"
                        "      accessToken: ${token_access}\n",
    }[main_auth]
    return CONFIG + f"""resources:
  main:
    type: sgbitbucket:index:Connector
    properties:
      name: bitbucket-main
      workspace: acme
      description: {main_description}
      tags: [platform]
{main_credential}    options:
      ignoreChanges: [tags]
  dependent:
    type: sgbitbucket:Connector
    properties:
      name: dependent
      workspace: acme
      description: after ${{main.createdAt}}
      authType: api_token
      username: alice
      email: alice@acme.io
      apiToken: ${{token_api}}
outputs:
  mainId: ${{main.id}}
  mainAuthType: ${{main.authType}}
  dependentId: ${{dependent.connectorId}}
"""


def config_of(emu: Emulator, connector_id: str) -> dict[str, object]:
    record = raw_record(emu, ORG, connector_id)
    assert record is not None, f"connector {connector_id} not in StackGuardian"
    return dict(record["Settings"]["config"][0])


def test_yaml_program_preview_up_auth_switch_refresh_destroy(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, api_key: str, tokens: dict[str, str]
) -> None:
    project = stack_for(pulumi_cli, tmp_path, emu, api_key, tokens, fleet())

    # preview: validated, preflighted, nothing written; a value unknown until apply is fine
    preview = project.run("preview")
    assert "sgbitbucket:index:Connector main create" in preview.stdout.replace("  ", " ")
    assert "using pulumi-resource-sgbitbucket from $PATH" in preview.output  # found the way users find it
    assert writes(emu) == 0

    project.run("up", "--yes")
    outputs = project.outputs()
    assert outputs["mainId"] == "bitbucket_main" and outputs["dependentId"] == "dependent"
    main = raw_record(emu, ORG, "bitbucket_main")
    assert main is not None and main["ContextTags"][OWNER_TAG] == "pulumi"
    assert config_of(emu, "bitbucket_main")["bitbucketAuthType"] == "API_TOKEN"
    dependent = raw_record(emu, ORG, "dependent")
    assert dependent is not None and dependent["Description"].startswith("after 20")
    state = project.resources()
    secret_outputs_encrypted(state["main"], "apiToken", "credentialsFingerprint")
    assert project.run("preview", "--expect-no-changes").returncode == 0

    # auth-type switch: an in-place update of the same connector, every credential field replaced
    project.program(fleet(main_auth="access_token"))
    diff = project.run("preview", "--diff").stdout
    assert "~ sgbitbucket:index:Connector: (update)" in diff and "replace" not in diff.split("Resources:")[-1]
    for line in ("~ authType", "- apiToken", "- email", "- username", "+ accessToken"):
        assert line in diff, (line, diff)
    project.run("up", "--yes")
    switched = config_of(emu, "bitbucket_main")
    assert switched["bitbucketAuthType"] == "ACCESS_TOKEN"
    assert switched["bitbucketAccessToken"] == tokens["access"] and not switched.get("bitbucketCreds")
    assert raw_record(emu, ORG, "bitbucket_main")["Id"] == "bitbucket_main"  # type: ignore[index]

    # an edit made outside: refresh shows it; the next up re-asserts the declaration (the credential too)
    emu.admin("POST", "/clock", {"now": "2026-01-15T00:05:00Z"})  # StackGuardian's clock moves on
    emu.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
              {"Description": "edited in the UI", "Tags": ["ui"]})
    refresh = project.run("refresh", "--yes", "--diff")
    assert "edited in the UI" in refresh.stdout and "modified outside" in refresh.output, refresh.output
    assert project.resources()["main"]["outputs"]["description"] == "edited in the UI"
    before = writes(emu)
    project.run("up", "--yes")
    record = raw_record(emu, ORG, "bitbucket_main")
    assert record is not None and record["Description"] == "Main workspace"
    assert record["Tags"] == ["ui"]  # ignoreChanges: [tags] leaves the outside tags alone
    assert writes(emu) == before + 1  # one PATCH, the declared credential re-sent with it
    assert project.run("preview", "--expect-no-changes").returncode == 0

    stored = project.state_files()
    project.run("destroy", "--yes")
    assert raw_record(emu, ORG, "bitbucket_main") is None and raw_record(emu, ORG, "dependent") is None
    assert_no_leak([*project.printed(), json.dumps(state), *stored], api_key, *tokens.values())


def _changed_lines(diff: str, resource: str) -> list[str]:
    """The property lines (+, -, ~) of one resource in `pulumi preview --diff`, over all of its blocks (an
    import's block lists the imported values without a sign: none of them is a change)."""
    lines: list[str] = []
    inside = False
    for line in diff.splitlines():
        stripped = line.strip()
        if stripped.startswith("[urn="):
            inside = stripped.endswith(f"Connector::{resource}]")
        elif "sgbitbucket:index:Connector:" in stripped or "pulumi:pulumi:Stack:" in stripped or \
                stripped.startswith("Resources:"):
            inside = False  # the next resource's (or the summary's) header
        elif inside and stripped[:1] in "+-~" and ":" in stripped:
            lines.append(" ".join(stripped.split()).replace(" :", ":"))  # no column alignment
    return lines


def _applied_by_cli(emu: Emulator, api_key: str, tmp_path: Path, tokens: dict[str, str]) -> None:
    """Two connectors the CLI manages (owner `cli`; workspace, username, scope and repository in ContextTags)."""
    definitions = tmp_path / "connectors.yaml"
    definitions.write_text(f"""org: {ORG}
connectors:
  - name: cli-owned
    workspace: acme
    auth:
      type: access_token
      scope: repository
      repository: infra
      access_token: ${{env:BB_TOKEN}}
  - name: cli-api
    workspace: acme
    auth:
      type: api_token
      username: alice
      email: alice@acme.io
      api_token: ${{env:BB_API_TOKEN}}
""", encoding="utf-8")
    env = {**os.environ, "SG_API_TOKEN": api_key, "SG_BASE_URL": emu.stackguardian_url,
           "BITBUCKET_API_URL": emu.bitbucket_url, "BB_TOKEN": tokens["access"], "BB_API_TOKEN": tokens["api"]}
    subprocess.run([str(VENV_BIN / "sg-bitbucket"), "apply", "-f", str(definitions), "--auto-approve"],
                   env=env, check=True, capture_output=True, timeout=120)


def test_pulumi_import_round_trip_and_the_import_option(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, api_key: str, tokens: dict[str, str]
) -> None:
    _applied_by_cli(emu, api_key, tmp_path, tokens)
    made_in_the_ui(emu, api_key, "clicked", tokens["api2"])
    project = stack_for(pulumi_cli, tmp_path / "project", emu, api_key, tokens, CONFIG + "resources: {}\n")

    # `pulumi import`: reads only (StackGuardian sees GETs alone), writes the state and the program's code (the
    # username from its tag); the take-over it says (`adopt: true`) moves the owner at `up`
    emu.admin("DELETE", "/stats")
    run = project.run("import", "sgbitbucket:index:Connector", "imported", "cli_api", "--yes", "--out", "gen.yaml")
    assert verbs(emu) == {"GET"} and raw_record(emu, ORG, "cli_api")["ContextTags"][OWNER_TAG] == "cli"  # type: ignore[index]
    assert "owned by cli" in run.output and "set the credential (apiToken)" in run.output
    generated = (project.work / "gen.yaml").read_text(encoding="utf-8")
    for line in ("type: sgbitbucket:Connector", "connectorId: cli_api", "workspace: acme", "username: alice",
                 "email: alice@acme.io", "authType: api_token", "adopt: true", "protect: true"):
        assert line in generated, (line, generated)

    # The generated code with the secret set, and the `import` resource option on a connector the CLI
    # manages (an access token: its scope and repository from its tags) and on one made in the UI.
    program = CONFIG + generated.replace("properties:\n", "properties:\n      apiToken: ${token_api}\n", 1) + """\
  option_owned:
    type: sgbitbucket:Connector
    properties:
      name: cli-owned
      connectorId: cli_owned
      workspace: acme
      authType: access_token
      accessTokenScope: repository
      repository: infra
      accessToken: ${token_access}
      adopt: true
    options:
      import: cli_owned
  clicked:
    type: sgbitbucket:Connector
    properties:
      name: clicked
      workspace: acme
      description: made in the UI
      authType: api_token
      username: alice
      email: alice@acme.io
      apiToken: ${token_api2}
    options:
      import: clicked
"""
    project.program(program)
    diff = project.run("preview", "--diff").stdout
    # What this tool wrote is read back whole (the username from its ContextTag): only the secret is set.
    assert _changed_lines(diff, "imported") == ["+ apiToken: [secret]"], diff
    assert _changed_lines(diff, "option_owned") == ["+ accessToken: [secret]"], diff
    # A connector made in the UI carries no tag of ours, and StackGuardian masks `user:secret` whole: its
    # username and workspace are unknowable until the one update after the import sets them.
    assert sorted(_changed_lines(diff, "clicked")) == ["+ apiToken: [secret]", "+ username: \"alice\"",
                                                       "+ workspace: \"acme\""], diff
    up = project.run("up", "--yes")
    assert "imported" in up.stdout
    for connector_id in ("cli_api", "cli_owned", "clicked"):  # the take-overs, said at import
        assert raw_record(emu, ORG, connector_id)["ContextTags"][OWNER_TAG] == "pulumi"  # type: ignore[index]
    assert project.run("preview", "--expect-no-changes").returncode == 0

    project.run("state", "unprotect", "--all", "--yes")
    project.run("destroy", "--yes")
    for connector_id in ("cli_api", "cli_owned", "clicked"):
        assert raw_record(emu, ORG, connector_id) is None
    assert_no_leak([*project.printed(), generated], api_key, *tokens.values())


def test_errors_are_one_line_and_nothing_is_written(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator, api_key: str, tokens: dict[str, str]
) -> None:
    made_in_the_ui(emu, api_key, "taken", tokens["api"])
    def one(name: str, token: str) -> str:
        return CONFIG + f"""resources:
  {name}:
    type: sgbitbucket:Connector
    properties:
      workspace: acme
      authType: api_token
      username: alice
      email: alice@acme.io
      apiToken: ${{{token}}}
"""

    program = one("weak", "token_weak")
    project = stack_for(pulumi_cli, tmp_path, emu, api_key, tokens, program)
    failed = project.fails("preview")
    assert "apiToken" in failed.output and "read:repository:bitbucket" in failed.output  # every missing scope

    # an existing connector is not created over: the preview says how to import or adopt it
    project.program(one("taken", "token_api"))
    failed = project.fails("preview")
    assert "already exists" in failed.output and "pulumi import sgbitbucket:index:Connector" in failed.output

    # StackGuardian failing: the error is the backend's one line, no traceback
    project.program(one("fresh", "token_api"))
    emu.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/$", "method": "POST",
                                  "status": 403})
    failed = project.fails("up", "--yes")
    errors = [line for line in failed.output.splitlines() if "create:" in line]
    assert errors and "StackGuardian" in errors[0], failed.output
    emu.admin("DELETE", "/faults")
    emu.admin("DELETE", "/stats")

    # getConnector: an existing connector's non-secret attributes, from a YAML invoke
    project.program(CONFIG + """variables:
  found:
    fn::invoke:
      function: sgbitbucket:getConnector
      arguments:
        connectorId: taken
resources: {}
outputs:
  authType: ${found.authType}
  email: ${found.email}
""")
    project.run("up", "--yes")
    assert project.outputs() == {"authType": "api_token", "email": "alice@acme.io"}
    assert writes(emu) == 0  # a function reads
    assert_no_leak(list(project.printed()), api_key, *tokens.values())
