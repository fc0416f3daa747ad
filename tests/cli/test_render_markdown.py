"""Markdown drift reports (cli/render.py) as GitHub renders them: values shown literally, nothing live.

A drift report is pasted into pull-request comments, and names, descriptions and tags can be set by
anyone in the StackGuardian UI. Each report here is rendered by cmark-gfm (GitHub's own renderer, with
its table, autolink, strikethrough and tag-filter extensions, raw HTML let through so that any would
show) and the HTML is read back: only the report's own elements may appear, and every value must be
the exact text of one ``<code>`` element, where GitHub neither links, mentions nor emoji-fies.
"""

from __future__ import annotations

import textwrap
from typing import Any

from cli_helpers import InProcess
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_cells import TEXT, code, merged, rendered

from sg_bitbucket_iac.cli.render import DRIFT_LABELS, NONE, clean, drift_details, drift_markdown
from sg_bitbucket_iac.redact import escape_control


def expected_details(report: dict[str, Any]) -> list[tuple[str, str]]:
    parts = [part for line in drift_details(clean(report)) for part in (line.splitlines() or [""])]
    cell: list[tuple[str, str]] = []
    for position, part in enumerate(parts):
        if position:
            cell.append(("br", ""))
        cell.append(code(part))
    return merged(cell) or [("text", NONE)]


@settings(max_examples=150, deadline=None)
@given(connector_id=TEXT.filter(bool), name=TEXT, description=TEXT, tag=TEXT, message=TEXT, org=TEXT.filter(bool),
       file=TEXT.filter(bool), statuses=st.lists(st.sampled_from(sorted(set(DRIFT_LABELS) - {"in_sync"})),
                                                 min_size=1, max_size=3, unique=True),
       authenticated=st.sampled_from([True, False, None]), in_sync_id=TEXT.filter(bool), cli_set=TEXT.filter(bool))
def test_rendered_cells_never_hold_live_markup_and_show_each_value_exactly(
    connector_id: str, name: str, description: str, tag: str, message: str, org: str, file: str,
    statuses: list[str], authenticated: bool | None, in_sync_id: str, cli_set: str,
) -> None:
    report = {"connector_id": connector_id, "name": name, "set": cli_set, "status": statuses,
              "authenticated": authenticated,
              "changed_outside": [{"field": "description", "before": description, "after": None}],
              "not_yet_applied": [{"field": "tags", "before": [tag], "after": []}], "messages": [message]}
    in_sync = {"connector_id": in_sync_id, "name": "x", "status": ["in_sync"], "authenticated": True,
               "changed_outside": [], "not_yet_applied": [], "messages": []}
    summary = {"total": 2, "drifted": 1, "org": org, "file": file, "set": cli_set,
               "checked_at": "2026-01-15T00:00:00+00:00"}
    cells = rendered(drift_markdown([report, in_sync], summary))

    one_line = [escape_control(v, keep="") for v in (connector_id, name)]
    _header, row = cells.rows
    assert row[0] == merged([code(one_line[0]), ("text", " ("), code(one_line[1]), ("text", ")")])
    assert row[1] == [code(escape_control(cli_set, keep=""))]
    assert row[2] == [("text", ", ".join(DRIFT_LABELS[s][0] for s in statuses))]
    assert row[3] == [("text", {True: "yes", False: "no", None: NONE}[authenticated])]
    assert row[4] == expected_details(report)
    headline, in_sync_names = cells.paragraphs
    shown = [*(code(" ".join(escape_control(v).splitlines())) for v in (org, file)),
             code(escape_control(cli_set, keep=""))]
    assert [item for item in headline if item[0] == "code"] == [item for item in shown if item[0] == "code"]
    assert in_sync_names == [code(escape_control(in_sync_id, keep=""))]


def test_a_hostile_name_set_outside_renders_as_text_in_the_drift_report(inproc: InProcess) -> None:
    """Through the CLI on the emulator: a name edited in the UI to links, images, HTML and a mention."""
    path = str(inproc.write("c.yaml", textwrap.dedent("""\
        connectors:
          - name: bitbucket-main
            description: Main
            workspace: acme
            auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}
        """)))
    assert inproc.cli("apply", "-f", path, "--auto-approve").code == 0
    hostile = "[a](https://e.example) ![x](y.png) <img src=x onerror=f()> <!-- c --> @team #1 www.e.example `|a|`"
    inproc.emulator.admin("PATCH", "/stackguardian/orgs/acme/integrations/bitbucket_main",
                          {"ResourceName": hostile, "Description": "evil\n| injected | row |\n<script>x</script>"})
    result = inproc.cli("drift", "-f", path, "--format", "markdown")
    assert result.code == 2, result.output
    cells = rendered(result.stdout)
    _header, row = cells.rows
    codes = [text for kind, text in row[4] if kind == "code"]
    assert f"changed outside: name: bitbucket-main -> {hostile}" in codes
    assert "changed outside: description: Main -> evil" in codes and "| injected | row |" in codes
    assert all(kind in ("code", "br") for kind, _ in row[4])
