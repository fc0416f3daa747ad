"""Saved plan files (cli/commands/plan_file.py) as hostile input: checked whole, read bounded, never a hang.

`apply PLAN.json` reads the plan before it sends anything, so every refusal here must come with no
request to StackGuardian at all; and saving a plan never writes through a link already at the target.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import InProcess

from sg_bitbucket_iac.cli.commands.plan_file import MAX_PLAN_BYTES, PLAN_BYTES_PER_CONNECTOR

MAIN = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
    """)


def saved_plan(inproc: InProcess) -> tuple[Path, dict[str, Any]]:
    path = inproc.tmp / "plan.json"
    made = inproc.cli("plan", "-f", str(inproc.write("connectors.yaml", MAIN)), "--out", str(path))
    assert made.code == 0, made.output
    return path, json.loads(path.read_text())


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda plan: plan.pop(key)


def _set(value: Any, *keys: str | int) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        target: Any = plan
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


# (what is wrong, how the plan is changed, what the error says)
MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no connectors", _without("connectors"), "connectors: Field required"),
    ("no digest", _without("declarations_digest"), "declarations_digest: Field required"),
    ("prune as text", _set("yes", "prune"), "prune: Input should be a valid boolean"),
    ("connectors as a mapping", _set({}, "connectors"), "connectors: Input should be a valid array"),
    ("an unknown action", _set("explode", "connectors", 0, "action"), "connectors[0].action: Input should be"),
    ("an Id that climbs", _set("..", "connectors", 0, "connector_id"),
     "connectors[0].connector_id: '..' is not a valid StackGuardian connector Id"),
    ("a time without zone", _set("2026-01-01T00:00:00", "connectors", 0, "observed_modified_at"),
     "connectors[0].observed_modified_at"),
    ("a key it never has", _set(1, "connectors", 0, "delete_everything"), "connectors[0].delete_everything: Extra"),
    ("another format", _set("sg-bitbucket-plan/0", "format"), "format: Input should be 'sg-bitbucket-plan/1'"),
    ("a digest that is not one", _set("x", "declarations_digest"), "declarations_digest: String should match"),
]


@pytest.mark.parametrize(("change", "says"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_plan_is_refused_by_path_and_nothing_is_sent(
    inproc: InProcess, change: Callable[[dict[str, Any]], None], says: str
) -> None:
    path, plan = saved_plan(inproc)
    change(plan)
    path.write_text(json.dumps(plan))
    inproc.emulator.admin("DELETE", "/stats")
    result = inproc.cli("apply", str(path))
    assert result.code == 1, result.output
    assert f"{path} is not a plan file of this tool (sg-bitbucket-plan/1); nothing was written" in result.stderr
    assert says in result.stderr and "nothing was written" in result.stderr, result.stderr
    assert inproc.sg_requests() == 0 and "Traceback" not in result.output


@pytest.mark.parametrize(("content", "says"), [
    (b"", "Invalid JSON"),
    (b"{\"format\": ", "Invalid JSON"),
    (b"[]", "error: Input should be an object"),
    (b"\xff\xfe not text", "Invalid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "Invalid JSON"),  # nesting far past any plan's: refused, not a RecursionError
])
def test_a_file_that_is_not_a_plan_is_refused(inproc: InProcess, content: bytes, says: str) -> None:
    path = inproc.tmp / "plan.json"
    path.write_bytes(content)
    result = inproc.cli("apply", str(path))
    assert result.code == 1 and says in result.stderr, result.stderr
    assert inproc.sg_requests() == 0 and "Traceback" not in result.output


@pytest.mark.timeout(30)
def test_streams_devices_folders_and_huge_files_are_refused_without_reading_them(inproc: InProcess) -> None:
    fifo = inproc.tmp / "fifo.json"
    os.mkfifo(fifo)  # no writer: opening it blocking would wait forever
    huge = inproc.tmp / "huge.json"
    with huge.open("wb") as handle:  # sparse: costs no disk, and is never read
        handle.truncate(MAX_PLAN_BYTES + 1)
    cases = {
        str(fifo): "is a FIFO (named pipe), not a regular file",
        "/dev/zero": "is a character device, not a regular file",
        str(inproc.tmp): "is a directory, not a regular file",
        str(huge): f"has {MAX_PLAN_BYTES + 1} bytes, more than the {MAX_PLAN_BYTES} bytes a saved plan may have",
        str(inproc.tmp / "absent.json"): "no plan file",
    }
    for path, says in cases.items():
        result = inproc.cli("apply", path)
        assert result.code == 1 and says in result.stderr, (path, result.stderr)
        assert "--out PLAN.json" in result.stderr  # the hint: how to make one
    assert inproc.sg_requests() == 0


def test_a_plan_is_read_through_a_link_but_saved_over_it_never_through_it(inproc: InProcess) -> None:
    path, _plan = saved_plan(inproc)
    elsewhere = inproc.tmp / "elsewhere.txt"
    elsewhere.write_text("not yours to overwrite\n")
    link = inproc.tmp / "link.json"
    link.symlink_to(elsewhere)
    made = inproc.cli("plan", "-f", str(inproc.tmp / "connectors.yaml"), "--out", str(link))
    assert made.code == 0, made.output
    assert elsewhere.read_text() == "not yours to overwrite\n"
    assert not link.is_symlink() and json.loads(link.read_text())["format"] == "sg-bitbucket-plan/1"
    assert sorted(p.name for p in inproc.tmp.iterdir() if p.name.startswith(".")) == []  # no temporary left
    via = inproc.tmp / "via.json"
    via.symlink_to(path)
    applied = inproc.cli("apply", str(via))
    assert applied.code == 0, applied.output
    folder = inproc.cli("plan", "-f", str(inproc.tmp / "connectors.yaml"), "--out", str(inproc.tmp))
    assert folder.code == 1 and "cannot write the plan to" in folder.stderr


def test_the_size_cap_fits_a_plan_of_20000_connectors_with_every_field_at_its_limit(inproc: InProcess) -> None:
    count = 20
    entries = [
        textwrap.indent(textwrap.dedent(f"""\
            - name: c{i:03d}-{"n" * 94}
              description: {"d" * 255}
              tags: [{", ".join(f"t{j}-{'x' * 60}" for j in range(10))}]
              workspace: acme
              auth: {{type: api_token, username: alice, email: alice@acme.io, api_token: "${{env:TOK_MAIN}}"}}
            """), "  ")
        for i in range(count)
    ]
    path = inproc.write("big.yaml", "connectors:\n" + "".join(entries))
    plan_path = inproc.tmp / "big-plan.json"
    made = inproc.cli("plan", "-f", str(path), "--out", str(plan_path), "--no-preflight")
    assert made.code == 0, made.output
    per_connector = plan_path.stat().st_size / count
    assert per_connector < PLAN_BYTES_PER_CONNECTOR, per_connector
    assert MAX_PLAN_BYTES > 20_000 * PLAN_BYTES_PER_CONNECTOR
