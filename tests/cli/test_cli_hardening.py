"""Issue 11 through the CLI, in-process on the real emulator: faults, secrets, hostile input, odd records.

Each test is the regression test of one class of problem: it would have failed before the fix.
"""

from __future__ import annotations

import base64
import os
import textwrap
from typing import Any
from urllib.parse import quote

import pytest
from cli_helpers import InProcess

ORG = "acme"
MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        description: Main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
      - name: infra-repo
        workspace: acme
        auth: {type: access_token, scope: repository, repository: infra, access_token: "${file:infra.token}"}
    """)


def records(inproc: InProcess) -> list[dict[str, Any]]:
    return list(inproc.emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"])


def fault(inproc: InProcess, **rule: Any) -> None:
    inproc.emulator.admin("POST", "/faults", {"api": "stackguardian", **rule})


def seed(inproc: InProcess, *records_: dict[str, Any]) -> None:
    inproc.emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": list(records_)})


# --------------------------------------------------------------------------- faults
@pytest.mark.parametrize("rule", [
    {"status": 429, "after": True, "headers": {"Retry-After": "0"}},
    {"status": 503, "after": True},
    {"drop": True, "after": True},
    {"status": 502},
], ids=["429-after-store", "503-after-store", "dropped-after-store", "502"])
def test_apply_converges_through_write_faults_in_one_run(inproc: InProcess, rule: dict[str, Any]) -> None:
    path = str(inproc.write("connectors.yaml", "set: team\n" + MAIN))
    extra = inproc.write("extra.yaml", "set: team\n" + MAIN + (
        "  - name: to-prune\n    workspace: acme\n"
        '    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}\n'))
    # Create under faults: one apply, exit 0, one record each (no "already exists", no "pick another Id").
    fault(inproc, method="POST", path_regex=r"integrations/?$", times=2, **rule)
    created = inproc.cli("apply", "-f", str(extra), "--auto-approve", "--parallelism", "1")
    assert created.code == 0, created.output
    assert sorted(r["Id"] for r in records(inproc)) == ["bitbucket_main", "infra_repo", "to_prune"]
    # Update and prune under faults, in the same one run.
    inproc.emulator.admin("DELETE", "/faults")
    inproc.write("connectors.yaml", "set: team\n" + MAIN.replace("description: Main", "description: Changed"))
    fault(inproc, method="PATCH", path_regex="integrations/", times=2, **rule)
    fault(inproc, method="DELETE", path_regex="integrations/", times=2, **rule)
    updated = inproc.cli("apply", "-f", path, "--auto-approve", "--prune", "--parallelism", "1")
    assert updated.code == 0, updated.output
    by_id = {r["Id"]: r for r in records(inproc)}
    assert sorted(by_id) == ["bitbucket_main", "infra_repo"]
    assert by_id["bitbucket_main"]["Description"] == "Changed"
    inproc.emulator.admin("DELETE", "/faults")
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 0
    assert inproc.sentinel not in created.output + updated.output


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_write_answered_after_the_timeout_converges_in_one_run(inproc: InProcess, method: str) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    if method == "PATCH":
        assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
        inproc.write("connectors.yaml", MAIN.replace("description: Main", "description: Late"))
    # The write lands, its answer comes after --timeout: the create is looked up, the update re-sent.
    fault(inproc, method=method, path_regex="integrations/", latency_ms=1500, after=True, times=1)
    inproc.emulator.admin("DELETE", "/stats")
    result = inproc.cli("apply", "-f", path, "--auto-approve", "--parallelism", "1", "--timeout", "0.4")
    assert result.code == 0, result.output
    sent = inproc.emulator.admin("GET", "/stats")["stackguardian"]["by_route"]
    one = "/api/v1/orgs/{org}/integrations/{integration}/"
    if method == "PATCH":  # timed out once, sent again: PATCH is idempotent
        assert sent[f"PATCH {one}"] == 2, sent
    else:  # two creates, neither sent twice: the late one was looked up (GET), found ours and as declared
        assert sent["POST /api/v1/orgs/{org}/integrations/"] == 2 and sent[f"GET {one}"] == 1, sent
    by_id = {r["Id"]: r for r in records(inproc)}
    assert sorted(by_id) == ["bitbucket_main", "infra_repo"]
    assert by_id["bitbucket_main"]["Description"] == ("Late" if method == "PATCH" else "Main")
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 0


def test_the_timeout_setting_is_checked_before_any_request(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    for flags, env in ((["--timeout", "soon"], {}), ([], {"SG_BITBUCKET_IAC_TIMEOUT": "-1"})):
        result = inproc.cli("plan", "-f", path, *flags, **env)
        assert result.code == 1 and "seconds" in result.stderr, result.output
    assert inproc.sg_requests() == 0


# --------------------------------------------------------------------------- secrets
def test_api_key_with_a_trailing_newline_works(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    result = inproc.cli("apply", "-f", path, "--auto-approve", SG_API_TOKEN=inproc.env["SG_API_TOKEN"] + "\n")
    assert result.code == 0, result.output
    assert "Invalid header" not in result.output


@pytest.mark.parametrize("bad", ["sgo_\x1b[2Jtest_key", "sgo_test\nkey", "sgo_test\x00key"])
def test_api_key_with_control_characters_is_refused_without_showing_it(inproc: InProcess, bad: str) -> None:
    result = inproc.cli("audit", SG_API_TOKEN=bad)
    assert result.code == 1
    assert "SG_API_TOKEN contains control characters" in result.stderr
    assert "sgo_" not in result.output and "test" not in result.output
    assert "Invalid header" not in result.output and inproc.sg_requests() == 0


def test_stackguardian_error_bodies_echoing_secrets_are_scrubbed_in_every_form(inproc: InProcess) -> None:
    token = inproc.env["TOK_MAIN"]
    api_key = inproc.env["SG_API_TOKEN"]
    basic = base64.b64encode(f"alice@acme.io:{token}".encode()).decode()
    echo = (f"bad creds alice:{token} Basic {basic} Bearer {token} key {api_key!r} "
            f"url {quote(token, safe='')} repr {token.encode()!r}")
    fault(inproc, method="POST", path_regex=r"integrations/?$", status=400, body={"msg": echo})
    result = inproc.cli("apply", "-f", str(inproc.write("connectors.yaml", MAIN)), "--auto-approve")
    assert result.code == 1 and "bad creds" in result.output
    for form in (token, basic, quote(token, safe=""), api_key):
        assert form not in result.output


def test_flow_mapping_typo_never_echoes_the_secret_in_the_unknown_key(inproc: InProcess) -> None:
    secret = f"{inproc.sentinel}-typed-inline"
    text = ("connectors:\n  - name: main\n    workspace: acme\n"
            f"    auth: {{type: api_token, username: alice, email: alice@acme.io, api_token:{secret}}}\n")
    result = inproc.cli("validate", "-f", str(inproc.write("c.yaml", text)), "--allow-plaintext-secrets")
    assert result.code == 1
    assert "unknown key `api_token…`" in result.stderr and "without a space after the colon" in result.stderr
    assert inproc.sentinel not in result.output


# --------------------------------------------------------------------------- ${file:...}
@pytest.mark.parametrize("target", ["/proc/self/environ", "../outside.token", "~/outside.token", "{tmp}/../x",
                                    "/dev/zero", "/etc/hostname"])
def test_file_references_outside_the_definitions_folder_are_refused(inproc: InProcess, target: str) -> None:
    (inproc.tmp.parent / "outside.token").write_text(inproc.sentinel + "-outside\n")
    sub = inproc.tmp / "defs"
    sub.mkdir()
    text = MAIN.replace("${file:infra.token}", "${file:" + target.format(tmp=sub) + "}")
    result = inproc.cli("apply", "-f", str(inproc.write("defs/c.yaml", text)), "--auto-approve")
    assert result.code == 1
    assert "connectors[1].auth.access_token" in result.stderr
    assert ("outside the definitions folder" in result.stderr or "kernel or device file" in result.stderr)
    assert inproc.sg_writes() == 0 and inproc.sentinel not in result.output


def test_symlinks_fifos_and_control_characters_in_secret_files_are_refused(inproc: InProcess) -> None:
    outside = inproc.tmp.parent / "outside-secret"
    outside.write_text(inproc.sentinel + "-outside")
    (inproc.tmp / "link.token").symlink_to(outside)
    os.mkfifo(inproc.tmp / "fifo.token")
    (inproc.tmp / "nul.token").write_bytes(b"abc\x00" + inproc.sentinel.encode())
    for name, expected in (("link.token", "outside the definitions folder"), ("fifo.token", "not a regular file"),
                           ("nul.token", "control characters (U+0000)")):
        text = MAIN.replace("infra.token", name)
        result = inproc.cli("validate", "-f", str(inproc.write("c.yaml", text)), "--no-preflight")
        assert result.code == 1 and expected in result.stderr, (name, result.stderr)
        assert inproc.sentinel not in result.output


def test_allow_secret_files_outside_names_the_folder_that_may_be_read(inproc: InProcess) -> None:
    vault = inproc.tmp.parent / f"vault-{inproc.tmp.name}"
    vault.mkdir()
    (vault / "infra.token").write_text((inproc.tmp / "infra.token").read_text())
    text = MAIN.replace("${file:infra.token}", "${file:" + str(vault / "infra.token") + "}")
    path = str(inproc.write("c.yaml", text))
    assert inproc.cli("validate", "-f", path, "--no-preflight").code == 1
    allowed = inproc.cli("apply", "-f", path, "--auto-approve", "--allow-secret-files-outside", str(vault))
    assert allowed.code == 0, allowed.output


# --------------------------------------------------------------------------- hostile YAML
@pytest.mark.timeout(60)
def test_alias_bomb_is_refused_quickly_with_a_clear_error(inproc: InProcess) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "\n".join(levels) + "\nconnectors:\n  - name: *a9\n    workspace: acme\n    tags: *a9\n"
    assert len(bomb.encode()) < 600
    path = str(inproc.write("bomb.yaml", bomb))
    for command in ("validate", "apply"):
        result = inproc.cli(command, "-f", path, "--auto-approve") if command == "apply" else \
            inproc.cli(command, "-f", path)
        assert result.code == 1
        assert "aliases (*name) expand to more than" in result.stderr
    assert inproc.sg_requests() == 0


def test_recursive_alias_and_oversized_file_are_refused(inproc: InProcess) -> None:
    recursive = inproc.cli("validate", "-f", str(inproc.write("r.yaml", "connectors: &c [*c]\n")))
    assert recursive.code == 1 and "recursive alias" in recursive.stderr
    big = inproc.tmp / "big.yaml"
    with big.open("w") as handle:
        handle.write("connectors: []\n# " + "x" * (9 * 1024 * 1024) + "\n")
    oversized = inproc.cli("validate", "-f", str(big))
    assert oversized.code == 1 and "more than the 8388608 a definitions file may have" in oversized.stderr


def test_ordinary_anchors_and_merge_keys_still_work(inproc: InProcess) -> None:
    text = textwrap.dedent("""\
        defaults: &auth {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
        connectors:
          - {name: one, workspace: acme, auth: *auth}
          - {name: two, workspace: acme, auth: {<<: *auth}}
        """)
    result = inproc.cli("validate", "-f", str(inproc.write("a.yaml", text)), "--no-preflight")
    assert result.code == 1 and "unknown key `defaults`" in result.stderr  # only the stray top-level key
    assert "connectors[" not in result.stderr


# --------------------------------------------------------------------------- odd records
def plain(connector_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"Id": connector_id, "ResourceName": name, **extra, "Settings": {"kind": "BITBUCKET_ORG", "config": [
        {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "t" * 20}]}}


# What is odd, edited in behind the tool's back (the admin edit does not validate, as the real API may not).
ODD_EDITS = {
    "huge_time": {"Authentication": {"authenticated": True, "authenticatedAt": 1e20}},
    "negative_time": {"Authentication": {"authenticated": True, "authenticatedAt": -1e18}},
    "config_mapping": {"Settings": {"kind": "BITBUCKET_ORG", "config": {"bitbucketAuthType": "ACCESS_TOKEN"}}},
}
GOOD = plain("good", "good\x1b[31m-red\x1b]0;pwned\x07", Description="desc\x1b[2J")


def seed_odd(inproc: InProcess) -> None:
    seed(inproc, *(plain(i, i.replace("_", "-")) for i in ODD_EDITS), GOOD)
    for connector_id, edit in ODD_EDITS.items():
        inproc.emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}", edit)


def test_org_scans_report_odd_records_and_go_on(inproc: InProcess) -> None:
    seed_odd(inproc)
    audit = inproc.cli("audit")
    assert audit.code == 2, audit.output
    for odd_id, what in (("huge_time", "Authentication.authenticatedAt is 1e+20"),
                         ("negative_time", "Authentication.authenticatedAt is -1e+18"),
                         ("config_mapping", "Settings.config is a mapping, not a list")):
        assert odd_id in audit.stdout and what in audit.stdout, audit.stdout
    assert "good" in audit.stdout
    as_json = inproc.cli("audit", "--json").json()
    assert {e["connector_id"] for e in as_json["connectors"]} == {"huge_time", "negative_time", "config_mapping",
                                                                  "good"}
    # Declared odd connector: plan says what is wrong with it; an undeclared one is a note and plan goes on.
    declared = inproc.write("odd.yaml", "connectors:\n  - name: huge-time\n    workspace: acme\n    auth: "
                                        "{type: access_token, access_token: \"${file:infra.token}\"}\n")
    plan = inproc.cli("plan", "-f", str(declared))
    assert plan.code == 1 and "connectors[0]: connector huge_time: unreadable record" in plan.stderr
    drift = inproc.cli("drift", "-f", str(declared))
    assert drift.code == 2 and "unreadable record" in drift.stdout
    other = inproc.cli("plan", "-f", str(inproc.write("c.yaml", MAIN)))
    assert other.code == 0 and "note: skipped connector config_mapping: unreadable record" in other.stderr
    one = inproc.cli("import", "negative_time")
    assert one.code == 1 and "Authentication.authenticatedAt is -1e+18" in one.stderr
    assert "Traceback" not in audit.output + plan.output + drift.output + other.output + one.output


def test_terminal_escapes_from_outside_are_shown_escaped(inproc: InProcess) -> None:
    seed(inproc, GOOD)
    audit = inproc.cli("audit")
    assert "\x1b" not in audit.output and "\x07" not in audit.output
    assert "\\x1b[31m-red" in audit.stdout
    imported = inproc.cli("import", "good")
    assert imported.code == 0 and "\x1b" not in imported.output


# --------------------------------------------------------------------------- AWS
def test_aws_reference_without_a_region_names_the_field_and_the_fix(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import mock_aws

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(inproc.tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    text = MAIN.replace("${env:TOK_MAIN}", "${aws-sm:bitbucket/main}")
    with mock_aws():
        result = inproc.cli("validate", "-f", str(inproc.write("c.yaml", text)))
    assert result.code == 1
    assert "connectors[0].auth.api_token" in result.stderr and "(NoRegionError)" in result.stderr
    assert "set AWS_REGION" in result.stderr and "unexpected" not in result.stderr


def test_aws_reference_errors_name_the_fix(inproc: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        boto3.client("secretsmanager").create_secret(Name="bitbucket/json", SecretString='{"token": 5}')
        cases = {
            "${aws-sm:bitbucket/absent}": "check the secret id and AWS_REGION",
            "${aws-ssm:/bitbucket/absent}": "check the name (it starts with /) and AWS_REGION",
            "${aws-sm:bitbucket/json#nokey}": "fix the key after `#`",
            "${aws-sm:bitbucket/json#token}": "is not a string",
        }
        for reference, fix in cases.items():
            text = MAIN.replace("${env:TOK_MAIN}", reference)
            result = inproc.cli("validate", "-f", str(inproc.write("c.yaml", text)))
            assert result.code == 1 and "connectors[0].auth.api_token" in result.stderr and fix in result.stderr, \
                result.stderr

