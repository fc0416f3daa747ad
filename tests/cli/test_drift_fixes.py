"""Every drift finding names the one command that fixes it, and that command fixes it (issue 22, part 4).

For each finding: make it happen (behind the tool's back, through the admin API, or by editing the
file), read ``fix`` from `drift --json`, check the table and the Markdown report give the same text,
do what it says literally (the command from its backticks; a file edit first where it says so), and
see `drift` come back clean (exit 0).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from advice import argv, the_command
from cli_helpers import DEPRECATED_PHASE, END_OF_SUPPORT, InProcess
from markdown_cells import cell_text, rendered

from sg_bitbucket_iac.ownership import owner_tags
from sg_bitbucket_iac.preflight import DEFAULT_CACHE
from sg_bitbucket_iac.tags import Front

RECORDS = "/stackguardian/orgs/acme/integrations"
ENTRY = """\
  - name: {name}
    workspace: acme
    auth: {{type: api_token, username: alice, email: alice@acme.io, api_token: "${{env:TOK_MAIN}}"}}
"""
APP_PASSWORD_ENTRY = """\
  - name: {name}
    workspace: acme
    auth: {{type: app_password, username: bob, app_password: "${{env:AP}}"}}
"""


def definitions(*entries: str, prune: bool = False) -> str:
    return ("prune: true\n" if prune else "") + "connectors:\n" + "".join(entries)


def edit(inproc: InProcess, connector_id: str, changes: dict[str, Any]) -> None:
    inproc.emulator.admin("PATCH", f"{RECORDS}/{connector_id}", changes)


def drift(inproc: InProcess, path: str, *extra: str, **env: str) -> dict[str, Any]:
    """The one drifted connector's report, checked to give the same fix in all three formats."""
    result = inproc.cli("drift", "-f", path, "--json", *extra, **env)
    assert result.code == 2, result.output
    (report,) = [r for r in result.json()["connectors"] if r["status"] != ["in_sync"]]
    assert report["fix"], report
    table = inproc.cli("drift", "-f", path, *extra, **env).stdout
    assert f"fix {report['connector_id']}: {report['fix']}" in table.splitlines()
    markdown = inproc.cli("drift", "-f", path, "--format", "markdown", *extra, **env).stdout
    (_header, row) = rendered(markdown).rows
    assert cell_text(row[-1]) == report["fix"].replace("`", "")  # as GitHub shows it, commands as code
    assert inproc.sentinel not in result.output + table + markdown
    return report


def follow(inproc: InProcess, report: dict[str, Any], path: str, **env: str) -> None:
    command = the_command(report["fix"], "sg-bitbucket")
    args = argv(command)
    assert args[:3] == ["apply", "-f", path], command  # the file as the person named it
    done = inproc.cli(*args, "--auto-approve", **env)
    assert done.code == 0, f"`{command}` failed:\n{done.output}"


def clean(inproc: InProcess, path: str, *extra: str, **env: str) -> None:
    after = inproc.cli("drift", "-f", path, "--json", *extra, **env)
    assert after.code == 0, after.output
    assert all(r["status"] == ["in_sync"] and r["fix"] is None for r in after.json()["connectors"])


@pytest.fixture
def applied(inproc: InProcess) -> str:
    """`bitbucket-main` declared and applied."""
    path = str(inproc.write("connectors.yaml", definitions(ENTRY.format(name="bitbucket-main"))))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    return path


# --------------------------------------------------------------------------- findings an apply of the file fixes
@pytest.mark.parametrize(("finding", "make"), [
    ("changed_outside", lambda inproc, path: edit(inproc, "bitbucket_main", {"Description": "edited in the UI"})),
    ("not_yet_applied", lambda inproc, path: inproc.write("connectors.yaml", definitions(
        ENTRY.format(name="bitbucket-main").replace("    workspace", "    tags: [prod]\n    workspace")))),
    # The CLI keeps its state in the record: deleted with it, the connector looks never created.
    ("not_created", lambda inproc, path: inproc.emulator.admin("DELETE", f"{RECORDS}/bitbucket_main")),
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_finding_that_apply_fixes_names_apply_of_that_connector(
    inproc: InProcess, applied: str, finding: str, make: Callable[[InProcess, str], None]
) -> None:
    make(inproc, applied)
    report = drift(inproc, applied)
    assert report["finding"] == finding and finding in report["status"]
    assert report["fix"].startswith(f"`sg-bitbucket apply -f {applied} bitbucket_main`")
    follow(inproc, report, applied)
    clean(inproc, applied)


def test_a_credential_swapped_within_the_clock_skew_names_the_re_send(inproc: InProcess, applied: str) -> None:
    """The case of the issue: swapped for a dead one seconds after our write, so `ModifiedAt` shows nothing;
    StackGuardian says it does not authenticate, `plan` sees no change and a plain apply sends nothing."""
    edit(inproc, "bitbucket_main", {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "alice:not-a-working-token",
        "bitbucketEmail": "alice@acme.io"}]}})
    report = drift(inproc, applied)
    assert report["status"] == ["credentials_failing"]
    assert inproc.cli("plan", "-f", applied, "--detailed-exitcode").code == 0  # nothing visible changed
    assert report["fix"].startswith(f"`sg-bitbucket apply -f {applied} bitbucket_main --resend-credentials`")
    follow(inproc, report, applied)
    clean(inproc, applied)


def test_a_declared_credential_bitbucket_refuses_too_names_replacing_it_first(inproc: InProcess, applied: str) -> None:
    inproc.emulator.admin("PATCH", f"/bitbucket/credentials/{inproc.sentinel}-main-api-token", {"revoked": True})
    DEFAULT_CACHE.clear()  # each CLI run is a process of its own: no preflight verdict from the apply above
    report = drift(inproc, applied, "--verify-credentials")
    assert report["finding"] == "declared_credentials_failing"
    assert report["fix"].startswith("Bitbucket refuses the declared credential too: replace it")
    # Replaced where the entry references it (the environment variable), then the command.
    replacement = f"{inproc.sentinel}-new-api-token"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": replacement, "email": "alice@acme.io", "username": "alice",
        "scopes": ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
                   "read:project:bitbucket", "read:pullrequest:bitbucket"], "workspaces": ["acme"]})
    inproc.setenv("TOK_MAIN", replacement)
    follow(inproc, report, applied)
    clean(inproc, applied, "--verify-credentials")


def test_an_app_password_past_the_timeline_names_switching_its_entry(inproc: InProcess) -> None:
    password = f"{inproc.sentinel}-app-password"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "app_password", "secret": password, "username": "bob", "workspaces": ["acme"],
        "scopes": ["account", "team", "repository", "project", "pullrequest"]})
    inproc.emulator.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    inproc.setenv("AP", password)
    path = str(inproc.write("connectors.yaml", definitions(APP_PASSWORD_ENTRY.format(name="legacy"))))
    assert inproc.cli("apply", "-f", path, "--auto-approve", SG_BITBUCKET_IAC_NOW=DEPRECATED_PHASE).code == 0
    report = drift(inproc, path, SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert report["status"] == ["app_password"]
    assert report["fix"].startswith("switch its entry to `type: api_token`")
    inproc.write("connectors.yaml", definitions(ENTRY.format(name="legacy")))  # what the fix says to do first
    follow(inproc, report, path, SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    clean(inproc, path, SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)


@pytest.mark.parametrize("owner", ["terraform", "nobody"])
def test_a_declared_connector_this_file_does_not_own_names_adopting_it(inproc: InProcess, applied: str,
                                                                        owner: str) -> None:
    record = inproc.emulator.admin("GET", f"{RECORDS}/bitbucket_main")
    tags = (owner_tags(record["ContextTags"], Front.TERRAFORM) if owner == "terraform"
            else {k: v for k, v in record["ContextTags"].items() if not k.startswith("sg-bitbucket-iac/")})
    edit(inproc, "bitbucket_main", {"ContextTags": tags})
    report = drift(inproc, applied)
    assert report["status"][0] == ("foreign_owner" if owner == "terraform" else "unmanaged")
    assert report["fix"].startswith("set `adopt: true` on its entry, then `sg-bitbucket apply")
    inproc.write("connectors.yaml", definitions(
        ENTRY.format(name="bitbucket-main").replace("    workspace", "    adopt: true\n    workspace")))
    follow(inproc, report, applied)
    clean(inproc, applied)


def test_a_declared_connector_of_another_set_names_adopting_it(inproc: InProcess, applied: str) -> None:
    """Applied by the file without a set (set `default`), declared by a file of set `team`: drift says it
    is another set's and that `adopt: true` moves it; followed, the move is made and the file drifts no more."""
    team = str(inproc.write("team.yaml", "set: team\n" + definitions(ENTRY.format(name="bitbucket-main"))))
    report = drift(inproc, team)
    assert report["status"][0] == "foreign_owner" and report["set"] == "default"
    assert "in the CLI's set default, not this file's set team" in report["messages"][0]
    assert report["fix"].startswith("set `adopt: true` on its entry, then `sg-bitbucket apply")
    assert "takes it over from the file of set default" in report["fix"]
    inproc.write("team.yaml", "set: team\n" + definitions(
        ENTRY.format(name="bitbucket-main").replace("    workspace", "    adopt: true\n    workspace")))
    follow(inproc, report, team)
    clean(inproc, team)
    assert inproc.emulator.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"]["sg-bitbucket-iac/set"] == "team"


def test_a_managed_connector_the_file_no_longer_declares_names_the_prune(inproc: InProcess) -> None:
    """A file with a set of its own prunes what it no longer declares."""
    both = "set: team\n" + definitions(ENTRY.format(name="bitbucket-main"), ENTRY.format(name="second"))
    path = str(inproc.write("connectors.yaml", both))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.write("connectors.yaml", "set: team\n" + definitions(ENTRY.format(name="bitbucket-main")))
    report = drift(inproc, path)
    assert report["connector_id"] == "second" and report["status"] == ["undeclared"]
    follow(inproc, report, path)
    clean(inproc, path)
    assert [r["Id"] for r in inproc.emulator.admin("GET", RECORDS)["records"]] == ["bitbucket_main"]


def test_a_connector_of_set_default_no_file_declares_names_declaring_it(inproc: InProcess) -> None:
    """A file without a `set:` (set `default`) never prunes: the fix declares the connector with the entry
    `import` prints, and the file then drifts no more."""
    both = definitions(ENTRY.format(name="bitbucket-main"), ENTRY.format(name="second"))
    path = str(inproc.write("connectors.yaml", both))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.write("connectors.yaml", definitions(ENTRY.format(name="bitbucket-main")))
    report = drift(inproc, path)
    assert report["connector_id"] == "second" and report["status"] == ["undeclared"]
    assert "never prunes" in report["fix"]
    command = the_command(report["fix"], "sg-bitbucket")
    assert argv(command) == ["import", "second"], command
    printed = inproc.cli(*argv(command))
    assert printed.code == 0, printed.output
    inproc.write("connectors.yaml", definitions(ENTRY.format(name="bitbucket-main")) + printed.stdout)
    (variable,) = set(re.findall(r"\$\{env:(\w+)\}", printed.stdout))  # the reference to fill in, as told
    token = {variable: inproc.env["TOK_MAIN"]}
    done = inproc.cli("apply", "-f", path, "--auto-approve", "--resend-credentials", **token)
    assert done.code == 0, done.output
    clean(inproc, path, **token)
    assert sorted(r["Id"] for r in inproc.emulator.admin("GET", RECORDS)["records"]) == ["bitbucket_main", "second"]


def test_the_markdown_report_has_a_fix_column(inproc: InProcess, applied: str) -> None:
    edit(inproc, "bitbucket_main", {"Description": "edited in the UI"})
    markdown = inproc.cli("drift", "-f", applied, "--format", "markdown")
    assert "| Connector | Set | Status | Authenticated | Details | Fix |" in markdown.stdout
    table = inproc.cli("drift", "-f", applied).stdout
    assert f"fix bitbucket_main: `sg-bitbucket apply -f {applied} bitbucket_main` re-asserts the declaration" in table


def test_a_file_name_a_shell_would_split_is_quoted_in_the_fix(inproc: InProcess) -> None:
    path = str(inproc.write("my connectors.yaml", textwrap.dedent(definitions(ENTRY.format(name="bitbucket-main")))))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    edit(inproc, "bitbucket_main", {"Description": "edited in the UI"})
    report = drift(inproc, path)
    assert f"-f '{path}' bitbucket_main" in report["fix"]
    follow(inproc, report, path)
    clean(inproc, path)
