"""Every command the CLI recommends works when followed literally (issue 22, part 2).

Each test meets a situation, takes the command from the text the CLI printed (tests/advice.py),
fills in only what a person fills in (the file they named FILE), runs it, and ends where the
advice promised: a plan with no changes, or an audit with nothing to do. In-process CLI against
the in-process emulator; records are edited behind the tool's back through the admin API.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from advice import argv, the_command
from cli_helpers import DEPRECATED_PHASE, END_OF_SUPPORT, InProcess

from sg_bitbucket_iac.ownership import owner_tags
from sg_bitbucket_iac.tags import OWNER_TAG, Front

RECORDS = "/stackguardian/orgs/acme/integrations"
MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
    """)


def record(inproc: InProcess, connector_id: str) -> dict[str, Any]:
    result: dict[str, Any] = inproc.emulator.admin("GET", f"{RECORDS}/{connector_id}")
    return result


def seed(inproc: InProcess, connector_id: str, name: str, *, auth: str = "api_token", secret: str = "",
         context_tags: dict[str, str] | None = None) -> None:
    """A connector clicked together in the UI (or written by another tool)."""
    config = ({"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{secret}", "bitbucketEmail": "alice@acme.io"}
              if auth == "api_token" else {"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": f"bob:{secret}"})
    inproc.emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [], "ContextTags": context_tags or {},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [config]}}]})


def plan_is_clean(inproc: InProcess, path: str) -> None:
    clean = inproc.cli("plan", "-f", path, "--detailed-exitcode")
    assert clean.code == 0, clean.output
    assert "No changes" in clean.stdout


def follow(inproc: InProcess, text: str, path: str, *, starting: str = "apply") -> None:
    """Run the `sg-bitbucket ...` command ``text`` recommends, FILE being the definitions file."""
    command = the_command(text, "sg-bitbucket", starting=starting)
    args = argv(command, FILE=path)
    if args[0] == "apply" and "--auto-approve" not in args:
        args.append("--auto-approve")  # there is no terminal to answer y/N: what CI passes
    done = inproc.cli(*args)
    assert done.code == 0, f"`{command}` failed:\n{done.output}"


def test_a_connector_terraform_owns_is_taken_over_as_the_refusal_says(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    tags = owner_tags(record(inproc, "bitbucket_main")["ContextTags"], Front.TERRAFORM)
    inproc.emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {"ContextTags": tags})
    refused = inproc.cli("plan", "-f", path)
    assert refused.code == 1 and "owned by terraform" in refused.stderr
    assert "take it over with `adopt: true` on its entry" in refused.stderr
    inproc.write("connectors.yaml", MAIN.replace("    workspace: acme", "    workspace: acme\n    adopt: true"))
    follow(inproc, refused.stderr, path)
    assert record(inproc, "bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"
    plan_is_clean(inproc, path)


def test_a_connector_made_in_the_ui_is_declared_with_the_entry_import_prints(inproc: InProcess) -> None:
    seed(inproc, "bitbucket_main", "bitbucket-main", secret=f"{inproc.sentinel}-main-api-token")
    path = str(inproc.write("connectors.yaml", MAIN))
    refused = inproc.cli("plan", "-f", path)
    assert refused.code == 1 and "already exists" in refused.stderr
    # `sg-bitbucket import bitbucket_main` prints the entry to put under `connectors:`.
    printed = inproc.cli(*argv(the_command(refused.stderr, "sg-bitbucket", starting="import")))
    assert printed.code == 0, printed.output
    # What its TODO lines ask for: what StackGuardian does not show (workspace, the masked username), and
    # the secret exported under the variable it names.
    todos = [line for line in printed.stdout.splitlines() if line.startswith("# TODO")]
    assert any("workspace" in t for t in todos) and any("username" in t for t in todos), printed.stdout
    (entry,) = yaml.safe_load(printed.stdout)
    entry["workspace"] = "acme"
    entry["auth"]["username"] = "alice"
    variable = entry["auth"]["api_token"].removeprefix("${env:").removesuffix("}")
    inproc.setenv(variable, f"{inproc.sentinel}-main-api-token")
    inproc.write("connectors.yaml", yaml.safe_dump({"connectors": [entry]}))
    follow(inproc, refused.stderr, path)
    plan_is_clean(inproc, path)


def test_a_name_another_connector_uses_is_declared_with_its_id_as_the_clash_says(inproc: InProcess) -> None:
    seed(inproc, "made-in-ui", "bitbucket-main", secret=f"{inproc.sentinel}-main-api-token")
    path = str(inproc.write("connectors.yaml", MAIN))
    refused = inproc.cli("plan", "-f", path)
    assert refused.code == 1 and "already used by connector made-in-ui" in refused.stderr
    assert "set `id: made-in-ui` and `adopt: true` on its entry" in refused.stderr
    inproc.write("connectors.yaml", MAIN.replace("    workspace: acme",
                                                 "    id: made-in-ui\n    adopt: true\n    workspace: acme"))
    follow(inproc, refused.stderr, path)
    plan_is_clean(inproc, path)
    assert [r["Id"] for r in inproc.emulator.admin("GET", RECORDS)["records"]] == ["made-in-ui"]


def test_nothing_to_adopt_is_created_once_adopt_is_removed_as_the_error_says(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN.replace("    workspace: acme", "    adopt: true\n"
                                                                                  "    workspace: acme")))
    refused = inproc.cli("plan", "-f", path)
    assert refused.code == 1 and "remove `adopt: true` to create it" in refused.stderr
    inproc.write("connectors.yaml", MAIN)
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    plan_is_clean(inproc, path)


def test_an_app_password_nobody_owns_is_migrated_with_the_command_audit_names(inproc: InProcess) -> None:
    password = f"{inproc.sentinel}-app-password"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "app_password", "secret": password, "username": "bob", "workspaces": ["acme"],
        "scopes": ["account", "team", "repository", "project", "pullrequest"]})
    seed(inproc, "legacy", "legacy", auth="app_password", secret=password,
         context_tags={"sg-bitbucket-iac/workspace": "acme"})
    audit = inproc.cli("audit", "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert audit.code == 2, audit.output
    (entry,) = audit.json()["connectors"]
    command = the_command(entry["next_step"], "sg-bitbucket", starting="migrate")
    assert command == "sg-bitbucket migrate --connector legacy --to api_token|access_token ..."
    # The person picks one of the two types and gives its fields for the `...`, the secret by env var.
    args = [a for a in argv(command) if a != "..."]
    args[args.index("api_token|access_token")] = "api_token"
    migrated = inproc.cli(*args, "--username", "alice", "--email", "alice@acme.io", "--secret-env", "TOK_MAIN",
                          "--auto-approve", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert migrated.code == 0, migrated.output
    after = inproc.cli("audit", "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert after.code == 0, after.output
    assert inproc.sentinel not in audit.output + migrated.output + after.output


def test_an_app_password_a_definitions_file_owns_is_switched_in_its_entry_as_audit_says(inproc: InProcess) -> None:
    password = f"{inproc.sentinel}-app-password"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "app_password", "secret": password, "username": "bob", "workspaces": ["acme"],
        "scopes": ["account", "team", "repository", "project", "pullrequest"]})
    inproc.emulator.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    inproc.setenv("AP", password)
    legacy = textwrap.dedent("""\
        connectors:
          - name: legacy
            workspace: acme
            auth: {type: app_password, username: bob, app_password: "${env:AP}"}
        """)
    path = str(inproc.write("connectors.yaml", legacy))
    assert inproc.cli("apply", "-f", path, "--auto-approve", SG_BITBUCKET_IAC_NOW=DEPRECATED_PHASE).code == 0
    audit = inproc.cli("audit", "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    (entry,) = audit.json()["connectors"]
    assert "edit its entry in the definitions file" in entry["next_step"]
    inproc.write("connectors.yaml", MAIN.replace("bitbucket-main", "legacy"))
    follow(inproc, entry["next_step"], path)
    after = inproc.cli("audit", "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert after.code == 0, after.output
    plan_is_clean(inproc, path)


def test_a_migrated_connector_a_file_manages_plans_clean_with_the_entry_migrate_prints(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "access_token", "secret": f"{inproc.sentinel}-ws-token", "resource": "acme",
        "scopes": ["account", "repository", "pullrequest", "project"], "workspaces": ["acme"]})
    migrated = inproc.cli("migrate", "--connector", "bitbucket_main", "--to", "access_token", "--scope", "workspace",
                          "--secret-env", "WS_TOKEN", "--auto-approve", WS_TOKEN=f"{inproc.sentinel}-ws-token")
    assert migrated.code == 0, migrated.output
    assert "put this entry in it" in migrated.stdout
    entry = migrated.stdout.split("or its next apply switches the connector back:\n", 1)[1]
    inproc.setenv("WS_TOKEN", f"{inproc.sentinel}-ws-token")
    inproc.write("connectors.yaml", "connectors:\n" + entry.split("\nmigrated:", 1)[0] + "\n")
    plan_is_clean(inproc, path)


def test_the_refusal_of_a_stale_plan_file_is_followed_by_a_new_plan(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    saved = str(inproc.tmp / "plan.json")
    assert inproc.cli("plan", "-f", path, "--out", saved).code == 0
    inproc.write("connectors.yaml", MAIN.replace("workspace: acme", "description: changed\n    workspace: acme"))
    stale = inproc.cli("apply", saved)
    assert stale.code == 1, stale.output
    command = the_command(stale.stderr, "sg-bitbucket", starting="plan")
    assert inproc.cli(*argv(command, FILE=path, **{"PLAN.json": saved})).code == 0
    assert inproc.cli("apply", saved).code == 0
    plan_is_clean(inproc, path)



def test_a_credential_swapped_outside_is_re_sent_with_the_command_drift_names(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    later = (datetime.now(UTC) + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    inproc.emulator.admin("POST", "/clock", {"now": later})  # StackGuardian's clock: an edit after our write
    inproc.emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "alice:swapped-in-the-ui",
        "bitbucketEmail": "alice@acme.io"}]}})
    inproc.emulator.admin("POST", "/clock", {"now": None})
    drift = inproc.cli("drift", "-f", path, "--json")
    (message,) = [m for m in drift.json()["connectors"][0]["messages"] if "may have been replaced" in m]
    assert "`sg-bitbucket apply -f FILE bitbucket-main --resend-credentials`" in message
    follow(inproc, message, path)
    assert inproc.cli("drift", "-f", path).code == 0
    plan_is_clean(inproc, path)
