"""Issue 20 through the CLI: no read-only command writes, and checks meant for creating never block a prune."""

from __future__ import annotations

from cli_helpers import DEPRECATED_PHASE, END_OF_SUPPORT, InProcess
from seeding import seed_api_token, seed_credential

from sg_bitbucket_iac.tags import OWNER_TAG

RECORDS = "/stackguardian/orgs/acme/integrations"
ENTRY = {
    "main": '  - {name: bitbucket-main, workspace: acme, auth: {type: api_token, username: alice, '
            'email: alice@acme.io, api_token: "${env:TOK_MAIN}"}}\n',
    "doomed": '  - {name: doomed, workspace: acme, auth: {type: api_token, username: alice, email: alice@acme.io, '
              'api_token: "${env:TOK_MAIN}"}}\n',
    "legacy": '  - {name: legacy, workspace: acme, auth: {type: app_password, username: bob, '
              'app_password: "${env:TOK_APP}"}}\n',
    "weak": '  - {name: weak, workspace: acme, auth: {type: api_token, username: alice, email: alice@acme.io, '
            'api_token: "${env:TOK_WEAK}"}}\n',
    "taken_over": '  - {name: pulumi-made, workspace: acme, adopt: true, auth: {type: api_token, username: alice, '
                  'email: alice@acme.io, api_token: "${env:TOK_MAIN}"}}\n',
}


def definitions(inproc: InProcess, *entries: str, prune: bool = False) -> str:
    text = f"org: acme\nset: contract\nprune: {str(prune).lower()}\nconnectors:\n" + "".join(ENTRY[e] for e in entries)
    return str(inproc.write("connectors.yaml", text))


def methods(inproc: InProcess) -> set[str]:
    return set(inproc.emulator.admin("GET", "/stats")["stackguardian"]["by_method"])


def test_no_read_only_command_writes(inproc: InProcess) -> None:
    applied = definitions(inproc, "main", "doomed")
    assert inproc.cli("apply", "-f", applied, "--auto-approve").code == 0
    inproc.emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": "pulumi_made", "ResourceName": "pulumi-made", "ContextTags": {OWNER_TAG: "pulumi"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "API_TOKEN", "bitbucketEmail":
                                                          "alice@acme.io", "bitbucketCreds": "alice:x"}]}}]})
    inproc.emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {"Description": "edited outside"})
    # A take-over (`adopt: true`) and a prune planned, a change outside to re-send: all of it only at apply.
    path = definitions(inproc, "main", "taken_over", prune=True)
    inproc.emulator.admin("DELETE", "/stats")
    saved = str(inproc.tmp / "plan.json")
    for args in (("validate", "-f", path), ("plan", "-f", path), ("plan", "-f", path, "--out", saved),
                 ("drift", "-f", path), ("drift", "-f", path, "--verify-credentials"), ("import", "pulumi_made"),
                 ("import", "bitbucket_main", "--to-yaml"), ("audit",)):
        result = inproc.cli(*args, "--json")
        assert result.code in (0, 2), (args, result.output)
    assert methods(inproc) == {"GET"}
    record = inproc.emulator.admin("GET", f"{RECORDS}/pulumi_made")
    assert record["ContextTags"][OWNER_TAG] == "pulumi"  # `adopt: true` moves it at apply, not at plan
    assert inproc.emulator.admin("GET", f"{RECORDS}/doomed") is not None
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    assert inproc.emulator.admin("GET", f"{RECORDS}/pulumi_made")["ContextTags"][OWNER_TAG] == "cli"


def test_a_legacy_connector_left_as_it_is_never_blocks_a_prune(inproc: InProcess) -> None:
    """After StackGuardian's cut-off an app password may not be written, but a declared legacy
    connector whose credential is not written is only warned about: the prune goes ahead."""
    seed_credential(inproc.emulator, "app_password", f"{inproc.sentinel}-app", username="bob",
                    scopes=["account", "team", "repository", "project", "pullrequest"], workspaces=["acme"])
    inproc.setenv("TOK_APP", f"{inproc.sentinel}-app")
    inproc.emulator.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    both = definitions(inproc, "legacy", "doomed")
    created = inproc.cli("apply", "-f", both, "--auto-approve", SG_BITBUCKET_IAC_NOW=DEPRECATED_PHASE)
    assert created.code == 0, created.output
    inproc.emulator.admin("POST", "/clock", {"now": END_OF_SUPPORT})
    only_legacy = definitions(inproc, "legacy", prune=True)
    result = inproc.cli("apply", "-f", only_legacy, "--auto-approve", "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert result.code == 0, result.output
    report = result.json()
    plans = {c["connector_id"]: c for c in report["connectors"]}
    assert plans["doomed"]["action"] == "delete" and plans["legacy"]["action"] == "no-op"
    assert any("2026-06-09" in w for w in plans["legacy"]["warnings"])
    assert [r["status"] for r in report["results"]] == ["ok"]
    names = {r["Id"] for r in inproc.emulator.admin("GET", RECORDS)["records"]}
    assert names == {"legacy"}
    # Writing its credential is what the dates refuse, and they still do.
    inproc.setenv("TOK_APP", f"{inproc.sentinel}-app-new")
    refused = inproc.cli("plan", "-f", only_legacy, SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert refused.code == 1 and "connectors[0].auth.type" in refused.stderr and "2026-06-09" in refused.stderr


def test_a_create_that_fails_preflight_never_blocks_a_prune(inproc: InProcess) -> None:
    seed_api_token(inproc.emulator, f"{inproc.sentinel}-weak", scopes=["read:user:bitbucket"])
    inproc.setenv("TOK_WEAK", f"{inproc.sentinel}-weak")
    assert inproc.cli("apply", "-f", definitions(inproc, "main", "doomed"), "--auto-approve").code == 0
    path = definitions(inproc, "main", "weak", prune=True)
    result = inproc.cli("apply", "-f", path, "--auto-approve", "--json")
    assert result.code == 1
    statuses = {r["connector_id"]: r["status"] for r in result.json()["results"]}
    assert statuses == {"doomed": "ok", "weak": "failed"}
    assert {r["Id"] for r in inproc.emulator.admin("GET", RECORDS)["records"]} == {"bitbucket_main"}
    (failed,) = [r for r in result.json()["results"] if r["status"] == "failed"]
    assert "preflight" in failed["error"] and inproc.sentinel not in result.output
