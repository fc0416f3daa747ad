"""Fast cases, in-process (`app.main([...])`) against the in-process emulator."""

from __future__ import annotations

import io
import textwrap

import pytest
from cli_helpers import DEPRECATED_PHASE, END_OF_SUPPORT, CliResult, InProcess

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.cli.render import drift_markdown, plan_view, show

MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
    """)


def many(count: int) -> str:
    entries = "".join(
        f"  - name: conn-{n}\n    workspace: acme\n"
        "    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: \"${env:TOK_MAIN}\"}\n"
        for n in range(count))
    return "connectors:\n" + entries


class FakeTerminal(io.StringIO):
    """A stdin that claims to be a terminal, with the user's answer already typed."""

    def isatty(self) -> bool:
        return True


def run_with_stdin(inproc: InProcess, stdin: io.StringIO, *args: str) -> CliResult:
    inproc.capsys.readouterr()
    code = app.main(list(args), environ=inproc.env, stdin=stdin)
    captured = inproc.capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def test_apply_asks_on_a_terminal_and_only_yes_proceeds(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    declined = run_with_stdin(inproc, FakeTerminal("n\n"), "apply", "-f", path)
    assert declined.code == 1 and "[y/N]" in declined.stderr and "Apply cancelled" in declined.stderr
    assert inproc.sg_writes() == 0
    accepted = run_with_stdin(inproc, FakeTerminal("yes\n"), "apply", "-f", path)
    assert accepted.code == 0, accepted.output
    assert inproc.sg_writes() == 1


def test_parallel_apply_of_many_connectors(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", many(12)))
    result = inproc.cli("apply", "-f", path, "--auto-approve", "--parallelism", "4", "--json")
    assert result.code == 0, result.output
    assert [r["status"] for r in result.json()["results"]] == ["ok"] * 12
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 0


def test_plan_json_has_stable_keys(inproc: InProcess) -> None:
    result = inproc.cli("plan", "-f", str(inproc.write("connectors.yaml", MAIN)), "--json")
    document = result.json()
    assert set(document) == {"org", "file", "set", "prune", "connectors", "managed_not_declared", "summary"}
    assert set(document["connectors"][0]) == {"path", "action", "connector_id", "name", "changes",
                                              "sends_credentials", "full_credential_replacement", "warnings"}
    assert document["connectors"][0]["path"] == "connectors[0]"


def test_validate_reports_an_inconclusive_preflight_as_a_warning(inproc: InProcess) -> None:
    inproc.emulator.admin("POST", "/faults", {"api": "bitbucket", "path_regex": ".*", "status": 503})
    result = inproc.cli("validate", "-f", str(inproc.write("connectors.yaml", MAIN)))
    # Exit 3 (inconclusive, none failed), like `preflight`: a CI gate must not pass during an outage.
    assert result.code == 3, result.output
    assert "INCONCLUSIVE" in result.stdout
    assert inproc.sg_requests() == 0


def test_a_bitbucket_answer_later_than_the_timeout_makes_validate_inconclusive(inproc: InProcess) -> None:
    inproc.emulator.admin("POST", "/faults", {"api": "bitbucket", "path_regex": ".*", "latency_ms": 3000})
    result = inproc.cli("validate", "-f", str(inproc.write("connectors.yaml", MAIN)), "--timeout", "0.3", "--json",
                        SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF="0")
    assert result.code == 3, result.output  # waited 0.3 s per try, not the default 10 s
    assert result.json()["connectors"][0]["preflight"]["status"] == "INCONCLUSIVE"


def test_the_log_shows_requests_and_phases_and_no_secret(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    applied = inproc.cli("apply", "-f", path, "--auto-approve", SG_BITBUCKET_IAC_LOG="debug")
    assert applied.code == 0, applied.output
    assert f"read {path}: 1 connector(s)" in applied.stderr and "applied 1 change(s)" in applied.stderr
    assert "POST /api/v1/orgs/acme/integrations/ -> 200" in applied.stderr
    assert "Bitbucket preflight of the api_token for workspace acme: PASS" in applied.stderr
    assert inproc.sentinel not in applied.output
    quiet = inproc.cli("plan", "-f", path)
    assert "sg-bitbucket-iac " not in quiet.stderr  # off unless asked for


def test_validate_fails_when_a_scope_is_missing(inproc: InProcess) -> None:
    token = f"{inproc.sentinel}-narrow"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": token, "email": "alice@acme.io", "username": "alice",
        "scopes": ["read:user:bitbucket", "read:workspace:bitbucket"], "workspaces": ["acme"]})
    inproc.setenv("TOK_MAIN", token)
    result = inproc.cli("validate", "-f", str(inproc.write("connectors.yaml", MAIN)), "--json")
    assert result.code == 1
    preflight = result.json()["connectors"][0]["preflight"]
    assert preflight["status"] == "FAIL"
    assert {"read:repository:bitbucket", "read:project:bitbucket"} <= set(preflight["missing_scopes"])


def test_audit_flags_credentials_that_no_longer_authenticate(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.emulator.admin("PATCH", f"/bitbucket/credentials/{inproc.sentinel}-main-api-token", {"revoked": True})
    result = inproc.cli("audit", "--json")
    assert result.code == 2, result.output
    entry = result.json()["connectors"][0]
    assert entry["authenticated"] is False and entry["needs_action"]
    assert "do not authenticate" in entry["next_step"]
    drift = inproc.cli("drift", "-f", path, "--json")
    assert drift.code == 2 and drift.json()["connectors"][0]["status"] == ["credentials_failing"]


def test_drift_reports_app_passwords_past_the_timeline_instead_of_refusing_the_file(inproc: InProcess) -> None:
    token = f"{inproc.sentinel}-app-password"
    inproc.emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "app_password", "secret": token, "username": "bob", "workspaces": ["acme"],
        "scopes": ["account", "team", "repository", "project", "pullrequest"]})
    inproc.emulator.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    path = str(inproc.write("legacy.yaml", "connectors:\n  - name: legacy\n    workspace: acme\n    auth: "
                                           "{type: app_password, username: bob, app_password: \"${env:AP}\"}\n"))
    inproc.setenv("AP", token)
    assert inproc.cli("apply", "-f", path, "--auto-approve", SG_BITBUCKET_IAC_NOW=DEPRECATED_PHASE).code == 0
    result = inproc.cli("drift", "-f", path, "--json", SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
    assert result.code == 2, result.output
    report = result.json()["connectors"][0]
    assert report["status"] == ["app_password"]
    assert any("sg-bitbucket migrate --connector legacy" in m for m in report["messages"])
    assert report["fix"].startswith("switch its entry to `type: api_token`")


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["audit"], {"SG_ORG": ""}, "error: no StackGuardian org"),
    (["audit"], {"SG_API_TOKEN": ""}, "error: no StackGuardian API key"),
    (["audit"], {"SG_API_TOKEN": "wrong-key"}, "API key rejected (401)"),
    (["audit", "--api-url", "http://sg.example.com"], {}, "plain http:// to a non-loopback host"),
    (["plan", "-f", "connectors.yaml"], {"SG_BITBUCKET_IAC_NOW": "yesterday"}, "is not an ISO 8601 date"),
    (["plan", "-f", "missing.yaml"], {}, "missing.yaml: cannot read the file: No such file or directory"),
    (["import", "nope"], {}, "error: no Bitbucket connector 'nope' in org acme"),
    (["migrate", "--connector", "nope", "--to", "api_token"], {}, "error: no Bitbucket connector 'nope'"),
    (["migrate", "--connector", "x"], {}, "error: --to is required"),
    (["migrate", "--all-app-passwords"], {}, "--all-app-passwords needs --mapping FILE"),
    (["preflight", "--auth-type", "api_token"], {}, "--workspace is required"),
    (["apply", "-f", "connectors.yaml", "--parallelism", "0"], {}, "must be at least 1"),
])
def test_errors_are_one_clear_line_and_exit_1(inproc: InProcess, args: list[str], env: dict[str, str],
                                              expected: str) -> None:
    inproc.write("connectors.yaml", MAIN)
    inproc.monkeypatch.chdir(inproc.tmp)
    result = inproc.cli(*args, **env)
    assert result.code == 1, result.output
    assert expected in result.stderr, result.stderr
    assert result.stdout == ""
    assert inproc.sg_writes() == 0


def test_migrate_flags_of_another_auth_type_are_named_as_flags(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    result = inproc.cli("migrate", "--connector", "bitbucket_main", "--to", "access_token", "--email", "a@b.io",
                        "--repository", "infra", "--secret-env", "NEW", NEW=f"{inproc.sentinel}-new")
    assert result.code == 1
    assert "error: --email: `email` belongs to auth type api_token" in result.stderr


def test_renderers_escape_markdown_and_show_nothing_as_a_dash() -> None:
    report = {"connector_id": "a|b", "name": "x", "status": ["changed_outside"], "authenticated": True,
              "changed_outside": [{"field": "description", "before": "p|q", "after": None}],
              "not_yet_applied": [], "messages": ["line one\nline two"]}
    summary = {"total": 1, "drifted": 1, "org": "acme", "file": "c.yaml", "checked_at": "now"}
    markdown = drift_markdown([report], summary)
    assert "`a\\|b`" in markdown and "p\\|q -> —`" in markdown and "`line one`<br>`line two`" in markdown
    assert show(None) == show([]) == "—" and show(["a", "b"]) == "a, b" and show(False) == "no"
    assert "No changes" in str(plan_view([{"action": "no-op", "connector_id": "a", "changes": []}])[0])


def test_progress_bar_only_on_a_terminal_and_for_more_than_five_items(capsys: pytest.CaptureFixture[str]) -> None:
    from sg_bitbucket_iac.cli.output import Output

    output = Output(color=False)
    with output.progress(50, "Applying") as advance:
        advance()
    assert capsys.readouterr().err == ""  # not a terminal
    output.stderr_tty = True
    with output.progress(5, "Applying") as advance:
        advance()
    assert capsys.readouterr().err == ""  # a handful: no bar
    with output.progress(6, "Applying") as advance:
        for _ in range(6):
            advance()
    assert "Applying" in capsys.readouterr().err
