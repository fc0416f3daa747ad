"""Small surprises a new user met (issue 22, part 5): each one's regression test.

`plan --prune` previews a prune; `apply -f F NAME` says nothing wrong about the file's other
connectors; `sg-bitbucket ... | head` ends quietly; a hint about a bad key or URL names where the
value came from; a Bitbucket that cannot be reached is said in words.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from cli_helpers import CLI, InProcess, World

ENTRY = """\
  - name: {name}
    workspace: acme
    auth: {{type: api_token, username: alice, email: alice@acme.io, api_token: "${{env:TOK_MAIN}}"}}
"""


def definitions(*names: str) -> str:
    return "set: surprises\nconnectors:\n" + "".join(ENTRY.format(name=name) for name in names)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- plan --prune
def test_plan_prune_previews_what_apply_prune_deletes(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", definitions("bitbucket-main", "second")))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.write("connectors.yaml", definitions("bitbucket-main"))
    writes = inproc.sg_writes()
    preview = inproc.cli("plan", "-f", path, "--prune", "--json")
    assert preview.code == 0, preview.output
    assert preview.json()["prune"] is True
    assert [(c["connector_id"], c["action"]) for c in preview.json()["connectors"]] == [
        ("bitbucket_main", "no-op"), ("second", "delete")]
    assert inproc.sg_writes() == writes  # a preview writes nothing
    table = inproc.cli("plan", "-f", path, "--prune", "--detailed-exitcode")
    assert table.code == 2 and "- delete" in table.stdout
    without = inproc.cli("plan", "-f", path, "--json")
    assert [c["action"] for c in without.json()["connectors"]] == ["no-op"]
    assert without.json()["managed_not_declared"] == ["second"]


def test_plan_prune_saved_is_applied_with_its_prune(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", definitions("bitbucket-main", "second")))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.write("connectors.yaml", definitions("bitbucket-main"))
    saved = str(inproc.tmp / "plan.json")
    assert inproc.cli("plan", "-f", path, "--prune", "--out", saved).code == 0
    assert inproc.cli("apply", saved).code == 0
    assert [r["Id"] for r in inproc.emulator.admin("GET", "/stackguardian/orgs/acme/integrations")["records"]] == [
        "bitbucket_main"]


# --------------------------------------------------------------------------- apply -f FILE NAME
def test_applying_one_named_connector_says_nothing_of_the_files_others(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", definitions("bitbucket-main", "second")))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    inproc.write("connectors.yaml", definitions("bitbucket-main", "second").replace(
        "  - name: second\n", "  - name: second\n    description: new\n"))
    one = inproc.cli("apply", "-f", path, "second", "--auto-approve")
    assert one.code == 0, one.output
    assert "not in the file" not in one.output
    planned = inproc.cli("plan", "-f", path, "bitbucket-main", "--json")
    assert planned.json()["managed_not_declared"] == []
    # A connector the file really no longer declares is still noted.
    inproc.write("connectors.yaml", definitions("bitbucket-main"))
    noted = inproc.cli("plan", "-f", path, "bitbucket-main")
    assert "1 connector(s) of set surprises are not in the file and are kept (prune is off): second" in noted.stdout


# --------------------------------------------------------------------------- pipes
@pytest.mark.parametrize("args", [["audit"], ["audit", "--json"], ["schema"]], ids=" ".join)
def test_a_reader_that_went_away_ends_the_cli_quietly(world: World, args: list[str]) -> None:
    """`sg-bitbucket ... | head`: no traceback, no "unexpected BrokenPipeError", and the exit status a tool
    ended by SIGPIPE has (141), as `yes | head` gives under `set -o pipefail`.

    The reader is gone before the first write (this machine's kernel lets a write that is already
    blocked on a full pipe complete when its reader exits, so `head -1` on a big output would race)."""
    seed_connectors(world, 20)
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=world.env,
                               cwd=world.tmp)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, errors
    assert errors == ""


def test_the_shell_pipeline_reports_sigpipe_like_other_tools(world: World) -> None:
    seed_connectors(world, 20)
    command = " ".join([sys.executable, "-m", "sg_bitbucket_iac.cli.app", "audit"])
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | true"], env=world.env,
                          capture_output=True, text=True, timeout=120, cwd=world.tmp)
    assert done.returncode == 141 and done.stderr == "", done.stderr


def seed_connectors(world: World, count: int) -> None:
    records = [{"Id": f"c{i}", "ResourceName": f"connector-{i}", "Tags": [], "ContextTags": {},
                "Settings": {"kind": "BITBUCKET_ORG", "config": [{
                    "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "alice:xxxxxxxx",
                    "bitbucketEmail": "alice@acme.io"}]}} for i in range(count)]
    world.admin("POST", f"/stackguardian/orgs/{world.org}/integrations/bulk", {"records": records})


# --------------------------------------------------------------------------- where a value came from
@pytest.mark.parametrize(("args", "env", "named"), [
    (["audit", "--api-url", "http://sg.example.com"], {}, "--api-url=http://sg.example.com is refused: it uses plain http://"),
    (["audit"], {"SG_BASE_URL": "http://sg.example.com"}, "SG_BASE_URL=http://sg.example.com is refused: it uses plain http://"),
    (["audit"], {"SG_BASE_URL": "", "STACKGUARDIAN_API_URI": "ftp://sg"},
     "STACKGUARDIAN_API_URI=ftp://sg is refused: it is not"),
    (["validate", "-f", "connectors.yaml", "--bitbucket-api-url", "http://bb.example.com"], {},
     "--bitbucket-api-url=http://bb.example.com is refused: it uses plain http://"),
    (["audit", "--timeout", "0"], {}, "--timeout='0' is out of range"),
    (["audit"], {"SG_BITBUCKET_IAC_TIMEOUT": "soon"}, "SG_BITBUCKET_IAC_TIMEOUT='soon' is not a number"),
])
def test_a_bad_url_or_setting_names_the_flag_or_variable_it_came_from(
    inproc: InProcess, args: list[str], env: dict[str, str], named: str
) -> None:
    inproc.write("connectors.yaml", definitions("bitbucket-main"))
    result = inproc.cli(*[str(inproc.tmp / a) if a.endswith(".yaml") else a for a in args], **env)
    assert result.code == 1 and named in result.stderr, result.output


@pytest.mark.parametrize(("env", "named"), [
    ({"SG_API_TOKEN": "wrong-key-123"}, "set a valid one in SG_API_TOKEN"),
    ({"SG_API_TOKEN": "", "STACKGUARDIAN_API_KEY": "wrong-key-123"}, "set a valid one in STACKGUARDIAN_API_KEY"),
])
def test_a_rejected_key_names_the_variable_it_came_from(inproc: InProcess, env: dict[str, str], named: str) -> None:
    result = inproc.cli("audit", **env)
    assert result.code == 1 and "API key rejected (401)" in result.stderr and named in result.stderr, result.output


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_an_api_nobody_answers_at_names_where_its_url_came_from(inproc: InProcess, where: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = (inproc.cli("audit", "--api-url", url, "--timeout", "2") if where == "flag"
              else inproc.cli("audit", "--timeout", "2", SG_BASE_URL=url))
    assert result.code == 1 and "connection refused" in result.stderr, result.output
    assert ("(--api-url)" if where == "flag" else "(SG_BASE_URL)") in result.stderr


# --------------------------------------------------------------------------- Bitbucket out of reach
def test_a_bitbucket_that_cannot_be_reached_is_said_in_words(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", definitions("bitbucket-main")))
    result = inproc.cli("validate", "-f", path, "--json", BITBUCKET_API_URL=f"http://127.0.0.1:{closed_port()}/2.0")
    assert result.code == 3, result.output  # inconclusive, never "invalid"
    summary = result.json()["connectors"][0]["preflight"]["summary"]
    assert "cannot reach 127.0.0.1" in summary and "connection refused" in summary
    for class_name in ("ConnectionError", "NewConnectionError", "MaxRetryError", "Errno"):
        assert class_name not in result.output
    text = inproc.cli("validate", "-f", path, BITBUCKET_API_URL=f"http://127.0.0.1:{closed_port()}/2.0")
    assert "connection refused" in text.stdout and "ConnectionError" not in text.output


def test_the_help_names_the_new_commands_and_flags() -> None:
    done = subprocess.run([*CLI, "plan", "--help"], capture_output=True, text=True, timeout=60)
    assert "--prune" in done.stdout
    done = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert "schema" in done.stdout
