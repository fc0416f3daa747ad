"""`sg-bitbucket demo`: the whole product in a few seconds, on an embedded emulator, with nothing to set up.

It starts an :class:`~sg_bitbucket_iac.emulator.Emulator`, seeds a Bitbucket workspace, credentials
and a legacy app-password connector someone once clicked together, writes a definitions file whose
secrets are ``${file:...}`` references, then runs the real commands in-process, one step after
another: validate -> plan -> apply -> auth-type switch -> out-of-band edit -> drift -> audit ->
(the clock passes 2026-06-09) -> app passwords refused -> migrate. Each step prints the command,
its output, and what to notice. The product clock is injected through the settings of each run
(``SG_BITBUCKET_IAC_NOW`` in the environment handed to the command), the emulated services' clock
through the admin API; the process environment is not touched.

Exit 0 when every step ended as expected; 1 (naming the step) otherwise.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DemoFailed
from .commands.common import Context
from .exit_codes import EXIT_CHANGES, EXIT_ERROR, EXIT_OK

ORG = "demo"
API_KEY = "sgo_demo_key_0123456789"
WORKSPACE = "acme"
DEPRECATED_PHASE = "2026-03-02T09:00:00Z"  # app passwords still work, with a warning
AFTER_END_OF_SUPPORT = "2026-06-10T09:00:00Z"  # StackGuardian refuses them (outside Bitbucket's brownouts)
API_TOKEN_SCOPES = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
                    "read:project:bitbucket", "read:pullrequest:bitbucket", "read:account", "read:me"]
# Demo credentials (they exist only inside this run's emulator).
SECRETS = {
    "alice-api-token": "ATATT3xDemoAliceApiToken0000000000000001",
    "infra-repo-token": "ATCTT3xDemoInfraRepositoryToken00000002",
    "workspace-token": "ATCTT3xDemoWorkspaceAccessToken00000003",
    "bob-app-password": "ATBBDemoBobLegacyAppPassword000000004",
    "bob-api-token": "ATATT3xDemoBobNewApiToken00000000000005",
}

DEFINITIONS = """\
org: demo
connectors:
  - name: bitbucket-main
    description: Terraform code of the platform team
    tags: [platform]
    workspace: acme
    auth:
      type: api_token
      username: alice
      email: alice@acme.example
      api_token: ${file:secrets/alice-api-token}
  - name: infra-repo
    description: The infra repository only
    workspace: acme
    auth:
      type: access_token
      scope: repository
      repository: infra
      access_token: ${file:secrets/infra-repo-token}
"""
# Step 4: the same connector, switched to a workspace access token (same Id, whole new credential set).
SWITCHED_AUTH = """\
    auth:
      type: access_token
      scope: workspace
      access_token: ${file:secrets/workspace-token}
"""
LEGACY_FILE = """\
org: demo
connectors:
  - name: legacy-pipelines
    workspace: acme
    auth: {type: app_password, username: bob, app_password: "${file:secrets/bob-app-password}"}
"""


@dataclass
class Demo:
    ctx: Context
    workdir: Path
    environ: dict[str, str] = field(default_factory=dict)
    emulator: Any = None
    number: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)  # what --json reports

    # ------------------------------------------------------------------ plumbing
    def admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self.emulator.admin(method, path, body)
        return result

    def set_clock(self, instant: str) -> None:
        """Product clock (each command's settings) and the emulated services' clock move together."""
        self.environ["SG_BITBUCKET_IAC_NOW"] = instant
        self.admin("POST", "/clock", {"now": instant})
        self.ctx.out.line(f"\n[clock] it is now {instant}", "bold magenta")

    def step(self, title: str, argv: Sequence[str], expect: int, notice: str) -> None:
        from .app import main

        self.number += 1
        self.ctx.out.line(f"\n=== {self.number}. {title} ===", "bold cyan")
        self.ctx.out.line("$ sg-bitbucket " + " ".join(argv), "bold")
        flags = ["--no-color"] if self.ctx.flag("no_color", False) else []
        with contextlib.redirect_stderr(sys.stdout):  # errors read in place, within their step
            code = main([*argv, *flags], environ=self.environ)
        self.steps.append({"step": self.number, "title": title, "command": ["sg-bitbucket", *argv],
                           "exit": code, "expected": expect})
        verdict = f"-> exit {code}: {notice}"
        self.ctx.out.line(textwrap.fill(verdict, width=110, subsequent_indent="   "),
                          "green" if code == expect else "bold red")
        if code != expect:
            raise DemoFailed(f"step {self.number} ({title}) exited {code}, expected {expect}")

    def capture(self, argv: Sequence[str]) -> str:
        """A command's stdout, for a file the next step uses (no colour: it is YAML)."""
        from .app import main

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main([*argv, "--no-color"], environ=self.environ)
        if code != EXIT_OK:
            raise DemoFailed(f"`sg-bitbucket {' '.join(argv)}` exited {code}")
        return buffer.getvalue()

    # ------------------------------------------------------------------ setup
    def seed(self) -> None:
        self.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        self.admin("POST", "/bitbucket/workspaces", {
            "slug": WORKSPACE,
            "projects": [{"key": "PLAT"}],
            "repositories": [{"slug": "infra", "project": "PLAT", "pullrequests": ["Add VPC"]},
                             {"slug": "pipelines", "project": "PLAT"}],
        })
        credentials: list[dict[str, Any]] = [
            {"kind": "api_token", "secret": SECRETS["alice-api-token"], "email": "alice@acme.example",
             "username": "alice", "scopes": API_TOKEN_SCOPES, "workspaces": [WORKSPACE]},
            {"kind": "access_token", "secret": SECRETS["infra-repo-token"], "scopes": ["repository", "pullrequest"],
             "resource": f"{WORKSPACE}/infra"},
            {"kind": "access_token", "secret": SECRETS["workspace-token"],
             "scopes": ["repository", "pullrequest", "project", "account"], "resource": WORKSPACE},
            {"kind": "app_password", "secret": SECRETS["bob-app-password"], "username": "bob",
             "scopes": ["account", "team", "repository", "project", "pullrequest"], "workspaces": [WORKSPACE]},
            {"kind": "api_token", "secret": SECRETS["bob-api-token"], "email": "bob@acme.example",
             "username": "bob", "scopes": API_TOKEN_SCOPES, "workspaces": [WORKSPACE]},
        ]
        for credential in credentials:
            self.admin("POST", "/bitbucket/credentials", credential)
        # A connector clicked together in the UI years ago, with an app password: not managed by this tool.
        self.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [{
            "Id": "legacy_pipelines", "ResourceName": "legacy-pipelines", "Description": "Old pipelines connector",
            "Tags": [], "ContextTags": {"team": "pipelines"},
            "Settings": {"kind": "BITBUCKET_ORG", "config": [{
                "bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": f"bob:{SECRETS['bob-app-password']}"}]},
        }]})
        secrets_dir = self.workdir / "secrets"
        secrets_dir.mkdir()
        for name, value in SECRETS.items():
            (secrets_dir / name).write_text(value + "\n", encoding="utf-8")
            self.ctx.remember_secret(value)
        (self.workdir / "connectors.yaml").write_text(DEFINITIONS, encoding="utf-8")
        (self.workdir / "legacy.yaml").write_text(LEGACY_FILE, encoding="utf-8")
        self.environ.update({
            "SG_API_TOKEN": API_KEY,
            "SG_BASE_URL": self.emulator.stackguardian_url,
            "SG_ORG": ORG,
            "BITBUCKET_API_URL": self.emulator.bitbucket_url,
            "BOB_API_TOKEN": SECRETS["bob-api-token"],
        })

    # ------------------------------------------------------------------ the story
    def walk(self) -> None:
        definitions = str(self.workdir / "connectors.yaml")
        self.set_clock(DEPRECATED_PHASE)
        self.step("validate: schema, secret references, and each credential against Bitbucket",
                  ["validate", "-f", definitions], EXIT_OK,
                  "both credentials pass preflight (identity, workspace, every read scope); nothing was written")
        self.step("plan: what apply would do", ["plan", "-f", definitions, "--detailed-exitcode"], EXIT_CHANGES,
                  "two creates, per field; secrets only ever show as (sensitive); exit 2 = changes pending")
        self.step("apply", ["apply", "-f", definitions, "--auto-approve"], EXIT_OK,
                  "preflight, then one write per connector; ContextTags now say they are owned by the CLI "
                  "(sg-bitbucket-iac/owner: cli), with a fingerprint of the credential (HMAC for a generated token, "
                  "scrypt otherwise), never the credential")
        self.step("plan again", ["plan", "-f", definitions, "--detailed-exitcode"], EXIT_OK,
                  "nothing to do: StackGuardian is the state, and it matches the file")

        path = Path(definitions)
        text = path.read_text(encoding="utf-8")
        start = text.index("    auth:\n      type: api_token")
        end = text.index("  - name: infra-repo")
        path.write_text(text[:start] + SWITCHED_AUTH + text[end:], encoding="utf-8")
        self.ctx.out.line("\n[edit] connectors.yaml: bitbucket-main switches from an API token to a "
                          "workspace access token", "bold magenta")
        self.step("plan the auth-type switch", ["plan", "-f", definitions], EXIT_OK,
                  "an in-place update of the same connector Id that replaces every credential field "
                  "(old ones removed, new ones sent): no leftover email or username on the server")
        self.step("apply the switch", ["apply", "-f", definitions, "--auto-approve"], EXIT_OK,
                  "workflows that point at /integrations/bitbucket_main keep working")

        self.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/infra_repo",
                   {"Description": "changed by hand in the UI", "Tags": ["hotfix"]})
        self.ctx.out.line("\n[out of band] someone edits infra-repo in the StackGuardian UI", "bold magenta")
        self.step("drift", ["drift", "-f", definitions], EXIT_CHANGES,
                  "one listall scan; infra-repo changed outside (description, tags) against what was last "
                  "applied; exit 2 = drift")
        self.step("drift as a pull-request comment", ["drift", "-f", definitions, "--format", "markdown"],
                  EXIT_CHANGES, "the same report in Markdown")
        self.step("audit the whole org", ["audit"], EXIT_CHANGES,
                  "legacy-pipelines is an unmanaged app-password connector: deprecated, migrate before 2026-06-09")

        self.set_clock(AFTER_END_OF_SUPPORT)
        self.step("app passwords after 2026-06-08 are refused before anything is sent",
                  ["validate", "-f", str(self.workdir / "legacy.yaml")], EXIT_ERROR,
                  "the error names the path and the migration command")
        self.step("audit after the end of support", ["audit"], EXIT_CHANGES,
                  "legacy-pipelines is now unsupported: migrate it")
        migrate = ["migrate", "--connector", "legacy_pipelines", "--to", "api_token", "--workspace", WORKSPACE,
                   "--username", "bob", "--email", "bob@acme.example", "--secret-env", "BOB_API_TOKEN"]
        self.step("migrate, dry run", migrate, EXIT_OK,
                  "full credential replacement of the same connector, and the new token's preflight; nothing "
                  "changed yet")
        self.step("migrate", [*migrate, "--auto-approve"], EXIT_OK,
                  "same Id, API token now; its other ContextTags (team) kept; its owner unchanged (none)")
        self.step("audit again", ["audit"], EXIT_OK, "no app passwords left, every credential authenticates")
        self.step("import the migrated connector as code", ["import", "legacy_pipelines", "--to-yaml"], EXIT_OK,
                  "a complete definitions file (`adopt: true`: the first apply takes it over)")
        imported = self.workdir / "imported.yaml"
        imported.write_text(self.capture(["import", "legacy_pipelines", "--to-yaml"]), encoding="utf-8")
        self.environ["BB_LEGACY_PIPELINES_API_TOKEN"] = self.environ["BOB_API_TOKEN"]
        self.ctx.out.line(f"\n[edit] that output saved as {imported.name}; BB_LEGACY_PIPELINES_API_TOKEN exported",
                          "bold magenta")
        self.step("apply the imported definition", ["apply", "-f", str(imported), "--auto-approve"], EXIT_OK,
                  "adopted in place: the same connector, now owned by the CLI; nothing was created")
        self.step("plan it again", ["plan", "-f", str(imported), "--detailed-exitcode"], EXIT_OK,
                  "the round trip closes: import -> apply -> no changes")


def run(ctx: Context) -> int:
    """The tour on stdout; with --json the tour goes to stderr and stdout gets one JSON document."""
    if not ctx.json:
        return _walk(ctx)[0]
    with contextlib.redirect_stdout(sys.stderr):
        code, demo, seconds = _walk(ctx)
    ctx.out.json({"ok": code == EXIT_OK, "seconds": round(seconds, 1), "steps": demo.steps if demo else []})
    return code


def _walk(ctx: Context) -> tuple[int, Demo | None, float]:
    from .. import emulator as emulator_package

    started = time.monotonic()
    ctx.out.line("sg-bitbucket demo: an embedded StackGuardian + Bitbucket emulator, real commands, "
                 "a few seconds.", "bold")
    with tempfile.TemporaryDirectory(prefix="sg-bitbucket-demo-") as workdir, \
            emulator_package.Emulator() as emulator:
        demo = Demo(ctx, Path(workdir), emulator=emulator)
        demo.seed()
        ctx.out.line(f"emulator: StackGuardian {emulator.stackguardian_url}, Bitbucket {emulator.bitbucket_url}; "
                     f"org {ORG}, workspace {WORKSPACE}; definitions in {workdir}/connectors.yaml")
        try:
            demo.walk()
        except DemoFailed as failure:
            ctx.out.err(f"demo failed: {failure}")
            return EXIT_ERROR, demo, time.monotonic() - started
    seconds = time.monotonic() - started
    ctx.out.line(f"\nDemo complete: {demo.number} steps in {seconds:.1f}s.", "bold green")
    return EXIT_OK, demo, seconds
