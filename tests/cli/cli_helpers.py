"""The CLI as a subprocess against an emulator process, or in-process.

* ``run_cli`` runs ``python -m sg_bitbucket_iac.cli.app ...`` (what the console script runs), so
  the tests hold whether ``sg-bitbucket`` points at ``cli.main`` or at ``cli.app``.
* ``emulator_process`` is one ``sg-bitbucket emulator --port 0`` process for the session; each test
  gets its own org, credentials and temporary directory from ``world`` (and zeroed request stats,
  no faults, real clocks), so tests stay independent without paying a process start each.
* ``inproc`` runs ``app.main([...])`` in this process against the in-process ``emulator`` fixture,
  for the many fast cases.

Every secret a test creates starts with the ``sentinel`` value, so one substring search over all
output proves that no secret leaked.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from command_result import CommandResult
from seeding import seed_api_token, seed_credential

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.emulator import Emulator

CLI = [sys.executable, "-m", "sg_bitbucket_iac.cli.app"]
WORKSPACE = "acme"
DEPRECATED_PHASE = "2026-03-02T09:00:00Z"
END_OF_SUPPORT = "2026-06-09T09:00:00Z"
# Settings a developer's shell may carry; the CLI under test must see only what a test gives it.
SETTING_PREFIXES = ("SG_", "STACKGUARDIAN_", "BITBUCKET_", "AWS_")

DEFINITIONS = """\
org: {org}
connectors:
  - name: bitbucket-main
    description: Main workspace
    tags: [platform]
    workspace: acme
    auth:
      type: api_token
      username: alice
      email: alice@acme.io
      api_token: ${{env:TOK_MAIN}}
  - name: infra-repo
    workspace: acme
    auth:
      type: access_token
      scope: repository
      repository: infra
      access_token: ${{file:infra.token}}
"""


CliResult = CommandResult  # the name the CLI suites use


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}


def run_cli(*args: str, env: Mapping[str, str], stdin: str | None = None, cwd: Path | None = None) -> CliResult:
    done = subprocess.run([*CLI, *args], env=dict(env), input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    return CliResult(done.returncode, done.stdout, done.stderr)


def http_json(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
        raw = response.read()
    return json.loads(raw) if raw else {}


# --------------------------------------------------------------------------- emulator process
@dataclass
class EmulatorProcess:
    urls: dict[str, str]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return http_json(method, self.urls["admin_url"] + path, body)


_orgs = itertools.count(1)


@dataclass
class World:
    """One test's slice of the emulator process: its org, key, credentials, files and environment."""

    emulator: EmulatorProcess
    org: str
    sentinel: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None, **extra_env: str) -> CliResult:
        return run_cli(*args, env={**self.env, **extra_env}, stdin=stdin, cwd=self.tmp)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.emulator.admin(method, path, body)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def definitions(self) -> Path:
        return self.write("connectors.yaml", DEFINITIONS.format(org=self.org))

    def credential(self, kind: str, secret: str, **fields: Any) -> None:
        seed_credential(self, kind, secret, **fields)

    def api_token(self, secret: str, **fields: Any) -> None:
        fields.setdefault("workspaces", [WORKSPACE])
        seed_api_token(self, secret, **fields)

    def record(self, connector_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", f"/stackguardian/orgs/{self.org}/integrations/{connector_id}")
        return result

    def records(self) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/stackguardian/orgs/{self.org}/integrations")["records"])

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/stats")["stackguardian"]
        return result

    def sg_writes(self) -> int:
        by_method = self.stats()["by_method"]
        return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))

    def reset_stats(self) -> None:
        self.admin("DELETE", "/stats")

    def set_clocks(self, instant: str) -> None:
        self.env["SG_BITBUCKET_IAC_NOW"] = instant
        self.admin("POST", "/clock", {"now": instant})

    def seed_legacy_app_password(self, connector_id: str = "legacy", username: str = "bob") -> str:
        """A connector someone clicked together with an app password (not managed by this tool)."""
        secret = f"{self.sentinel}-app-password"
        self.credential("app_password", secret, username=username,
                        scopes=["account", "team", "repository", "project", "pullrequest"], workspaces=[WORKSPACE])
        self.admin("POST", f"/stackguardian/orgs/{self.org}/integrations/bulk", {"records": [{
            "Id": connector_id, "ResourceName": connector_id, "Tags": [], "ContextTags": {"team": "pipelines"},
            "Settings": {"kind": "BITBUCKET_ORG", "config": [{
                "bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": f"{username}:{secret}"}]},
        }]})
        return secret


# --------------------------------------------------------------------------- in-process
@dataclass
class InProcess:
    """`app.main([...])` in this process; settings handed over through main's `environ`."""

    emulator: Emulator
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    tmp: Path
    sentinel: str
    env: dict[str, str] = field(default_factory=dict)

    def setenv(self, name: str, value: str) -> None:
        """For `${env:NAME}` references, which read the command's environment (main's `environ`)."""
        self.env[name] = value

    def cli(self, *args: str, **extra_env: str) -> CliResult:
        self.capsys.readouterr()
        code = app.main(list(args), environ={**self.env, **extra_env})
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def sg_requests(self) -> int:
        return int(self.emulator.admin("GET", "/stats")["stackguardian"]["total"])

    def sg_writes(self) -> int:
        by_method = self.emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
        return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))
