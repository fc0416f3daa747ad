"""The CLI through loopback recorders: hostile identifiers and base URLs from every source the CLI reads
(flags, YAML, a saved plan, the server's own listall records) never reach a request outside the API's
prefix, and no request leaves this machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import InProcess
from loopback_recorder import Recorders, hostile_record, network_guard, recorders  # noqa: F401 - fixtures

MAIN = """\
org: acme
set: platform
connectors:
  - name: bitbucket-main
    workspace: acme
    auth:
      type: api_token
      username: alice
      email: alice@acme.io
      api_token: ${env:TOK_MAIN}
"""


@pytest.fixture
def cli(inproc: InProcess, recorders: Recorders, network_guard: list[str]) -> Iterator[InProcess]:  # noqa: F811
    """The in-process CLI with both APIs behind recorders; every test ends inside the prefixes, on loopback."""
    inproc.env.update(SG_BASE_URL=recorders.stackguardian_url, BITBUCKET_API_URL=recorders.bitbucket_url)
    inproc.monkeypatch.chdir(inproc.tmp)
    yield inproc
    recorders.assert_inside()
    assert network_guard == [], f"lookups of hosts that are not loopback: {network_guard}"


def test_a_whole_apply_stays_inside_both_prefixes(cli: InProcess, recorders: Recorders) -> None:  # noqa: F811
    """The control: a real run is seen by the recorders, every line under its prefix."""
    cli.write("connectors.yaml", MAIN)
    result = cli.cli("apply", "-f", "connectors.yaml", "--auto-approve")
    assert result.code == 0, result.output
    assert recorders.stackguardian.lines and recorders.bitbucket.lines
    assert "POST" in recorders.stackguardian.methods()


@pytest.mark.parametrize(("args", "path"), [
    (["audit", "--org", ".."], "--org"),
    (["audit", "--org", "acme/../other"], "--org"),
    (["import", ".."], "ID"),
    (["import", "a%2f..%2f"], "ID"),
    (["migrate", "--connector", ".", "--to", "api_token", "--workspace", "acme"], "--connector"),
    (["preflight", "--auth-type", "api_token", "--workspace", "..", "--username", "alice", "--email",
      "alice@acme.io", "--secret-env", "TOK_MAIN"], "--workspace"),
    (["preflight", "--auth-type", "api_token", "--workspace", "acme", "--repository", "../../user",
      "--username", "alice", "--email", "alice@acme.io", "--secret-env", "TOK_MAIN"], "--repository"),
])
def test_a_hostile_flag_is_refused_with_its_name_before_any_request(cli: InProcess, recorders: Recorders,  # noqa: F811
                                                                    args: list[str], path: str) -> None:
    result = cli.cli(*args, "--json")
    assert result.code == 1, result.output
    errors = json.loads(result.stdout)["errors"]
    assert any((e["path"] or "").startswith(path) or e["message"].startswith(path) for e in errors), errors
    assert recorders.requests() == 0


@pytest.mark.parametrize("flag", ["--api-url", "--bitbucket-api-url"])
@pytest.mark.parametrize("template", ["http://evil.example\\@{host}", "http://{host}\\@evil.example",
                                      "http://user:pass@{host}", "http://{host}/?token=x", "http://{host}#x",
                                      "http://{host} @evil.example", "gopher://{host}"])
def test_a_base_url_that_parsers_could_read_two_ways_is_refused(cli: InProcess, recorders: Recorders,  # noqa: F811
                                                                flag: str, template: str) -> None:
    host = recorders.stackguardian_url.removeprefix("http://")
    cli.write("connectors.yaml", MAIN)
    result = cli.cli("validate", "-f", "connectors.yaml", flag, template.format(host=host))
    assert result.code == 1, result.output
    assert "is refused" in result.stderr and "user:pass@" not in result.stderr and "token=x" not in result.stderr
    assert recorders.requests() == 0


@pytest.mark.parametrize(("edit", "path"), [
    (("org: acme", "org: '..'"), "org"),
    (("  - name: bitbucket-main\n", "  - name: bitbucket-main\n    id: '.'\n"), "connectors[0].id"),
    (("  - name: bitbucket-main\n", "  - name: bitbucket-main\n    id: listall\n"), "connectors[0].id"),
    (("workspace: acme", "workspace: '..'"), "connectors[0].workspace"),
    (("workspace: acme", "workspace: 'acme/../x'"), "connectors[0].workspace"),
])
def test_a_hostile_yaml_value_is_refused_at_its_path_before_any_request(cli: InProcess, recorders: Recorders,  # noqa: F811
                                                                        edit: tuple[str, str], path: str) -> None:
    cli.write("connectors.yaml", MAIN.replace(*edit))
    result = cli.cli("plan", "-f", "connectors.yaml", "--json")
    assert result.code == 1, result.output
    assert path in [e["path"] for e in json.loads(result.stdout)["errors"]]
    assert recorders.requests() == 0


@pytest.mark.parametrize(("key", "repository"), [("repository", ".."), ("project", "..")])
def test_a_hostile_slug_or_key_of_an_access_token_is_refused(cli: InProcess, recorders: Recorders,  # noqa: F811
                                                             key: str, repository: str) -> None:
    cli.write("connectors.yaml", f"""\
org: acme
connectors:
  - name: infra
    workspace: acme
    auth:
      type: access_token
      {key}: '{repository}'
      access_token: ${{file:infra.token}}
""")
    result = cli.cli("plan", "-f", "connectors.yaml", "--json")
    assert result.code == 1, result.output
    assert f"connectors[0].auth.{key}" in [e["path"] for e in json.loads(result.stdout)["errors"]]
    assert recorders.requests() == 0


@pytest.mark.parametrize(("field", "value", "path"), [
    ("connector_id", "..", "connectors[0].connector_id"),
    ("connector_id", "a/../../b", "connectors[0].connector_id"),
    ("org", "..", "org"),
    ("managed_not_declared", ["."], "managed_not_declared[0]"),
])
def test_a_hand_edited_plan_file_is_refused_before_any_request(cli: InProcess, recorders: Recorders,  # noqa: F811
                                                              field: str, value: Any, path: str) -> None:
    cli.write("connectors.yaml", MAIN)
    assert cli.cli("plan", "-f", "connectors.yaml", "--out", "plan.json").code == 0
    plan = json.loads((cli.tmp / "plan.json").read_text())
    if field == "connector_id":
        plan["connectors"][0]["connector_id"] = value
    else:
        plan[field] = value
    cli.write("plan.json", json.dumps(plan))
    recorders.stackguardian.lines.clear()
    recorders.bitbucket.lines.clear()
    result = cli.cli("apply", "plan.json", "--json")
    assert result.code == 1, result.output
    assert path in [e["path"] for e in json.loads(result.stdout)["errors"]]
    assert recorders.requests() == 0


def _with_hostile_records(recorders: Recorders, *ids: str, name: str | None = None) -> None:  # noqa: F811
    """listall answers every real record plus copies of the first one under hostile Ids (and ``name``)."""

    def answer(body: Any) -> tuple[int, Any]:
        items = list(body.get("msg") or [])
        first = items[0].get("msg", items[0]) if items else {"Settings": {"kind": "BITBUCKET_ORG"}}
        copies = [hostile_record({**first, "ResourceName": name or first.get("ResourceName")}, hostile)
                  for hostile in ids]
        return 200, {**body, "msg": items + copies}

    recorders.stackguardian.answer("GET", r"/integrations/listall/", answer)


def test_a_hostile_server_record_is_reported_never_deleted_adopted_or_read(cli: InProcess,
                                                                          recorders: Recorders) -> None:  # noqa: F811
    """A CLI-managed record under Ids that would reach other endpoints: apply with prune deletes the
    real one that left the file and nothing else; audit reports the odd ones."""
    cli.write("connectors.yaml", MAIN)
    assert cli.cli("apply", "-f", "connectors.yaml", "--auto-approve").code == 0
    _with_hostile_records(recorders, "..", ".", "listall", "x/../..", "\x1b[2J")
    cli.write("empty.yaml", "org: acme\nset: platform\nprune: true\nconnectors: []\n")
    recorders.stackguardian.lines.clear()
    result = cli.cli("apply", "-f", "empty.yaml", "--auto-approve")
    assert result.code == 0, result.output
    deletes = [line.target for line in recorders.stackguardian.lines if line.method == "DELETE"]
    assert deletes == ["/api/v1/orgs/acme/integrations/bitbucket_main/"]
    assert set(recorders.stackguardian.methods()) == {"GET", "DELETE"}
    assert result.stderr.count("unreadable record: Id") == 5 and "\x1b[2J" not in result.output
    audit = cli.cli("audit", "--json")
    unreadable = [c for c in json.loads(audit.stdout)["connectors"] if c.get("unreadable")]
    assert len(unreadable) == 5 and "\x1b" not in audit.stdout
    assert {line.method for line in recorders.stackguardian.lines} == {"GET", "DELETE"}


def test_adopt_never_takes_a_hostile_record_by_its_name(cli: InProcess, recorders: Recorders) -> None:  # noqa: F811
    cli.write("connectors.yaml", MAIN)
    assert cli.cli("apply", "-f", "connectors.yaml", "--auto-approve").code == 0
    _with_hostile_records(recorders, "..", name="hostile-name")
    cli.write("adopt.yaml", MAIN.replace("  - name: bitbucket-main\n", "  - name: hostile-name\n    adopt: true\n"))
    recorders.stackguardian.lines.clear()
    result = cli.cli("plan", "-f", "adopt.yaml", "--json")
    assert result.code == 1, result.output
    errors = json.loads(result.stdout)["errors"]
    assert errors[0]["path"] == "connectors[0]"
    assert "has no connector with Id hostile_name or name" in errors[0]["message"]
    assert {line.method for line in recorders.stackguardian.lines} == {"GET"}
