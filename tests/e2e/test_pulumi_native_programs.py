"""Programs in Python, TypeScript and Go on the generated SDKs, with the real engine.

The engine, the provider plugin (`pulumi-resource-sgbitbucket` from this venv, on PATH) and the
state are the real ones; the programs run as Automation API inline programs (Python
`pulumi.automation`, Node `@pulumi/pulumi/automation`, Go `auto.UpsertStackInlineSource`)
because the Python, Node.js and Go language hosts cannot be built here. Each program creates a
connector, switches its auth type in place, refreshes after an edit made outside, and destroys it;
the emulator's record is checked after each step, and a sentinel secret must appear nowhere.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi")

import pulumi
from engines import require_engine
from native_harness import SYSTEM_PATH, VENV_BIN, assert_no_leak, provider_config, secret_outputs_encrypted, seed
from native_sdks import build_go, build_node
from pulumi import automation as auto
from pulumi_harness import PASSPHRASE, PulumiProject, cli_root, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]  # a cold Go build downloads and compiles the SDK

ORG = "acme"
CLOCK = "2026-01-15T00:00:00Z"
LANGUAGES = ("python", "nodejs", "go")


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    return require_engine("pulumi", "the programs run on the real engine")


@pytest.fixture(scope="module")
def sentinel() -> str:
    return "SENTINEL-" + secrets.token_hex(10)


@pytest.fixture(scope="module")
def tokens(sentinel: str) -> dict[str, str]:
    return {"api": f"{sentinel}-api-0123456789abcdef", "access": f"{sentinel}-access-0123456789abcdef"}


@pytest.fixture(scope="module")
def api_key(sentinel: str) -> str:
    return f"sgo_{sentinel}_apikey"


@pytest.fixture(scope="module", autouse=True)
def _clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)
        yield


@pytest.fixture
def emu(api_key: str, tokens: dict[str, str]) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/clock", {"now": CLOCK})
        seed(emulator, tokens, orgs={ORG: api_key})
        yield emulator


@pytest.fixture(scope="module")
def built(python_sdk: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each language's program, compiled once (the Python SDK installed once per session)."""
    return {
        "python": python_sdk,
        "nodejs": build_node(tmp_path_factory.mktemp("nodejs")),
        "go": build_go(tmp_path_factory.mktemp("go")),
    }


@dataclass
class Program:
    """One language's program and its stack: `step` runs up-api, up-access, refresh or destroy and
    returns what the program printed as JSON; `export` is `pulumi stack export`; `printed` is every
    text the CLI and the program printed so far."""

    step: Callable[[str], dict[str, Any]]
    export: Callable[[], dict[str, Any]]
    printed: Callable[[], list[str]]


def _config(emu: Emulator, api_key: str, tokens: dict[str, str]) -> dict[str, dict[str, Any]]:
    values = {k: {"value": v} for k, v in provider_config(emu, ORG).items()}
    values["sgbitbucket:apiKey"] = {"value": api_key, "secret": True}
    values.update({f"token_{k}": {"value": v, "secret": True} for k, v in tokens.items()})
    return values


def python_program(sgbitbucket: Any, pulumi_cli: Path, root: Path, config: dict[str, dict[str, Any]]) -> Program:
    """The same program as programs/nodejs and programs/go, in Python, run in this process."""

    def program(access: bool) -> Callable[[], None]:
        def run() -> None:
            cfg = pulumi.Config()
            if access:
                main = sgbitbucket.Connector(
                    "main", name="python-main", workspace="acme", auth_type=sgbitbucket.AuthType.ACCESS_TOKEN,
                    access_token_scope=sgbitbucket.AccessTokenScope.WORKSPACE,
                    access_token=cfg.require_secret("token_access"))
            else:
                main = sgbitbucket.Connector(
                    "main", name="python-main", workspace="acme", description="from Python",
                    auth_type=sgbitbucket.AuthType.API_TOKEN, username="alice", email="alice@acme.io",
                    api_token=cfg.require_secret("token_api"))
            found = sgbitbucket.get_connector_output(connector_id=main.connector_id)
            pulumi.export("connectorId", main.connector_id)
            pulumi.export("authType", main.auth_type)
            pulumi.export("lookedUpName", found.name)
        return run

    project = PulumiProject.create(pulumi_cli, root, project="native-python", config={
        k: auto.ConfigValue(v["value"], secret=v.get("secret", False)) for k, v in config.items()})

    def step(name: str) -> dict[str, Any]:
        if name.startswith("up"):
            _, up = project.up(program(name == "up-access"))
            return {"outputs": {k: v.value for k, v in up.outputs.items()}, "summary": up.summary.resource_changes}
        call = {"refresh": project.refresh, "destroy": project.destroy}[name]
        _, result = call()
        return {"summary": result.summary.resource_changes}

    return Program(step, project.export, lambda: list(project.printed()))


def subprocess_program(language: str, command: list[str], pulumi_cli: Path, root: Path,
                       config: dict[str, dict[str, Any]]) -> Program:
    """A compiled TypeScript or Go program, run like a user runs it, one step per process."""
    for folder in ("home", "state", "work"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update({
        "PATH": os.pathsep.join([str(pulumi_cli.parent), str(VENV_BIN), SYSTEM_PATH]),
        "PULUMI_CLI_ROOT": str(cli_root(pulumi_cli)),
        "WORK_DIR": str(root / "work"),
        "PULUMI_HOME": str(root / "home"),
        "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "NATIVE_CONFIG": json.dumps(config),
    })
    texts: list[str] = []

    def step(name: str) -> dict[str, Any]:
        done = subprocess.run([*command, name], env=env, capture_output=True, text=True, timeout=600, check=False)
        texts.extend((done.stdout, done.stderr))
        assert done.returncode == 0, f"{language} {name} failed:\n{done.stderr[-5000:]}"
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def export() -> dict[str, Any]:
        done = subprocess.run([str(pulumi_cli), "stack", "export", "--stack", "e2e", "--non-interactive"],
                              cwd=root / "work", env=env, capture_output=True, text=True, timeout=120, check=True)
        texts.append(done.stdout)
        return dict(json.loads(done.stdout)["deployment"])

    return Program(step, export, lambda: list(texts))


@pytest.mark.parametrize("language", LANGUAGES)
def test_program_on_the_generated_sdk_creates_switches_refreshes_and_destroys(
    language: str, pulumi_cli: Path, built: dict[str, Any], tmp_path: Path, emu: Emulator, api_key: str,
    tokens: dict[str, str],
) -> None:
    config = _config(emu, api_key, tokens)
    if language == "python":
        program = python_program(built["python"], pulumi_cli, tmp_path, config)
    elif language == "nodejs":
        program = subprocess_program(language, ["node", str(built["nodejs"] / "bin" / "index.js")], pulumi_cli,
                                     tmp_path, config)
    else:
        program = subprocess_program(language, [str(built["go"])], pulumi_cli, tmp_path, config)
    connector_id = f"{language}_main"

    created = program.step("up-api")
    assert created["outputs"] == {"connectorId": connector_id, "authType": "api_token",
                                  "lookedUpName": f"{language}-main"}
    record = raw_record(emu, ORG, connector_id)
    assert record is not None and record["ContextTags"][OWNER_TAG] == "pulumi"
    assert record["Settings"]["config"][0]["bitbucketAuthType"] == "API_TOKEN"

    switched = program.step("up-access")
    assert switched["outputs"]["authType"] == "access_token" and switched["summary"].get("update") == 1
    config_after = raw_record(emu, ORG, connector_id)["Settings"]["config"][0]  # type: ignore[index]
    assert config_after["bitbucketAuthType"] == "ACCESS_TOKEN" and not config_after.get("bitbucketCreds")
    assert config_after["bitbucketAccessToken"] == tokens["access"]

    emu.admin("POST", "/clock", {"now": "2026-01-15T00:05:00Z"})
    emu.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}", {"Description": "edited outside"})
    refreshed = program.step("refresh")
    assert refreshed["summary"].get("update") == 1, refreshed
    state = program.export()
    main = next(r for r in state["resources"] if r["type"] == "sgbitbucket:index:Connector")
    assert main["outputs"]["description"] == "edited outside"
    secret_outputs_encrypted(main, "accessToken", "apiToken", "credentialsFingerprint")

    destroyed = program.step("destroy")
    assert destroyed["summary"].get("delete") == 2  # the connector and the stack
    assert raw_record(emu, ORG, connector_id) is None
    assert_no_leak([*program.printed(), json.dumps(state)], api_key, *tokens.values())
