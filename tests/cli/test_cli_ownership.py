"""One owner per connector, round trips that close, and changed-outside re-assertion (issue 12).

In-process CLI against the in-process emulator; records are read and edited behind the tool's
back through the admin API, as a person in the StackGuardian UI (or another front) would.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

from cli_helpers import DEPRECATED_PHASE, WORKSPACE, InProcess
from seeding import API_TOKEN_SCOPES

from sg_bitbucket_iac.ownership import owner_tags
from sg_bitbucket_iac.tags import OWNER_TAG, SET_TAG, Front

ORG = "acme"
RECORDS = f"/stackguardian/orgs/{ORG}/integrations"
MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
    """)
TWO = MAIN + (
    "  - name: second\n"
    "    workspace: acme\n"
    '    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}\n'
)


def record(inproc: InProcess, connector_id: str) -> dict[str, Any]:
    result: dict[str, Any] = inproc.emulator.admin("GET", f"{RECORDS}/{connector_id}")
    return result


def records(inproc: InProcess) -> list[dict[str, Any]]:
    return list(inproc.emulator.admin("GET", RECORDS)["records"])


def edit(inproc: InProcess, connector_id: str, changes: dict[str, Any]) -> None:
    inproc.emulator.admin("PATCH", f"{RECORDS}/{connector_id}", changes)


def api_token(inproc: InProcess, secret: str) -> None:
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
        "scopes": API_TOKEN_SCOPES, "workspaces": [WORKSPACE]})


def seed(inproc: InProcess, connector_id: str, name: str, secret: str, **extra: Any) -> None:
    """A connector made outside this tool (UI, another tool), with a working API token."""
    api_token(inproc, secret)
    inproc.emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [], "ContextTags": extra.pop("context_tags", {}),
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{secret}", "bitbucketEmail": "alice@acme.io"}]},
        **extra,
    }]})


def hand_to(inproc: InProcess, connector_id: str, owner: str) -> None:
    """What another front's take-over leaves behind: its owner tag, the CLI's markers gone."""
    tags = owner_tags(record(inproc, connector_id)["ContextTags"], Front(owner))
    edit(inproc, connector_id, {"ContextTags": tags})


# --------------------------------------------------------------------------- 1. ownership
def test_cli_writes_the_owner_and_prunes_only_what_it_owns(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", "set: team\n" + TWO))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    assert record(inproc, "second")["ContextTags"][OWNER_TAG] == "cli"
    assert record(inproc, "second")["ContextTags"][SET_TAG] == "team"
    hand_to(inproc, "second", "terraform")
    assert SET_TAG not in record(inproc, "second")["ContextTags"]  # the set goes with the CLI's bookkeeping
    pruning = inproc.write("pruning.yaml", "set: team\nprune: true\n" + MAIN)
    plan = inproc.cli("plan", "-f", str(pruning), "--json")
    assert plan.code == 0, plan.output
    assert [c["action"] for c in plan.json()["connectors"]] == ["no-op"]
    assert plan.json()["managed_not_declared"] == []
    drift = inproc.cli("drift", "-f", str(pruning), "--json")
    assert drift.code == 0, drift.output
    assert [c["connector_id"] for c in drift.json()["connectors"]] == ["bitbucket_main"]
    assert inproc.cli("apply", "-f", str(pruning), "--auto-approve").code == 0
    assert record(inproc, "second")["ContextTags"][OWNER_TAG] == "terraform"


def test_legacy_managed_marker_means_the_cli_in_the_default_set(inproc: InProcess) -> None:
    seed(inproc, "old", "old", f"{inproc.sentinel}-old", context_tags={"sg-bitbucket-iac/managed": "true"})
    plan = inproc.cli("plan", "-f", str(inproc.write("c.yaml", MAIN)), "--json")
    assert plan.code == 0, plan.output
    assert plan.json()["managed_not_declared"] == ["old"]  # the CLI's, in set `default` like this file
    # A named set never prunes it, nor reports it as its own.
    named = inproc.cli("plan", "-f", str(inproc.write("n.yaml", "set: team\nprune: true\n" + MAIN)), "--json")
    assert named.code == 0, named.output
    assert [(c["connector_id"], c["action"]) for c in named.json()["connectors"]] == [("bitbucket_main", "create")]
    assert named.json()["managed_not_declared"] == []


def test_cli_refuses_another_fronts_connector_and_adopt_moves_the_owner(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    hand_to(inproc, "bitbucket_main", "pulumi")
    writes = inproc.sg_writes()
    refused = inproc.cli("apply", "-f", path, "--auto-approve")
    assert refused.code == 1
    assert "owned by pulumi" in refused.stderr and "adopt: true" in refused.stderr
    assert inproc.sg_writes() == writes
    adopting = inproc.write("adopt.yaml", MAIN.replace("workspace: acme", "workspace: acme\n    adopt: true"))
    taken = inproc.cli("apply", "-f", str(adopting), "--auto-approve")
    assert taken.code == 0, taken.output
    assert "was owned by pulumi; now owned by cli" in taken.stdout
    assert record(inproc, "bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"


def test_audit_shows_every_owner(inproc: InProcess) -> None:
    assert inproc.cli("apply", "-f", str(inproc.write("c.yaml", TWO)), "--auto-approve").code == 0
    hand_to(inproc, "second", "terraform")
    seed(inproc, "ui-made", "ui made", f"{inproc.sentinel}-ui")
    audit = inproc.cli("audit", "--json")
    assert audit.code == 0, audit.output
    owners = {c["connector_id"]: c["owner"] for c in audit.json()["connectors"]}
    assert owners == {"bitbucket_main": "cli", "second": "terraform", "ui-made": None}
    assert audit.json()["summary"]["by_owner"] == {"cli": 1, "terraform": 1, "pulumi": 0}
    table = inproc.cli("audit", "--no-color")
    assert "Owner" in table.stdout and "terraform" in table.stdout


# --------------------------------------------------------------------------- 2. import round trip
def seed_access_token(inproc: InProcess, connector_id: str, name: str, owner: str) -> str:
    """An access-token connector another front made (its ContextTags name workspace and repository)."""
    secret = (inproc.tmp / "infra.token").read_text().strip()
    inproc.emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [],
        "ContextTags": {OWNER_TAG: owner, "sg-bitbucket-iac/workspace": "acme",
                        "sg-bitbucket-iac/access-token-scope": "repository", "sg-bitbucket-iac/repository": "infra"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": secret}]},
    }]})
    return secret


def test_import_validate_apply_adopts_a_hyphenated_id_without_creating(inproc: InProcess) -> None:
    secret = seed_access_token(inproc, "team-pipelines", "Team pipelines", "terraform")
    imported = inproc.cli("import", "team-pipelines", "--to-yaml")
    assert imported.code == 0, imported.output
    assert "owned by terraform now" in imported.stdout
    path = str(inproc.write("imported.yaml", imported.stdout))
    env = {"BB_TEAM_PIPELINES_ACCESS_TOKEN": secret}
    assert inproc.cli("validate", "-f", path, **env).code == 0
    before = len(records(inproc))
    applied = inproc.cli("apply", "-f", path, "--auto-approve", "--json", **env)
    assert applied.code == 0, applied.output
    assert [c["action"] for c in applied.json()["connectors"]] == ["update"]
    assert len(records(inproc)) == before
    assert record(inproc, "team-pipelines")["ContextTags"][OWNER_TAG] == "cli"
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode", **env).code == 0


def test_import_default_output_pastes_under_connectors(inproc: InProcess) -> None:
    secret = seed_access_token(inproc, "team-pipelines", "Team pipelines", "pulumi")
    printed = inproc.cli("import", "team-pipelines")
    assert printed.code == 0, printed.output
    path = str(inproc.write("pasted.yaml", "connectors:\n" + printed.stdout))
    assert inproc.cli("validate", "-f", path, BB_TEAM_PIPELINES_ACCESS_TOKEN=secret).code == 0


def test_import_of_a_masked_username_says_what_to_add(inproc: InProcess) -> None:
    seed(inproc, "ui-made", "ui made", f"{inproc.sentinel}-ui")
    printed = inproc.cli("import", "ui-made", "--to-yaml")
    assert printed.code == 0, printed.output
    assert "# TODO: add `auth.username`" in printed.stdout and "# TODO: add `workspace:`" in printed.stdout
    result = inproc.cli("validate", "-f", str(inproc.write("ui.yaml", printed.stdout)),
                        BB_UI_MADE_API_TOKEN=f"{inproc.sentinel}-ui")
    assert result.code == 1 and "connectors[0].auth.username" in result.stderr


def test_adopt_without_anything_to_adopt_fails_with_the_reason(inproc: InProcess) -> None:
    adopting = inproc.write("adopt.yaml", MAIN.replace("workspace: acme", "workspace: acme\n    adopt: true"))
    result = inproc.cli("plan", "-f", str(adopting))
    assert result.code == 1
    assert "no connector with Id bitbucket_main or name 'bitbucket-main' to take over" in result.stderr


# --------------------------------------------------------------------------- 3. no duplicate by name
def test_a_name_clash_fails_before_writing_and_names_both_ways_out(inproc: InProcess) -> None:
    seed(inproc, "bitbucket-main", "bitbucket-main", f"{inproc.sentinel}-other")
    path = str(inproc.write("connectors.yaml", MAIN))
    inproc.emulator.admin("DELETE", "/stats")
    result = inproc.cli("apply", "-f", path, "--auto-approve")
    assert result.code == 1
    assert "already used by connector bitbucket-main" in result.stderr
    assert "`id: bitbucket-main`" in result.stderr and "`adopt: true`" in result.stderr
    assert inproc.sg_writes() == 0
    adopting = inproc.write("adopt.yaml", MAIN.replace("workspace: acme", "workspace: acme\n    adopt: true"))
    taken = inproc.cli("apply", "-f", str(adopting), "--auto-approve", "--json")
    assert taken.code == 0, taken.output
    assert [c["connector_id"] for c in taken.json()["connectors"]] == ["bitbucket-main"]
    assert [r["Id"] for r in records(inproc)] == ["bitbucket-main"]


# --------------------------------------------------------------------------- 4. migrate vs declarations
def test_migrate_of_a_managed_connector_prints_the_entry_and_the_edited_file_plans_clean(inproc: InProcess) -> None:
    path = inproc.write("connectors.yaml", MAIN)
    assert inproc.cli("apply", "-f", str(path), "--auto-approve").code == 0
    migrated = inproc.cli("migrate", "--connector", "bitbucket_main", "--to", "access_token", "--scope", "repository",
                          "--repository", "infra", "--secret-env", "INFRA_TOKEN", "--auto-approve",
                          INFRA_TOKEN=(inproc.tmp / "infra.token").read_text().strip())
    assert migrated.code == 0, migrated.output
    assert "managed by a definitions file" in migrated.stdout
    assert "access_token: ${env:INFRA_TOKEN}" in migrated.stdout
    assert record(inproc, "bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"
    lines = migrated.stdout[migrated.stdout.index("  - name: bitbucket-main"):].splitlines()
    entry = [line for n, line in enumerate(lines) if all(x.startswith("  ") for x in lines[:n + 1])]
    path.write_text("connectors:\n" + "\n".join(entry) + "\n")
    plan = inproc.cli("plan", "-f", str(path), "--detailed-exitcode", "--json",
                      INFRA_TOKEN=(inproc.tmp / "infra.token").read_text().strip())
    assert plan.code == 0, plan.output
    audit = inproc.cli("audit", "--json")
    assert audit.json()["connectors"][0]["owner"] == "cli"


def test_migrate_refuses_a_connector_terraform_owns(inproc: InProcess) -> None:
    assert inproc.cli("apply", "-f", str(inproc.write("c.yaml", MAIN)), "--auto-approve").code == 0
    hand_to(inproc, "bitbucket_main", "terraform")
    result = inproc.cli("migrate", "--connector", "bitbucket_main", "--to", "access_token", "--scope", "repository",
                        "--repository", "infra", "--secret-env", "INFRA_TOKEN", "--auto-approve",
                        INFRA_TOKEN=(inproc.tmp / "infra.token").read_text().strip())
    assert result.code == 1
    assert "owned by terraform" in result.stderr and "Terraform configuration" not in result.stdout


# --------------------------------------------------------------------------- 5. changed outside
def _later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_a_credential_swapped_outside_is_reported_and_resend_restores_it(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    declared = inproc.env["TOK_MAIN"]
    swapped = f"{inproc.sentinel}-swapped-in-the-ui"
    api_token(inproc, swapped)
    inproc.emulator.admin("POST", "/clock", {"now": _later(10)})  # StackGuardian's clock: a later edit
    edit(inproc, "bitbucket_main", {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{swapped}", "bitbucketEmail": "alice@acme.io"}]}})
    inproc.emulator.admin("POST", "/clock", {"now": None})
    drift = inproc.cli("drift", "-f", path, "--json")
    assert drift.code == 2, drift.output
    report = drift.json()["connectors"][0]
    assert "changed_outside" in report["status"]
    assert any("credential may have been replaced" in m for m in report["messages"])
    plan = inproc.cli("plan", "-f", path, "--json")
    assert plan.json()["connectors"][0]["sends_credentials"] is True
    resent = inproc.cli("apply", "-f", path, "bitbucket-main", "--resend-credentials", "--auto-approve")
    assert resent.code == 0, resent.output
    assert record(inproc, "bitbucket_main")["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{declared}"
    assert inproc.cli("drift", "-f", path).code == 0
    again = inproc.cli("plan", "-f", path, "--json", "--resend-credentials")
    assert again.json()["connectors"][0]["action"] == "update"
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 0
    assert inproc.sentinel not in drift.output + plan.output + resent.output + again.output


# --------------------------------------------------------------------------- 6. CLI conventions
def test_version_and_json_errors_are_one_document(inproc: InProcess) -> None:
    import json

    import pytest

    from sg_bitbucket_iac import __version__
    from sg_bitbucket_iac.cli import app

    with pytest.raises(SystemExit):
        app.build_parser().parse_args(["--version"])
    assert inproc.capsys.readouterr().out.strip() == f"sg-bitbucket {__version__}"
    missing = inproc.cli("plan", "-f", str(inproc.tmp / "absent.yaml"), "--json")
    assert missing.code == 1
    assert json.loads(missing.stdout)["errors"][0]["message"]
    usage = inproc.cli("plan", "--json", "--detailed-exitcode")
    assert usage.code == 1 and "usage" in json.loads(usage.stdout)["errors"][0]["message"]
    bad = inproc.write("bad.yaml", MAIN.replace("email:", "emial:"))
    problems = inproc.cli("validate", "-f", str(bad), "--json")
    assert problems.code == 1
    assert "connectors[0].auth.emial" in [e["path"] for e in json.loads(problems.stdout)["errors"]]


def test_plan_and_apply_take_names(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", TWO))
    plan = inproc.cli("plan", "-f", path, "second", "--json")
    assert [c["connector_id"] for c in plan.json()["connectors"]] == ["second"]
    assert inproc.cli("apply", "-f", path, "second", "--auto-approve").code == 0
    assert [r["Id"] for r in records(inproc)] == ["second"]
    unknown = inproc.cli("plan", "-f", path, "secnd")
    assert unknown.code == 1 and "did you mean `second`" in unknown.stderr


def test_saved_plan_applies_exactly_and_refuses_when_stale(inproc: InProcess) -> None:
    path = inproc.write("connectors.yaml", MAIN)
    plan_path = inproc.tmp / "plan.json"
    made = inproc.cli("plan", "-f", str(path), "--out", str(plan_path))
    assert made.code == 0, made.output
    assert inproc.sentinel not in plan_path.read_text()
    assert inproc.cli("apply", str(plan_path)).code == 0
    assert [r["Id"] for r in records(inproc)] == ["bitbucket_main"]
    # The definitions changed since the plan.
    assert inproc.cli("plan", "-f", str(path), "--out", str(plan_path)).code == 0
    path.write_text(MAIN.replace("workspace: acme", "workspace: acme\n    description: changed"))
    writes = inproc.sg_writes()
    stale = inproc.cli("apply", str(plan_path))
    assert stale.code == 1 and "definitions" in stale.stderr and "stale" in stale.stderr
    # The connector changed since the plan.
    assert inproc.cli("plan", "-f", str(path), "--out", str(plan_path)).code == 0
    inproc.emulator.admin("POST", "/clock", {"now": _later(5)})
    edit(inproc, "bitbucket_main", {"Tags": ["edited"]})
    inproc.emulator.admin("POST", "/clock", {"now": None})
    writes = inproc.sg_writes()
    changed = inproc.cli("apply", str(plan_path))
    assert changed.code == 1 and "changed in StackGuardian since the plan" in changed.stderr
    # The secret reference now gives another credential.
    assert inproc.cli("plan", "-f", str(path), "--out", str(plan_path)).code == 0
    other = f"{inproc.sentinel}-rotated"
    api_token(inproc, other)
    rotated = inproc.cli("apply", str(plan_path), TOK_MAIN=other)
    assert rotated.code == 1 and "another credential" in rotated.stderr
    assert inproc.sg_writes() == writes
    assert inproc.sentinel not in stale.output + changed.output + rotated.output


def legacy_app_password_file(inproc: InProcess) -> tuple[str, str, dict[str, str]]:
    """An app password Bitbucket still takes (the clocks in the deprecation window) and a file declaring it:
    (secret, file path, the environment a command needs)."""
    secret = f"{inproc.sentinel}-app-password"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "app_password", "secret": secret, "username": "bob", "workspaces": [WORKSPACE],
        "scopes": ["account", "team", "repository", "project", "pullrequest"]})
    inproc.emulator.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    path = str(inproc.write("legacy.yaml", textwrap.dedent("""\
        connectors:
          - name: legacy
            workspace: acme
            auth: {type: app_password, username: bob, app_password: "${env:APW}"}
        """)))
    return secret, path, {"APW": secret, "SG_BITBUCKET_IAC_NOW": DEPRECATED_PHASE}


def test_warnings_are_said_once_without_placeholders(inproc: InProcess) -> None:
    _secret, path, clock = legacy_app_password_file(inproc)
    for argv in (["validate", "-f", path], ["apply", "-f", path, "--auto-approve"]):
        result = inproc.cli(*argv, "--no-color", **clock)
        assert result.code == 0, result.output
        flat = " ".join(result.output.split())
        assert flat.count("app passwords are deprecated") == 1, result.output
        assert "<ID>" not in result.output


def test_the_readmes_own_scopes_draw_no_platform_scope_warning(inproc: InProcess) -> None:
    result = inproc.cli("validate", "-f", str(inproc.write("c.yaml", MAIN)), "--json")
    assert result.code == 0, result.output
    (entry,) = result.json()["connectors"]
    assert entry["warnings"] == [] and entry["preflight"]["warnings"] == []


def test_audit_next_step_for_a_managed_connector_is_its_definition(inproc: InProcess) -> None:
    secret, path, clock = legacy_app_password_file(inproc)
    assert inproc.cli("apply", "-f", path, "--auto-approve", **clock).code == 0
    seed(inproc, "ui-made", "ui made", f"{inproc.sentinel}-ui")
    edit(inproc, "ui-made", {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": f"bob:{secret}"}]}})
    audit = inproc.cli("audit", "--json", **clock)
    assert audit.code == 2, audit.output
    steps = {c["connector_id"]: c["next_step"] for c in audit.json()["connectors"]}
    assert "edit its entry in the definitions file" in steps["legacy"]
    assert "sg-bitbucket migrate" not in steps["legacy"]
    assert "`sg-bitbucket migrate --connector ui-made" in steps["ui-made"]


def test_every_command_prints_one_json_document(inproc: InProcess) -> None:
    import json

    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    token = (inproc.tmp / "infra.token").read_text().strip()
    commands = [
        ["validate", "-f", path], ["plan", "-f", path], ["apply", "-f", path, "--auto-approve"],
        ["drift", "-f", path], ["audit"], ["import", "bitbucket_main"], ["import", "nope"],
        ["migrate", "--connector", "bitbucket_main", "--to", "access_token", "--scope", "repository",
         "--repository", "infra", "--secret-env", "INFRA_TOKEN"],
        ["preflight", "--auth-type", "api_token", "--workspace", "acme", "--username", "alice",
         "--email", "alice@acme.io", "--secret-env", "TOK_MAIN"],
        ["plan"], ["demo"],
    ]
    for argv in commands:
        result = inproc.cli(*argv, "--json", INFRA_TOKEN=token)
        document = json.loads(result.stdout)  # exactly one document, whatever the outcome
        assert isinstance(document, dict), argv
        assert ("errors" in document) == (result.code == 1), (argv, result.output)
