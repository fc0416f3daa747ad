"""The CLI's own `sg-bitbucket-iac/last-write` tag, forged or broken (changed_outside.py, tags.py).

Anyone can edit a connector's ContextTags in StackGuardian. A managed connector whose tag is missing,
unreadable or in the future is treated as changed outside: drift reports it, the next apply re-sends
the declared credential, and afterwards all is in sync again. A year-9999 tag is a note about that one
connector, never an org-wide crash. In-process CLI against the in-process emulator.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_helpers import InProcess

from sg_bitbucket_iac.tags import LAST_WRITE_TAG

RECORDS = "/stackguardian/orgs/acme/integrations"
TWO = textwrap.dedent("""\
    connectors:
      - name: bitbucket-main
        workspace: acme
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
      - name: infra-repo
        workspace: acme
        auth: {type: access_token, scope: repository, repository: infra, access_token: "${file:infra.token}"}
    """)
TOMORROW = str(int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000))
FORGED = {
    "missing": (None, "tag is missing"),
    "unreadable": ("soon", "tag cannot be read ('soon' is not a time in epoch milliseconds)"),
    "past every clock": ("9" * 17, "past the last date a clock can show"),
    "year 9999": ("253402300799999", "tag says 9999-12-31T23:59:59Z, which is in the future"),
    "tomorrow": (TOMORROW, "which is in the future"),
}


def set_last_write(inproc: InProcess, connector_id: str, value: str | None) -> None:
    """Edit the tag behind the tool's back, as a person in the StackGuardian UI could."""
    context: dict[str, Any] = dict(inproc.emulator.admin("GET", f"{RECORDS}/{connector_id}")["ContextTags"])
    context.pop(LAST_WRITE_TAG, None)
    if value is not None:
        context[LAST_WRITE_TAG] = value
    inproc.emulator.admin("PATCH", f"{RECORDS}/{connector_id}", {"ContextTags": context})


def drift(inproc: InProcess, path: str) -> dict[str, dict[str, Any]]:
    result = inproc.cli("drift", "-f", path, "--json")
    assert result.code in (0, 2) and "Traceback" not in result.output, result.output
    return {r["connector_id"]: r for r in result.json()["connectors"]}


@pytest.mark.parametrize(("value", "why"), FORGED.values(), ids=list(FORGED))
def test_a_forged_or_broken_tag_is_drift_and_the_next_apply_reasserts(inproc: InProcess, value: str | None,
                                                                     why: str) -> None:
    path = str(inproc.write("connectors.yaml", TWO))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    set_last_write(inproc, "bitbucket_main", value)

    reports = drift(inproc, path)
    assert reports["bitbucket_main"]["status"] == ["changed_outside"]
    assert any(why in m and "the credential may have been replaced" in m
               for m in reports["bitbucket_main"]["messages"]), reports["bitbucket_main"]["messages"]
    assert reports["infra_repo"]["status"] == ["in_sync"]  # one connector's tag is that connector's note
    markdown = inproc.cli("drift", "-f", path, "--format", "markdown")
    assert markdown.code == 2 and why.split("(")[0].strip() in markdown.stdout

    plan = inproc.cli("plan", "-f", path, "--json").json()
    [main] = [c for c in plan["connectors"] if c["connector_id"] == "bitbucket_main"]
    assert main["action"] == "update" and main["sends_credentials"] is True
    assert [c["field"] for c in main["changes"]] == ["auth.api_token"]
    writes = inproc.sg_writes()
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    assert inproc.sg_writes() == writes + 1  # the one re-assertion; the other connector is left alone
    record = inproc.emulator.admin("GET", f"{RECORDS}/bitbucket_main")
    assert record["ContextTags"][LAST_WRITE_TAG].isdigit()
    assert int(record["ContextTags"][LAST_WRITE_TAG]) <= int(TOMORROW)
    assert {r["status"][0] for r in drift(inproc, path).values()} == {"in_sync"}


def test_a_year_9999_tag_on_one_connector_leaves_every_command_working(inproc: InProcess) -> None:
    path = str(inproc.write("connectors.yaml", TWO))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    set_last_write(inproc, "infra_repo", "253402300799999")
    for command in (["drift", "-f", path], ["plan", "-f", path], ["audit"], ["import", "infra_repo"]):
        result = inproc.cli(*command)
        assert result.code in (0, 2), (command, result.output)
        assert "OverflowError" not in result.output and "Traceback" not in result.output
