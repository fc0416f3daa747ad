"""The repository's own Pulumi project (Pulumi.yaml, Pulumi.dev.yaml, examples/pulumi/) as the README runs it.

Two parts:

* the project layout under the real `pulumi-resource-pulumi-python` shim: the engine starts the
  dynamic provider in the program's directory (`main`) with the Pulumi.yaml runtime options as
  `PULUMI_RUNTIME_*` variables, while the language host resolves `virtualenv` against the project
  root; so `main: examples/pulumi/` with `virtualenv: .venv` sends the provider to a missing
  `examples/pulumi/.venv`. The repository's Pulumi.yaml must start the provider from the project's
  venv when that venv is activated, as the README says;
* the example program itself under the real CLI, from a copy of the repository's project files,
  with the stack config the README tells a user to set: preview, up, refresh, destroy.

The language host `pulumi-language-python` cannot be built here (the Go module proxy refuses
github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), so the program runs as an
Automation API inline program (runpy of examples/pulumi/__main__.py); everything after the program
(engine, shim, provider process, state) is the real thing.
"""

from __future__ import annotations

import os
import runpy
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seeding import API_TOKEN_SCOPES

pytest.importorskip("pulumi")

import yaml
from engines import require_engine
from pulumi import automation as auto
from pulumi_harness import SG_ENV, SHIM, PulumiProject, raw_record
from traffic_guard import GUARD_ENV

from sg_bitbucket_iac.emulator import Emulator

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ORG = "acme"
CLOCK = "2026-01-15T00:00:00Z"


def project_copy(root: Path, pulumi_yaml: str | None = None) -> Path:
    """The repository's project files in `root` (Pulumi.yaml verbatim unless given), with the
    project venv at `root/.venv` as the README creates it (a link to the venv running the tests)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(pulumi_yaml if pulumi_yaml is not None else (REPO / "Pulumi.yaml").read_text())
    shutil.copy(REPO / "Pulumi.dev.yaml", root / "Pulumi.dev.yaml")
    shutil.copytree(REPO / "examples" / "pulumi", root / "examples" / "pulumi")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return root


def start_provider_as_the_engine_does(root: Path, shim: Path) -> subprocess.CompletedProcess[str]:
    """Run the shim the way the engine does for this project (pkg/engine/project.go getPwdMain,
    pkg/resource/plugin/provider_plugin.go): in the program's directory, with PULUMI_RUNTIME_<OPTION>
    for each runtime option, and the project venv activated (its bin first on PATH)."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    runtime = project.get("runtime") or {}
    options: dict[str, Any] = runtime.get("options") or {} if isinstance(runtime, dict) else {}
    program_dir = (root / project["main"]) if project.get("main") else root
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_RUNTIME_", "PULUMI_PYTHON_CMD"))}
    env.update({f"PULUMI_RUNTIME_{key.upper()}": str(value) for key, value in options.items()})
    env["PULUMI_PROJECT"] = project["name"]
    env["PATH"] = os.pathsep.join([str(root / ".venv" / "bin"), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    process = subprocess.Popen([str(shim)], cwd=program_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        first_line = process.stdout.readline() if ready else ""  # the port, once `python -m pulumi.dynamic` serves
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the shell shim and the python it started
        _, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, first_line, stderr)


def test_the_repository_layout_starts_the_provider_from_the_activated_project_venv(tmp_path: Path) -> None:
    shim = require_engine(SHIM, "the engine runs Python dynamic providers through it")
    started = start_provider_as_the_engine_does(project_copy(tmp_path / "repo"), shim)
    assert started.stdout.strip().isdigit(), started.stderr  # the provider process printed its port

    # The layout this replaced, as a control: the shim resolves `virtualenv` in examples/pulumi/.
    old = (REPO / "Pulumi.yaml").read_text().replace("toolchain: pip", "toolchain: pip\n    virtualenv: .venv")
    assert "virtualenv: .venv" in old
    failed = start_provider_as_the_engine_does(project_copy(tmp_path / "old", old), shim)
    assert not failed.stdout.strip().isdigit()
    assert "examples/pulumi/.venv" in failed.stderr and "doesn't exist" in failed.stderr


# --------------------------------------------------------------------------- the example under the CLI
@pytest.fixture
def emu_with_example_credentials(sentinel: str) -> Iterator[tuple[Emulator, dict[str, str]]]:
    secrets_ = {"apiKey": f"sgo_{sentinel}", "bbApiToken": f"{sentinel}-api", "bbAccessToken": f"{sentinel}-access"}
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [secrets_["apiKey"]]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "repositories": [{"slug": "infra"}]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": secrets_["bbApiToken"], "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "access_token", "secret": secrets_["bbAccessToken"], "resource": "acme/infra",
            "scopes": ["repository", "pullrequest"], "workspaces": ["acme"]})
        yield emulator, secrets_


def test_the_example_program_preview_up_refresh_destroy(
    emu_with_example_credentials: tuple[Emulator, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = require_engine("pulumi", "the README runs `pulumi up`")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    emu, secret = emu_with_example_credentials
    for name in SG_ENV:  # the URLs keep the traffic guard's closed loopback port (tests/traffic_guard.py)
        if name not in GUARD_ENV:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)
    root = project_copy(tmp_path / "repo")
    # `pulumi stack init dev` with the repository's Pulumi.dev.yaml, then the README's config commands.
    project = PulumiProject.create(cli, tmp_path, project="sg-bitbucket-connectors", stack="dev", work_dir=root,
                                   venv_bin=root / ".venv" / "bin")
    project.stack.set_all_config({
        "stackguardian:apiKey": auto.ConfigValue(secret["apiKey"], secret=True),
        "bbApiToken": auto.ConfigValue(secret["bbApiToken"], secret=True),
        "bbAccessToken": auto.ConfigValue(secret["bbAccessToken"], secret=True),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
    })
    assert project.stack.get_config("stackguardian:org").value == ORG  # from Pulumi.dev.yaml

    def program() -> None:
        runpy.run_path(str(root / "examples" / "pulumi" / "__main__.py"), run_name="__main__")

    run, preview = project.preview(program)
    assert preview.change_summary == {"create": 3}, run.stdout  # two connectors and the stack
    run, up = project.up(program)
    assert up.summary.resource_changes == {"create": 3}, run.stdout
    assert up.outputs["main_connector_id"].value == "bitbucket_main"
    assert up.outputs["infra_connector_id"].value == "infra_repo" and up.outputs["main_authenticated"].value is True
    assert raw_record(emu, ORG, "bitbucket_main") is not None and raw_record(emu, ORG, "infra_repo") is not None
    run, refresh = project.refresh()
    assert refresh.summary.resource_changes == {"same": 3}, run.stdout
    state = project.export()  # `pulumi stack export`: checked with everything printed below
    assert {r["type"] for r in state["resources"]} >= {"pulumi-python:dynamic/stackguardian:BitbucketConnector"}
    run, destroy = project.destroy()
    assert destroy.summary.resource_changes == {"delete": 3}, run.stdout
    assert raw_record(emu, ORG, "bitbucket_main") is None and raw_record(emu, ORG, "infra_repo") is None
    for text in project.printed():
        for value in secret.values():
            assert value not in text
