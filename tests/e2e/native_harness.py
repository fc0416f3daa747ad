"""Running the real Pulumi CLI on projects that use the native provider `sgbitbucket`.

A :class:`NativeProject` is one project folder and stack with its own `PULUMI_HOME`, a `file://`
backend, the passphrase secrets provider, no update check and no plugin downloads. The CLI is
run as a user runs it (a subprocess per command); the plugin is found the way users find it: the
venv's `bin` (where `pip install` puts `pulumi-resource-sgbitbucket`) on `PATH`, or, with
``ambient=False``, only what `pulumi plugin install` put into `PULUMI_HOME`.

Everything the CLI printed is kept, for the leak checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_harness import PASSPHRASE, SG_ENV, is_secret_value
from seeding import API_TOKEN_SCOPES
from traffic_guard import guarded

from sg_bitbucket_iac.emulator import Emulator

RESOURCE_TYPE = "sgbitbucket:index:Connector"
VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class CliRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class CliFailed(AssertionError):
    def __init__(self, run: CliRun) -> None:
        self.run = run
        super().__init__(f"pulumi {' '.join(run.args)} exited {run.returncode}:\n{run.output[-6000:]}")


@dataclass
class NativeProject:
    """One project and stack in a temp dir, run by the real CLI."""

    binary: Path
    root: Path
    env: dict[str, str]
    runs: list[CliRun] = field(default_factory=list)

    @classmethod
    def create(cls, binary: Path, root: Path, *, stack: str = "e2e", ambient: bool = True,
               extra_path: tuple[Path, ...] = (), extra_env: Mapping[str, str] | None = None) -> NativeProject:
        for folder in ("home", "state", "work"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in SG_ENV and not k.startswith("PULUMI_")}
        guarded(env)  # a program that forgets its URLs fails on 127.0.0.1 (tests/traffic_guard.py)
        path = [str(binary.parent), *(str(p) for p in extra_path)]
        if ambient:
            path.append(str(VENV_BIN))
        env.update({
            "PATH": os.pathsep.join([*path, SYSTEM_PATH]),
            "PULUMI_HOME": str(root / "home"),
            "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            **({} if ambient else {"PULUMI_IGNORE_AMBIENT_PLUGINS": "true"}),
            **(extra_env or {}),
        })
        project = cls(binary, root, env)
        project.stack = stack
        return project

    stack: str = "e2e"

    @property
    def work(self) -> Path:
        return self.root / "work"

    # ------------------------------------------------------------------ commands
    def run(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 300,
            env: Mapping[str, str] | None = None) -> CliRun:
        """One command; ``env``: variables added for this command only."""
        argv = [str(self.binary), *args, "--non-interactive", "--color", "never"]
        done = subprocess.run(argv, cwd=self.work, env={**self.env, **(env or {})}, input=stdin,
                              capture_output=True, text=True, timeout=timeout, check=False)
        run = CliRun(list(args), done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        if check and run.returncode != 0:
            raise CliFailed(run)
        return run

    def start(self, *args: str) -> subprocess.Popen[str]:
        """One command in the background (a test that kills part of it); :meth:`finished` collects it."""
        argv = [str(self.binary), *args, "--non-interactive", "--color", "never"]
        return subprocess.Popen(argv, cwd=self.work, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def finished(self, process: subprocess.Popen[str], *args: str, timeout: float = 120) -> CliRun:
        stdout, stderr = process.communicate(timeout=timeout)
        run = CliRun(list(args), process.returncode, stdout, stderr)
        self.runs.append(run)
        return run

    def fails(self, *args: str) -> CliRun:
        run = self.run(*args, check=False)
        assert run.returncode != 0, f"pulumi {' '.join(args)} succeeded but was expected to fail:\n{run.output}"
        return run

    def program(self, text: str, *, name: str = "native-e2e") -> None:
        """Write Pulumi.yaml: a YAML program (the project's name and runtime added)."""
        (self.work / "Pulumi.yaml").write_text(f"name: {name}\nruntime: yaml\n{text}", encoding="utf-8")

    def init(self, config: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        """A new stack with its config, in one `config set-all` (each CLI start costs ~0.7 s). The test's
        sentinel secrets are on that command line, which nothing prints; users pipe them in instead."""
        self.run("stack", "init", self.stack)
        pairs = [arg for key, value in config.items() for arg in ("--plaintext", f"{key}={value}")]
        pairs += [arg for key, value in secrets.items() for arg in ("--secret", f"{key}={value}")]
        self.run("config", "set-all", *pairs)

    def export(self) -> dict[str, Any]:
        """`pulumi stack export` as a user runs it (secrets encrypted)."""
        return dict(json.loads(self.run("stack", "export").stdout)["deployment"])

    def resources(self) -> dict[str, dict[str, Any]]:
        """The connector resources in state, by resource name."""
        return {r["urn"].rsplit("::", 1)[-1]: r for r in self.export().get("resources") or []
                if r.get("type") == RESOURCE_TYPE}

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def printed(self) -> Iterator[str]:
        for run in self.runs:
            yield run.stdout
            yield run.stderr

    def state_files(self) -> list[str]:
        """Every file the file:// backend wrote (checkpoints, history, backups), as text."""
        return [path.read_text(encoding="utf-8", errors="replace")
                for path in sorted((self.root / "state").rglob("*")) if path.is_file()]


def seed(emu: Emulator, tokens: Mapping[str, str], *, orgs: Mapping[str, str]) -> None:
    """Workspace `acme` (project PLAT, repository infra), the orgs with their API keys, and the
    credentials: API tokens for `api*`, a workspace access token for `access*`, a token with one
    scope for `weak`."""
    for org, key in orgs.items():
        emu.admin("POST", "/orgs", {"org": org, "api_keys": [key]})
    emu.admin("POST", "/bitbucket/workspaces", {
        "slug": "acme", "projects": [{"key": "PLAT"}], "repositories": [{"slug": "infra", "project": "PLAT"}]})
    for name, secret in tokens.items():
        if name.startswith("access"):
            emu.admin("POST", "/bitbucket/credentials", {
                "kind": "access_token", "secret": secret, "resource": "acme",
                "scopes": ["account", "project", "repository"], "workspaces": ["acme"]})
        else:
            emu.admin("POST", "/bitbucket/credentials", {
                "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
                "scopes": ["read:user:bitbucket"] if name == "weak" else API_TOKEN_SCOPES, "workspaces": ["acme"]})


def provider_config(emu: Emulator, org: str) -> dict[str, str]:
    return {"sgbitbucket:org": org, "sgbitbucket:apiUrl": emu.stackguardian_url,
            "sgbitbucket:bitbucketApiUrl": emu.bitbucket_url}


def writes(emu: Emulator) -> int:
    by_method = emu.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


def assert_no_leak(texts: list[str], *secrets: str) -> None:
    """No secret in any text, and no Python traceback shown to the user."""
    assert texts
    for text in texts:
        assert "Traceback (most recent call last)" not in text, text[-3000:]
        for secret in secrets:
            assert secret not in text, f"a secret leaked into:\n{text[-3000:]}"


def secret_outputs_encrypted(resource: Mapping[str, Any], *names: str) -> None:
    for name in names:
        value = resource["outputs"].get(name)
        assert value is None or is_secret_value(value), f"{name} is not encrypted in state: {value!r}"


def verbs(emu: Emulator) -> set[str]:
    """The HTTP methods StackGuardian saw since the stats were last cleared (`DELETE /stats`)."""
    return set(emu.admin("GET", "/stats")["stackguardian"]["by_method"])


def secrets_block(*names: str) -> str:
    """A YAML program's `config:` block declaring each ``token_<name>`` a secret string."""
    return "config:\n" + "".join(f"  token_{name}:\n    type: string\n    secret: true\n" for name in names)


def api_token_connector(resource: str, *, name: str | None = None, token: str = "api", extra: str = "",
                        options: str = "") -> str:
    """One `sgbitbucket:Connector` of a YAML program's `resources:` (alice's API token ``token_<token>``);
    ``extra``: more property lines, ``options``: option lines (each indented as in the program)."""
    text = (f"  {resource}:\n    type: sgbitbucket:Connector\n    properties:\n      name: {name or resource}\n"
            f"      workspace: acme\n      authType: api_token\n      username: alice\n      email: alice@acme.io\n"
            f"      apiToken: ${{token_{token}}}\n{extra}")
    return text + (f"    options:\n{options}" if options else "")


def seed_record(emu: Emulator, org: str, connector_id: str, token: str, *, name: str | None = None,
                tags: Mapping[str, str] | None = None) -> None:
    """A connector written outside the program (in the UI, or by another front: its ``tags``)."""
    emu.admin("POST", f"/stackguardian/orgs/{org}/integrations/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name or connector_id, "Tags": [], "ContextTags": dict(tags or {}),
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


CLOCK = "2026-01-15T00:00:00Z"  # the emulator's and the plugin's clock (the plugin inherits SG_BITBUCKET_IAC_NOW)


def yaml_engine() -> Path:
    """The real Pulumi CLI, with the YAML language host beside it (`require_engine` fails in CI without them)."""
    from engines import require_engine

    binary = require_engine("pulumi", "the native provider's e2e tier runs the real CLI")
    require_engine("pulumi-language-yaml", "YAML programs run on the YAML language host")
    return binary


@contextmanager
def emulated(api_key: str, tokens: Mapping[str, str], *, orgs: tuple[str, ...] = ("acme",)) -> Iterator[Emulator]:
    """An emulator on :data:`CLOCK`: the workspace, the credentials (:func:`seed`), ``orgs`` keyed by ``api_key``."""
    with Emulator() as emulator:
        emulator.admin("POST", "/clock", {"now": CLOCK})
        seed(emulator, tokens, orgs=dict.fromkeys(orgs, api_key))
        yield emulator


def stack_for(binary: Path, root: Path, emu: Emulator, api_key: str, tokens: Mapping[str, str],
              program: str) -> NativeProject:
    """A new stack of ``program`` (YAML) on org `acme` of ``emu``: the API key and each ``token_<name>`` secret."""
    project = NativeProject.create(binary, root)
    project.program(program)
    project.init(provider_config(emu, "acme"),
                 {"sgbitbucket:apiKey": api_key, **{f"token_{k}": v for k, v in tokens.items()}})
    return project
