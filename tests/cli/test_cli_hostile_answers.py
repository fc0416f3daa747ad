"""The CLI on a StackGuardian that answers something unexpected: plan, drift, audit and apply stop with an
error that says so (exit 1), write nothing, and never take the org for empty (no create is planned).

The hostile server sits in front of the in-process emulator: everything it does not script is the
emulator's own answer, so the connectors really exist and only the scripted part of the API misbehaves.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable

import pytest
from cli_helpers import InProcess
from hostile_server import HostileServer, Reply

MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
    """)


def endless_cursor() -> Callable[..., Reply]:
    pages = itertools.count(1)
    return lambda request: Reply.json({"msg": [], "lastevaluatedkey": f"page-{next(pages)}"})


HOSTILE_LISTALLS: list[tuple[str, Callable[[], Reply | Callable[..., Reply]], str]] = [
    ("200 with an error body", lambda: Reply.json({"msg": "Internal server error"}),
     "a listall page holds no list under `msg` (server said: Internal server error)"),
    ("items of the wrong type", lambda: Reply.json({"msg": ["bitbucket_main"], "lastevaluatedkey": ""}),
     "an item that is not an object"),
    ("not JSON", lambda: Reply.text("<html>Bad gateway</html>"), "its body is not JSON"),
    ("endless cursor", endless_cursor, "listall did not end after 401 pages of 500"),
    ("gzip bomb", lambda: Reply.gzip_bomb(), "larger than the 16 MiB accepted"),
    ("deep JSON", lambda: Reply.deep_json(50_000), "nests deeper than 32 levels"),
    ("drip", lambda: Reply.drip(b'{"msg": [], "lastevaluatedkey": ""}', every=0.1), "no complete answer within 0.3 s"),
]


@pytest.fixture
def applied(inproc: InProcess, hostile: Callable[..., HostileServer]) -> tuple[InProcess, HostileServer, str]:
    """bitbucket-main applied for real; then StackGuardian reached through a hostile server in front of it."""
    path = str(inproc.write("connectors.yaml", MAIN))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    server = hostile(upstream=inproc.emulator.stackguardian_url)
    inproc.env["SG_BASE_URL"] = server.url
    inproc.env["SG_BITBUCKET_IAC_TIMEOUT"] = "0.3"
    inproc.emulator.admin("DELETE", "/stats")
    return inproc, server, path


@pytest.mark.parametrize(("name", "listall", "words"), HOSTILE_LISTALLS, ids=[case[0] for case in HOSTILE_LISTALLS])
@pytest.mark.parametrize("command", ["plan", "drift", "audit", "apply"])
def test_an_unexpected_listall_stops_every_command_and_writes_nothing(
    applied: tuple[InProcess, HostileServer, str], command: str, name: str,
    listall: Callable[[], Reply | Callable[..., Reply]], words: str,
) -> None:
    inproc, server, path = applied
    server.on("GET", "/listall/", listall())
    args = {"plan": ["plan", "-f", path, "--detailed-exitcode"], "drift": ["drift", "-f", path],
            "audit": ["audit"], "apply": ["apply", "-f", path, "--auto-approve"]}[command]
    result = inproc.cli(*args)
    assert result.code == 1, result.output
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.output
    for planned_create in ("will be created", "+ create", "missing (not created yet"):
        assert planned_create not in result.output  # never an empty org
    assert inproc.sg_writes() == 0
    assert inproc.sentinel not in result.output


def test_the_same_commands_succeed_once_the_answers_are_right_again(
    applied: tuple[InProcess, HostileServer, str],
) -> None:
    inproc, server, path = applied
    server.on("GET", "/listall/", Reply.json({"msg": "Internal server error"}), times=1)
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 1
    assert inproc.cli("plan", "-f", path, "--detailed-exitcode").code == 0  # through to the emulator: no changes


def test_json_output_names_the_unexpected_answer(applied: tuple[InProcess, HostileServer, str]) -> None:
    inproc, server, path = applied
    server.on("GET", "/listall/", Reply.json({"msg": "Internal server error"}))
    result = inproc.cli("plan", "-f", path, "--json")
    assert result.code == 1
    (error,) = result.json()["errors"]
    assert "answered something unexpected" in error["message"] and "outage" in error["message"]
