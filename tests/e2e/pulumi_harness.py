"""Running the real Pulumi CLI (`pulumi` v3.274.1 from `scripts/install-engines`) on inline programs.

Why inline programs: the Python language host `pulumi-language-python` cannot be built here (the
Go module proxy refuses github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), so the
program runs in the test process through the Automation API (`pulumi up --client=<address>`),
while everything else is the real engine: step generation, Check/Diff/Create/Update/Read/Delete
against the real `pulumi-resource-pulumi-python` shim running `python -m pulumi.dynamic` from this
venv, secrets handling, state files and the CLI's own output.

Isolation, per project: a `file://` backend and `PULUMI_HOME` in a temp dir, a passphrase secrets
provider, `PULUMI_SKIP_UPDATE_CHECK`, no plugin acquisition, the engines' bin folder first on PATH
(for the shim), `PULUMI_PYTHON_CMD` = this venv's python (so the shim imports sg_bitbucket_iac from
here), and the product's settings only from stack config (the caller clears the environment).

Every byte the CLI printed (stdout, stderr, the engine event stream) is kept for leak checks.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation import events

from sg_bitbucket_iac.emulator import Emulator, EmulatorAdminError

# The settings' environment variables: none of the person running the tests may reach a stack.
SG_ENV = ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI", "SG_ORG",
          "STACKGUARDIAN_ORG_NAME", "BITBUCKET_API_URL", "SG_BITBUCKET_IAC_PREFLIGHT")


PASSPHRASE = "e2e-passphrase-not-a-secret"
SHIM = "pulumi-resource-pulumi-python"
SECRET_SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
TYPE = "pulumi-python:dynamic/stackguardian:BitbucketConnector"


def cli_root(binary: Path) -> Path:
    """The folder PulumiCommand(root=...) wants: it runs `<root>/bin/pulumi`."""
    if binary.parent.name != "bin":
        raise RuntimeError(f"{binary} is not in a bin/ folder; PulumiCommand cannot run it")
    return binary.parent.parent


@dataclass
class Run:
    """One CLI command: what it printed, and the engine events it streamed."""

    command: str
    stdout: str
    stderr: str
    events: list[events.EngineEvent] = field(default_factory=list)

    def ops(self, op_event: str = "resource_pre_event") -> list[tuple[str, str]]:
        """(op, resource name) in the order the engine ran the steps."""
        found = []
        for event in self.events:
            pre = getattr(event, op_event)
            if pre is not None and pre.metadata.type == TYPE:
                found.append((str(pre.metadata.op.value), pre.metadata.urn.rsplit("::", 1)[-1]))
        return found

    def op_of(self, name: str) -> list[str]:
        return [op for op, resource in self.ops() if resource == name]


@dataclass
class PulumiProject:
    """One Pulumi project and stack in a temp dir, run by the real CLI."""

    stack: auto.Stack
    root: Path
    runs: list[Run] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        binary: Path,
        root: Path,
        *,
        project: str,
        stack: str = "e2e",
        config: Mapping[str, auto.ConfigValue] | None = None,
        main: str | None = None,
        work_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        venv_bin: Path | None = None,
    ) -> PulumiProject:
        """``venv_bin``: run Python as an activated venv does (that folder first on PATH, no
        PULUMI_PYTHON_CMD), the way the README tells a user to; default: this venv's python."""
        home, backend = root / "pulumi-home", root / "state"
        work = work_dir or root / "work"
        for folder in (home, backend, work):
            folder.mkdir(parents=True, exist_ok=True)
        env = {
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{backend}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PATH": os.pathsep.join([str(binary.parent), str(venv_bin or Path(sys.executable).parent),
                                     os.environ.get("PATH", "")]),
            **(extra_env or {}),
        }
        env["PULUMI_PYTHON_CMD"] = sys.executable if venv_bin is None else ""  # empty: python3 on PATH
        settings = None
        if not (work / "Pulumi.yaml").exists():
            settings = auto.ProjectSettings(name=project, runtime="python", main=main)
        workspace = auto.LocalWorkspace(
            work_dir=str(work),
            pulumi_home=str(home),
            env_vars=env,
            secrets_provider="passphrase",
            project_settings=settings,
            pulumi_command=auto.PulumiCommand(root=str(cli_root(binary)), skip_version_check=True),
        )
        created = auto.Stack.create(stack, workspace)
        if config:
            created.set_all_config(dict(config))
        return cls(created, root)

    # ------------------------------------------------------------------ commands
    def _run(self, command: str, call: Callable[..., Any], **kwargs: Any) -> tuple[Run, Any]:
        out: list[str] = []
        err: list[str] = []
        seen: list[events.EngineEvent] = []
        run = Run(command, "", "", seen)
        self.runs.append(run)
        try:
            result = call(color="never", on_output=out.append, on_error=err.append, on_event=seen.append, **kwargs)
        except auto.CommandError as exc:
            run.stdout, run.stderr = "\n".join(out), "\n".join(err) + "\n" + str(exc)
            raise
        run.stdout, run.stderr = result.stdout, result.stderr
        return run, result

    def up(self, program: Callable[[], None], **kwargs: Any) -> tuple[Run, auto.UpResult]:
        return self._run("up", self.stack.up, program=program, show_secrets=False, **kwargs)

    def preview(self, program: Callable[[], None], **kwargs: Any) -> tuple[Run, auto.PreviewResult]:
        return self._run("preview", self.stack.preview, program=program, **kwargs)

    def refresh(self, **kwargs: Any) -> tuple[Run, auto.RefreshResult]:
        return self._run("refresh", self.stack.refresh, show_secrets=False, **kwargs)

    def destroy(self, **kwargs: Any) -> tuple[Run, auto.DestroyResult]:
        return self._run("destroy", self.stack.destroy, show_secrets=False, **kwargs)

    def failing(self, command: str, program: Callable[[], None] | None = None, **kwargs: Any) -> Run:
        """Run a command that must fail; its output is kept like any other."""
        call = {"up": self.up, "preview": self.preview}[command]
        try:
            call(program, **kwargs)  # type: ignore[arg-type]
        except auto.CommandError:
            return self.runs[-1]
        raise AssertionError(f"pulumi {command} succeeded but was expected to fail:\n{self.runs[-1].stdout}")

    def export(self) -> dict[str, Any]:
        """`pulumi stack export` as a user runs it (secrets encrypted; the Automation API's own
        export_stack adds --show-secrets); its text is kept for the leak check too."""
        workspace = self.stack.workspace
        assert isinstance(workspace, auto.LocalWorkspace) and workspace.pulumi_command is not None
        result = workspace.pulumi_command.run(
            ["stack", "export", "--stack", self.stack.name], workspace.work_dir, dict(workspace.env_vars))
        self.runs.append(Run("stack export", result.stdout, result.stderr))
        return dict(json.loads(result.stdout)["deployment"])

    def resources(self) -> dict[str, dict[str, Any]]:
        """The connector resources in state, by resource name."""
        found = {}
        for resource in self.export().get("resources") or []:
            if resource.get("type") == TYPE:
                found[resource["urn"].rsplit("::", 1)[-1]] = resource
        return found

    # ------------------------------------------------------------------ leak check
    def printed(self) -> Iterator[str]:
        """Everything the CLI printed or streamed, and every export."""
        for run in self.runs:
            yield run.stdout
            yield run.stderr
            for event in run.events:
                yield json.dumps(_event_dict(event), default=str)


def _event_dict(event: events.EngineEvent) -> Any:
    """An engine event as plain data (the dataclasses nest)."""
    def plain(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "__dict__"):
            return {k: plain(v) for k, v in vars(value).items()}
        return str(value)

    return plain(event)


def made_in_the_ui(emu: Emulator, api_key: str, connector_id: str, token: str, org: str = "acme") -> None:
    """A connector made outside any stack (the StackGuardian UI, another tool), through the public API: alice's
    API token in workspace acme, no ContextTags of this tool."""
    from sg_bitbucket_iac.model import parse_connector
    from sg_bitbucket_iac.stackguardian import StackGuardianClient
    from sg_bitbucket_iac.wire import to_create_payload

    connector = parse_connector({
        "name": connector_id, "id": connector_id, "workspace": "acme", "description": "made in the UI",
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": token}})
    client = StackGuardianClient(emu.stackguardian_url, api_key, org)
    try:
        client.create(to_create_payload(connector))
    finally:
        client.close()


def raw_record(emu: Emulator, org: str, connector_id: str) -> dict[str, Any] | None:
    """The emulator's stored record, secrets unmasked (admin API), or None."""
    try:
        return emu.admin("GET", f"/stackguardian/orgs/{org}/integrations/{connector_id}")
    except EmulatorAdminError as exc:
        if exc.status == 404:
            return None
        raise


def is_secret_value(value: Any) -> bool:
    """A secret in a `pulumi stack export` document (encrypted with the passphrase provider)."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG
