"""The main flows, with the CLI as a subprocess against an emulator process (`sg-bitbucket emulator`)."""

from __future__ import annotations

import json
import sys

import yaml
from cli_helpers import DEPRECATED_PHASE, END_OF_SUPPORT, World


def flat(text: str) -> str:
    """Table cells wrap: compare text with runs of whitespace as one space."""
    return " ".join(text.split())


def test_validate_plan_apply_then_the_second_apply_plans_nothing(world: World) -> None:
    path = str(world.definitions())
    validated = world.cli("validate", "-f", path)
    assert validated.code == 0, validated.output
    assert "PASS" in validated.stdout and world.sg_writes() == 0

    planned = world.cli("plan", "-f", path, "--detailed-exitcode")
    assert planned.code == 2, planned.output
    assert "+ create" in planned.stdout and "(sensitive)" in planned.stdout
    assert world.sg_writes() == 0

    applied = world.cli("apply", "-f", path, "--auto-approve")
    assert applied.code == 0, applied.output
    assert "Apply: 2 done, 0 failed." in applied.stdout
    record = world.record("bitbucket_main")
    assert record["ContextTags"]["sg-bitbucket-iac/managed"] == "true"
    assert record["ContextTags"]["sg-bitbucket-iac/fingerprint"].startswith("scrypt1:")
    assert world.record("infra_repo")["Settings"]["config"][0]["bitbucketAuthType"] == "ACCESS_TOKEN"

    world.reset_stats()
    again = world.cli("plan", "-f", path, "--detailed-exitcode", "--json")
    assert again.code == 0, again.output
    assert again.json()["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 0, "no-op": 2}
    second = world.cli("apply", "-f", path, "--auto-approve")
    assert second.code == 0 and "No changes" in second.stdout
    assert world.sg_writes() == 0
    assert world.sentinel not in validated.output + planned.output + applied.output + again.output + second.output


def test_editing_one_token_changes_only_that_connector(world: World) -> None:
    path = str(world.definitions())
    assert world.cli("apply", "-f", path, "--auto-approve").code == 0
    rotated = f"{world.sentinel}-rotated-api-token"
    world.api_token(rotated)
    world.env["TOK_MAIN"] = rotated
    planned = world.cli("plan", "-f", path, "--json")
    plans = {p["connector_id"]: p for p in planned.json()["connectors"]}
    assert plans["infra_repo"]["action"] == "no-op"
    assert plans["bitbucket_main"]["action"] == "update"
    assert plans["bitbucket_main"]["changes"] == [{"field": "auth.api_token", "before": "(sensitive)",
                                                   "after": "(sensitive)", "sensitive": True, "note": "rotated"}]
    world.reset_stats()
    applied = world.cli("apply", "-f", path, "--auto-approve", "--json")
    assert applied.code == 0, applied.output
    assert [r["connector_id"] for r in applied.json()["results"]] == ["bitbucket_main"]
    assert world.stats()["by_method"].get("PATCH") == 1 and world.sg_writes() == 1
    assert world.record("bitbucket_main")["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{rotated}"
    assert world.sentinel not in planned.output + applied.output


def test_apply_without_a_terminal_needs_auto_approve_and_writes_nothing(world: World) -> None:
    result = world.cli("apply", "-f", str(world.definitions()))
    assert result.code == 1
    assert "refusing to apply without confirmation: stdin is not a terminal" in result.stderr
    assert "--auto-approve" in result.stderr
    assert world.sg_writes() == 0


def test_apply_continues_past_a_failing_connector_and_exits_1(world: World) -> None:
    text = world.definitions().read_text().replace("${env:TOK_MAIN}", "${env:TOK_UNKNOWN_TO_BITBUCKET}")
    path = world.write("connectors.yaml", text)
    result = world.cli("apply", "-f", str(path), "--auto-approve", "--parallelism", "1",
                       TOK_UNKNOWN_TO_BITBUCKET=f"{world.sentinel}-never-registered")
    assert result.code == 1, result.output
    assert "FAILED" in result.stdout and "credential preflight failed" in result.stdout
    # The README's promise for a partly failed apply: exit 1, and a last line saying what was written.
    assert "Apply partly failed: 1 done, 1 failed. The 1 done are written to StackGuardian" in result.stdout
    assert [r["Id"] for r in world.records()] == ["infra_repo"]
    assert world.sentinel not in result.output


def test_drift_reads_one_listall_and_tells_the_kinds_of_drift_apart(world: World) -> None:
    path = world.definitions()
    assert world.cli("apply", "-f", str(path), "--auto-approve").code == 0
    world.write("extra.yaml", f"org: {world.org}\nconnectors:\n  - name: extra\n    workspace: acme\n"
                              "    auth: {type: api_token, username: alice, email: alice@acme.io, "
                              "api_token: '${env:TOK_MAIN}'}\n")
    assert world.cli("apply", "-f", "extra.yaml", "--auto-approve").code == 0  # managed, not in connectors.yaml
    clean = world.cli("drift", "-f", str(path), "--json")
    statuses = {c["connector_id"]: c["status"] for c in clean.json()["connectors"]}
    assert statuses == {"bitbucket_main": ["in_sync"], "infra_repo": ["in_sync"], "extra": ["undeclared"]}
    assert clean.code == 2

    world.admin("PATCH", f"/stackguardian/orgs/{world.org}/integrations/bitbucket_main",
                {"Description": "edited in the UI"})
    world.admin("DELETE", f"/stackguardian/orgs/{world.org}/integrations/infra_repo")
    path.write_text(path.read_text().replace("tags: [platform]", "tags: [platform, prod]"))
    world.reset_stats()
    drift = world.cli("drift", "-f", str(path), "--json")
    assert drift.code == 2, drift.output
    reports = {c["connector_id"]: c for c in drift.json()["connectors"]}
    assert reports["bitbucket_main"]["status"] == ["changed_outside", "not_yet_applied"]
    assert reports["bitbucket_main"]["changed_outside"][0]["field"] == "description"
    assert reports["bitbucket_main"]["not_yet_applied"][0]["field"] == "tags"
    # Deleted with its ContextTags: with no local state, "deleted outside" and "never created" look the same.
    assert reports["infra_repo"]["status"] == ["not_created"]
    # Never one GET per connector: one listall page for the whole org.
    assert world.stats()["by_route"] == {"GET /api/v1/orgs/{org}/integrations/listall/": 1}

    table = world.cli("drift", "-f", str(path))
    assert table.code == 2 and "changed outside: description: Main workspace -> edited in the UI" in table.stdout
    markdown = world.cli("drift", "-f", str(path), "--format", "markdown")
    assert markdown.code == 2
    assert markdown.stdout.startswith("### sg-bitbucket drift report")
    assert "| `bitbucket_main` (`bitbucket-main`) | `default` | changed outside, not yet applied |" in markdown.stdout
    assert world.sentinel not in clean.output + drift.output + table.output + markdown.output


def test_drift_verify_credentials_reports_a_revoked_token(world: World) -> None:
    path = str(world.definitions())
    assert world.cli("apply", "-f", path, "--auto-approve").code == 0
    world.admin("PATCH", f"/bitbucket/credentials/{world.env['TOK_MAIN']}", {"revoked": True})
    result = world.cli("drift", "-f", path, "--verify-credentials", "--json")
    assert result.code == 2, result.output
    reports = {c["connector_id"]: c for c in result.json()["connectors"]}
    assert "credentials_failing" in reports["bitbucket_main"]["status"]
    assert any("preflight against Bitbucket failed" in m for m in reports["bitbucket_main"]["messages"])
    assert reports["infra_repo"]["status"] == ["in_sync"]
    assert result.json()["summary"]["credentials_verified"] is True
    assert world.sentinel not in result.output


def test_prune_deletes_only_managed_connectors_missing_from_the_file(world: World) -> None:
    path = world.definitions()
    path.write_text("set: team\n" + path.read_text())
    assert world.cli("apply", "-f", str(path), "--auto-approve").code == 0
    world.seed_legacy_app_password("unmanaged")
    text = path.read_text()
    path.write_text(text[: text.index("  - name: infra-repo")])
    kept = world.cli("plan", "-f", str(path), "--json")
    assert kept.json()["managed_not_declared"] == ["infra_repo"]
    pruned = world.cli("apply", "-f", str(path), "--auto-approve", "--prune", "--json")
    assert pruned.code == 0, pruned.output
    assert [(r["connector_id"], r["action"]) for r in pruned.json()["results"]] == [("infra_repo", "delete")]
    assert sorted(r["Id"] for r in world.records()) == ["bitbucket_main", "unmanaged"]
    # `prune: true` in the file does the same.
    world.write("extra.yaml", f"org: {world.org}\nset: team\nconnectors:\n  - name: extra\n    workspace: acme\n"
                              "    auth: {type: api_token, username: alice, email: alice@acme.io, "
                              "api_token: '${env:TOK_MAIN}'}\n")
    assert world.cli("apply", "-f", "extra.yaml", "--auto-approve").code == 0
    path.write_text("prune: true\n" + path.read_text())
    by_file = world.cli("plan", "-f", str(path), "--json")
    assert [(p["connector_id"], p["action"]) for p in by_file.json()["connectors"]] == [
        ("bitbucket_main", "no-op"), ("extra", "delete")]


def test_audit_flags_app_passwords_and_is_clean_after_migrate(world: World) -> None:
    assert world.cli("apply", "-f", str(world.definitions()), "--auto-approve").code == 0
    world.seed_legacy_app_password("legacy")
    world.set_clocks(DEPRECATED_PHASE)
    audit = world.cli("audit", "--json")
    assert audit.code == 2, audit.output
    entries = {e["connector_id"]: e for e in audit.json()["connectors"]}
    assert entries["legacy"]["app_password_phase"] == "deprecated" and entries["legacy"]["needs_action"]
    assert entries["legacy"]["managed"] is False and entries["bitbucket_main"]["managed"] is True
    assert not entries["bitbucket_main"]["needs_action"]

    world.set_clocks(END_OF_SUPPORT)
    table = world.cli("audit")
    assert table.code == 2 and "unsupported" in table.stdout
    assert "sg-bitbucket migrate --connector legacy" in flat(table.stdout)

    new_token = f"{world.sentinel}-bob-api-token"
    world.api_token(new_token, email="bob@acme.io", username="bob")
    migrate = ["migrate", "--connector", "legacy", "--to", "api_token", "--workspace", "acme",
               "--username", "bob", "--email", "bob@acme.io"]
    world.reset_stats()
    dry = world.cli(*migrate, "--secret-env", "NEW_TOKEN", NEW_TOKEN=new_token)
    assert dry.code == 0, dry.output
    assert "Dry run: nothing was changed" in dry.stdout and "full credential replacement" in dry.stdout
    assert world.sg_writes() == 0
    done = world.cli(*migrate, "--auto-approve", "--json", stdin=new_token + "\n")  # secret on stdin
    assert done.code == 0, done.output
    assert done.json()["connectors"][0]["status"] == "migrated"
    record = world.record("legacy")
    config = record["Settings"]["config"][0]
    assert config == {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"bob:{new_token}",
                      "bitbucketEmail": "bob@acme.io"}
    assert record["ContextTags"]["team"] == "pipelines"  # other ContextTags kept
    assert "sg-bitbucket-iac/managed" not in record["ContextTags"]  # migrate does not take it over
    after = world.cli("audit")
    assert after.code == 0, after.output
    assert world.sentinel not in audit.output + table.output + dry.output + done.output + after.output


def test_migrate_all_app_passwords_from_a_mapping(world: World) -> None:
    world.set_clocks(END_OF_SUPPORT)
    world.seed_legacy_app_password("legacy_a", username="bob")
    world.seed_legacy_app_password("legacy_b", username="bob")
    token = f"{world.sentinel}-bob-api-token"
    world.api_token(token, email="bob@acme.io", username="bob")
    world.write("bob.token", token)
    mapping = {"connectors": {
        "legacy_a": {"to": "api_token", "workspace": "acme", "username": "bob", "email": "bob@acme.io",
                     "secret": "${file:bob.token}"},
    }}
    world.write("mapping.yaml", yaml.safe_dump(mapping))
    incomplete = world.cli("migrate", "--all-app-passwords", "--mapping", "mapping.yaml", "--auto-approve")
    assert incomplete.code == 1
    assert "error: legacy_b: an app-password connector without an entry in the mapping file" in incomplete.stderr
    assert world.sg_writes() == 0
    mapping["connectors"]["legacy_b"] = {**mapping["connectors"]["legacy_a"], "emial": "x"}
    world.write("mapping.yaml", yaml.safe_dump(mapping))
    typo = world.cli("migrate", "--all-app-passwords", "--mapping", "mapping.yaml", "--auto-approve")
    assert typo.code == 1 and "connectors.legacy_b.emial: unknown key `emial`; did you mean `email`?" in typo.stderr
    del mapping["connectors"]["legacy_b"]["emial"]
    world.write("mapping.yaml", yaml.safe_dump(mapping))
    done = world.cli("migrate", "--all-app-passwords", "--mapping", "mapping.yaml", "--auto-approve", "--json")
    assert done.code == 0, done.output
    assert sorted(c["status"] for c in done.json()["connectors"]) == ["migrated", "migrated"]
    again = world.cli("migrate", "--all-app-passwords", "--mapping", "mapping.yaml", "--auto-approve", "--json")
    assert again.code == 0 and {c["status"] for c in again.json()["connectors"]} == {"skipped"}
    assert world.sentinel not in incomplete.output + typo.output + done.output + again.output


def test_import_prints_a_definition_that_adopts_the_connector(world: World) -> None:
    token = f"{world.sentinel}-carol-token"
    world.api_token(token, email="carol@acme.io", username="carol")
    world.admin("POST", f"/stackguardian/orgs/{world.org}/integrations/bulk", {"records": [{
        "Id": "pipelines", "ResourceName": "pipelines", "Description": "made in the UI", "Tags": ["ci"],
        "ContextTags": {"sg-bitbucket-iac/workspace": "acme"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"carol:{token}", "bitbucketEmail": "carol@acme.io"}]},
    }]})
    imported = world.cli("import", "pipelines", "--to-yaml")
    assert imported.code == 0, imported.output
    document = yaml.safe_load(imported.stdout)
    entry = document["connectors"][0]
    assert entry["adopt"] is True and entry["workspace"] == "acme" and entry["tags"] == ["ci"]
    assert entry["auth"]["api_token"] == "${env:BB_PIPELINES_API_TOKEN}"
    assert "TODO: add `auth.username`" in imported.stdout  # StackGuardian masks it
    entry["auth"]["username"] = "carol"
    world.write("imported.yaml", yaml.safe_dump(document))
    without_adopt = dict(entry)
    del without_adopt["adopt"]
    world.write("foreign.yaml", yaml.safe_dump({"org": world.org, "connectors": [without_adopt]}))
    refused = world.cli("plan", "-f", "foreign.yaml", BB_PIPELINES_API_TOKEN=token)
    assert refused.code == 1 and "already exists" in refused.stderr and "adopt: true" in refused.stderr
    adopted = world.cli("apply", "-f", "imported.yaml", "--auto-approve", BB_PIPELINES_API_TOKEN=token)
    assert adopted.code == 0, adopted.output
    assert "(adopt)" in adopted.stdout
    assert world.record("pipelines")["ContextTags"]["sg-bitbucket-iac/managed"] == "true"
    clean = world.cli("plan", "-f", "imported.yaml", "--detailed-exitcode", BB_PIPELINES_API_TOKEN=token)
    assert clean.code == 0, clean.output
    as_json = world.cli("import", "pipelines", "--json")
    assert as_json.json()["connector"]["id"] == "pipelines"
    assert world.sentinel not in imported.output + refused.output + adopted.output + clean.output + as_json.output


def test_preflight_command_exit_codes_and_secret_sources(world: World) -> None:
    base = ["preflight", "--auth-type", "api_token", "--workspace", "acme", "--username", "alice",
            "--email", "alice@acme.io"]
    passed = world.cli(*base, "--secret-env", "TOK_MAIN")
    assert passed.code == 0, passed.output
    assert "PASS" in passed.stdout and "identity: alice" in passed.stdout
    from_stdin = world.cli(*base, "--json", stdin=world.env["TOK_MAIN"] + "\n")
    assert from_stdin.code == 0 and from_stdin.json()["status"] == "PASS"
    failed = world.cli(*base, "--json", stdin=f"{world.sentinel}-wrong")
    assert failed.code == 1 and failed.json()["status"] == "FAIL"
    assert failed.json()["checks"][0]["outcome"] == "AUTH_FAILED"
    access = world.cli("preflight", "--auth-type", "access_token", "--workspace", "acme", "--repository", "infra",
                       stdin=(world.tmp / "infra.token").read_text())
    assert access.code == 0, access.output
    world.admin("POST", "/faults", {"api": "bitbucket", "path_regex": ".*", "status": 503})
    inconclusive = world.cli(*base, "--secret-env", "TOK_MAIN", "--json")
    assert inconclusive.code == 3, inconclusive.output
    assert inconclusive.json()["status"] == "INCONCLUSIVE"
    bad_input = world.cli("preflight", "--auth-type", "api_token", "--workspace", "acme", "--username", "alice",
                          "--email", "not-an-email", "--secret-env", "TOK_MAIN")
    assert bad_input.code == 1 and "error: --email: API tokens authenticate" in bad_input.stderr
    no_secret = world.cli(*base)
    assert no_secret.code == 1 and "no api token given" in no_secret.stderr
    everything = passed.output + from_stdin.output + failed.output + access.output + inconclusive.output
    assert world.sentinel not in everything + bad_input.output
    assert world.sg_writes() == 0


def test_common_flags_work_before_and_after_the_command(world: World) -> None:
    path = str(world.definitions())
    after = world.cli("plan", "-f", path, "--json", "--no-color", "--org", world.org)
    before = world.cli("--json", "--no-color", "--org", world.org, "plan", "-f", path)
    assert after.code == before.code == 0
    assert after.json() == before.json()
    mismatch = world.cli("plan", "-f", path, "--org", "another-org")
    assert mismatch.code == 1 and "declare org" in mismatch.stderr
    conflict = world.cli("drift", "-f", path, "--json", "--format", "markdown")
    assert conflict.code == 1 and "disagree" in conflict.stderr
    usage = world.cli("plan", "-f", path, "--no-such-flag")
    assert usage.code == 1 and "unrecognized arguments" in usage.stderr  # never argparse's 2 (= changes)


def test_no_preflight_globally_and_per_connector(world: World) -> None:
    text = world.definitions().read_text().replace("${env:TOK_MAIN}", "${env:TOK_NOT_IN_BITBUCKET}")
    path = world.write("connectors.yaml", text)
    env = {"TOK_NOT_IN_BITBUCKET": f"{world.sentinel}-unknown"}
    assert world.cli("validate", "-f", str(path), **env).code == 1
    skipped = world.cli("validate", "-f", str(path), "--no-preflight", "--json", **env)
    assert skipped.code == 0 and all(c["preflight"] is None for c in skipped.json()["connectors"])
    per_entry = world.write("per-entry.yaml", text.replace("    workspace: acme\n    auth:\n      type: api_token",
                                                           "    workspace: acme\n    preflight: false\n    auth:\n"
                                                           "      type: api_token", 1))
    applied = world.cli("apply", "-f", str(per_entry), "--auto-approve", **env)
    assert applied.code == 0, applied.output
    world.reset_stats()


def test_demo_walks_every_step_and_exits_0(world: World) -> None:
    result = world.cli("demo")
    assert result.code == 0, result.output
    for step in ("validate", "plan the auth-type switch", "drift", "audit", "migrate", "Demo complete"):
        assert step in result.stdout
    assert "StackGuardian ended support for app passwords" in result.stdout  # the refusal, in its step


def test_help_is_fast_because_it_imports_nothing_heavy(world: World) -> None:
    code = ("import sys; from sg_bitbucket_iac.cli import app; app.build_parser().format_help(); "
            "heavy = [m for m in ('rich', 'yaml', 'boto3', 'pydantic', 'requests', 'sg_bitbucket_iac.engine') "
            "if m in sys.modules]; print(heavy)")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=world.env, check=True)
    assert json.loads(done.stdout.replace("'", '"')) == []
    assert world.cli("--help").code == 0
    # Nor does the parser import the commands' shared module (exit codes live apart for that).
    code = ("import sys; from sg_bitbucket_iac.cli import app; "
            "print('sg_bitbucket_iac.cli.commands.common' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=world.env, check=True)
    assert done.stdout.strip() == "False"


def test_a_json_run_never_imports_rich(world: World) -> None:
    code = ("import sys; from sg_bitbucket_iac.cli import app; "
            f"code = app.main(['plan', '-f', {str(world.definitions())!r}, '--json']); "
            "print(code, any(m == 'rich' or m.startswith('rich.') for m in sys.modules), file=sys.stderr)")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=world.env, check=True)
    assert done.stderr.strip().splitlines()[-1] == "0 False", done.stderr
