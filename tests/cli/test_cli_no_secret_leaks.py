"""A sentinel secret in every definition appears in no output of any command, in any format.

Every credential of the test starts with the sentinel (see cli_helpers), including the ones that
fail, so error paths are covered as well as reports.
"""

from __future__ import annotations

import yaml
from cli_helpers import DEPRECATED_PHASE, CliResult, World


def test_no_command_in_any_format_shows_a_secret(world: World) -> None:
    outputs: list[CliResult] = []

    def run(*args: str, stdin: str | None = None, **env: str) -> CliResult:
        result = world.cli(*args, stdin=stdin, **env)
        outputs.append(result)
        return result

    world.set_clocks(DEPRECATED_PHASE)
    world.seed_legacy_app_password("legacy")
    path = str(world.definitions())
    for report_format in ([], ["--json"]):
        assert run("validate", "-f", path, *report_format).code == 0
        assert run("plan", "-f", path, *report_format).code == 0
    assert run("apply", "-f", path, "--auto-approve", "--json").code == 0
    world.admin("PATCH", f"/stackguardian/orgs/{world.org}/integrations/bitbucket_main", {"Description": "x"})
    for report_format in ("table", "json", "markdown"):
        assert run("drift", "-f", path, "--verify-credentials", "--format", report_format).code == 2
    for report_format in ([], ["--json"]):
        assert run("audit", *report_format).code == 2
        assert run("import", "bitbucket_main", *report_format).code == 0
    assert run("import", "legacy", "--to-yaml").code == 0

    new_token = f"{world.sentinel}-new-api-token"
    world.api_token(new_token, username="bob", email="bob@acme.io")
    migrate = ["migrate", "--connector", "legacy", "--to", "api_token", "--workspace", "acme", "--username", "bob",
               "--email", "bob@acme.io"]
    assert run(*migrate, stdin=new_token).code == 0
    assert run(*migrate, "--json", stdin=new_token).code == 0
    assert run(*migrate, "--auto-approve", stdin=new_token).code == 0
    preflight = ["preflight", "--auth-type", "api_token", "--workspace", "acme", "--username", "alice",
                 "--email", "alice@acme.io"]
    assert run(*preflight, stdin=world.env["TOK_MAIN"]).code == 0
    assert run(*preflight, "--json", stdin=world.env["TOK_MAIN"]).code == 0

    # Error paths: a rotated token Bitbucket rejects (apply's preflight fails), a plaintext secret,
    # a wrong credential for preflight, a secret with whitespace.
    rejected = f"{world.sentinel}-rejected"
    assert run("apply", "-f", path, "--auto-approve", TOK_MAIN=rejected).code == 1
    assert run("apply", "-f", path, "--auto-approve", "--json", TOK_MAIN=rejected).code == 1
    plaintext = world.write("plain.yaml", yaml.safe_dump({"connectors": [{
        "name": "p", "workspace": "acme",
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": rejected}}]}))
    assert run("plan", "-f", str(plaintext)).code == 1
    assert run("plan", "-f", str(plaintext), "--allow-plaintext-secrets", "--json").code == 0
    assert run(*preflight, stdin=rejected).code == 1
    assert run("plan", "-f", path, TOK_MAIN=f"{world.sentinel} with spaces").code == 1

    assert len(outputs) == 24
    for result in outputs:
        assert world.sentinel not in result.output, result.output
