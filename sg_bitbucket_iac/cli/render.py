"""Tables and Markdown for the CLI's reports (where they are written, and JSON: ``output.py``).

Every renderer takes the same plain dicts that ``--json`` prints (the engine's ``to_dict()``
output, where secrets are already ``(sensitive)``), so the human and machine views cannot disagree
and neither can show a secret. Output is scrubbed of every secret the run has seen as a last line of
defence, and every text that reaches a person has its control characters escaped (a connector name
set outside this tool can carry terminal escape sequences: shown as ``\x1b[31m``, never run).
Colour only on a terminal and never with ``--no-color`` (or ``NO_COLOR``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..redact import escape_control
from .output import plan_summary

NONE = "—"

ACTION_STYLES = {
    "create": ("+ create", "green"),
    "update": ("~ update", "yellow"),
    "replace": ("-/+ replace", "magenta"),
    "delete": ("- delete", "red"),
    "no-op": ("  no change", "dim"),
}
DRIFT_LABELS = {
    "in_sync": ("in sync", "green"),
    "changed_outside": ("changed outside", "red"),
    "not_yet_applied": ("not yet applied", "yellow"),
    "deleted_outside": ("deleted outside", "red"),
    # Without local state, a connector deleted outside (with its ContextTags) looks never created.
    "not_created": ("missing (not created yet, or deleted outside)", "yellow"),
    "credentials_failing": ("credentials failing", "red"),
    "app_password": ("app password", "red"),
    "foreign_owner": ("owned by another front", "red"),
    "unmanaged": ("exists, not managed here", "yellow"),
    "undeclared": ("managed, not declared", "yellow"),
}
PREFLIGHT_STYLES = {"PASS": "green", "FAIL": "red", "INCONCLUSIVE": "yellow"}
DRIFT_LABELS["unreadable_record"] = ("unreadable record", "red")

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- control characters
_SINGLE_LINE_KEYS = frozenset({"connector_id", "name", "id", "auth_type", "workspace", "field", "email", "username",
                               "set"})


def clean(value: Any, key: str = "") -> Any:
    """A report (dicts, lists, strings) with control characters escaped in every string."""
    if isinstance(value, str):
        return escape_control(value, keep="" if key in _SINGLE_LINE_KEYS else "\n\t")
    if isinstance(value, Mapping):
        return {k: clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, key) for v in value]
    return value


def _escaped(view: F) -> F:
    """Every report argument of a view is :func:`clean`: no server-supplied text reaches a terminal raw."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*(clean(a) for a in args), **{k: clean(v) for k, v in kwargs.items()})

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- values
def show(value: Any) -> str:
    """A field value for people: `—` for nothing, lists comma-separated, booleans as yes/no."""
    if value is None or value == [] or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def make_table(*columns: str, title: str | None = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _label(kind: str, styles: Mapping[str, tuple[str, str]]) -> Text:
    text, style = styles.get(kind, (kind, ""))
    return Text(text, style=style)


# --------------------------------------------------------------------------- plan and apply
@_escaped
def plan_view(plans: Sequence[Mapping[str, Any]], *, show_unchanged: bool = False) -> list[RenderableType]:
    """Per connector and field: action, before, after (secrets already `(sensitive)`), then warnings."""
    table = make_table("Connector", "Action", "Field", "Before", "After")
    warnings: list[Text] = []
    for plan in plans:
        if plan["action"] == "no-op" and not show_unchanged:
            continue
        label = _label(plan["action"], ACTION_STYLES)
        if plan.get("full_credential_replacement"):
            label.append(" (full credential replacement)", style="bold")
        if plan.get("adopt"):
            label.append(" (adopt)", style="bold")
        connector = Text(f"{plan['connector_id']}")
        if plan.get("name") and plan["name"] != plan["connector_id"]:
            connector.append(f" ({plan['name']})", style="dim")
        changes = plan.get("changes") or [{"field": "", "before": None, "after": None}]
        for position, change in enumerate(changes):
            note = f"  [{change['note']}]" if change.get("note") else ""
            table.add_row(
                connector if position == 0 else Text(""),
                label if position == 0 else Text(""),
                Text(change["field"]),
                Text(show(change["before"]) if change["field"] else ""),
                Text(show(change["after"]) + note if change["field"] else ""),
            )
        for warning in plan.get("warnings") or ():
            warnings.append(Text(f"warning: {plan['connector_id']}: {warning}", style="yellow"))
    counts = plan_summary(plans)
    summary = Text(
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, {counts['no-op']} unchanged.",
        style="bold",
    )
    if all(plan["action"] == "no-op" for plan in plans):
        return [*warnings, Text("No changes: StackGuardian matches the definitions.", style="green"), summary]
    return [table, *warnings, summary]


@_escaped
def apply_view(results: Sequence[Mapping[str, Any]]) -> list[RenderableType]:
    """Per connector: done or FAILED (with why); warnings grouped below, since many connectors share them."""
    table = make_table("Connector", "Action", "Result", "Details")
    shared: dict[str, list[str]] = {}
    for result in results:
        ok = result["status"] == "ok"
        warnings = list(dict.fromkeys(result.get("warnings") or ()))
        for warning in warnings:
            shared.setdefault(warning, []).append(result["connector_id"])
        details = result.get("error") or (f"{len(warnings)} warning(s), below" if warnings else "")
        table.add_row(
            Text(result["connector_id"]),
            _label(result["action"], ACTION_STYLES),
            Text("done" if ok else "FAILED", style="green" if ok else "bold red"),
            Text(details),
        )
    parts: list[RenderableType] = [table]
    for warning, connector_ids in shared.items():
        who = ", ".join(connector_ids) if len(connector_ids) <= 3 else f"{len(connector_ids)} connectors"
        parts.append(Text(f"warning ({who}): {warning}", style="yellow"))
    failed = sum(1 for r in results if r["status"] != "ok")
    done = len(results) - failed
    if failed and done:
        parts.append(Text(
            f"Apply partly failed: {done} done, {failed} failed. The {done} done are written to StackGuardian; "
            "each failed one is as it was (or as declared, if StackGuardian stored it but every answer was "
            "lost), never half-written. Fix what is reported and run apply again: the done ones plan as no "
            "change.", style="bold red"))
    elif failed:
        parts.append(Text(
            f"Apply failed: {done} done, {failed} failed; no connector was changed (unless StackGuardian stored "
            "a write whose every answer was lost). Fix what is reported and run apply again.", style="bold red"))
    else:
        parts.append(Text(f"Apply: {done} done, {failed} failed.", style="bold green"))
    return parts


# --------------------------------------------------------------------------- drift
def _change_text(change: Mapping[str, Any]) -> str:
    return f"{change['field']}: {show(change['before'])} -> {show(change['after'])}"


def drift_details(report: Mapping[str, Any]) -> list[str]:
    lines = [f"changed outside: {_change_text(c)}" for c in report.get("changed_outside") or ()]
    lines += [f"not yet applied: {_change_text(c)}" for c in report.get("not_yet_applied") or ()]
    lines += list(report.get("messages") or ())
    return lines


@_escaped
def drift_view(reports: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[RenderableType]:
    table = make_table("Connector", "Set", "Status", "Authenticated", "Details")
    for report in reports:
        statuses = Text()
        for position, status in enumerate(report["status"]):
            if position:
                statuses.append(", ")
            statuses.append_text(_label(status, DRIFT_LABELS))
        connector = Text(report["connector_id"])
        if report.get("name") and report["name"] != report["connector_id"]:
            connector.append(f" ({report['name']})", style="dim")
        table.add_row(connector, Text(show(report.get("set"))), statuses, Text(show(report.get("authenticated"))),
                      Text("\n".join(drift_details(report))))
    # Each fix on a line of its own under the table, never folded inside a cell: a command to copy whole.
    fixes = [Text(f"fix {report['connector_id']}: {report['fix']}", style="yellow")
             for report in reports if report.get("fix")]
    drifted = summary["drifted"]
    line = Text(f"Drift: {drifted} of {summary['total']} connector(s) drifted (file's set: {summary.get('set')}).",
                style="bold red" if drifted else "bold green")
    return [table, *fixes, line]


# Markdown for pull-request comments. Every value that comes from a person or a server (Ids, names,
# descriptions, tags, messages that quote them) is an inline code span: inside one, nothing is a link,
# an image, HTML, a comment or an entity, and GitHub neither autolinks, @-mentions, #-references nor
# turns `:name:` into an emoji there. Only this tool's own words are plain text, escaped all the same.
# The ASCII punctuation that can start or end Markdown, HTML, an entity or an autolink (commas, quotes and
# the like never do, and stay readable).
_MD_PUNCTUATION = re.compile(r"""([!#&()*+\-.:<=>@\[\\\]_`{|}~])""")


def md_code(text: Any, *, in_table: bool = True) -> str:
    """``text`` as one inline code span that shows it literally (line breaks as spaces; `—` for nothing).

    The fence is one backtick longer than any run inside, padded when the text starts or ends with a
    backtick or a space; in a table a pipe is written ``\\|``, which GFM turns back into ``|`` before
    the span is read.
    """
    line = " ".join(str(text).splitlines())
    if not line:
        return NONE
    if in_table:
        line = line.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span that is not all spaces: pad it back.
    pad = " " if (line[0] in "` " or line[-1] in "` ") and line.strip(" ") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def md_text(text: Any) -> str:
    """Plain Markdown text that renders as written: markup punctuation backslash-escaped, line breaks `<br>`."""
    return "<br>".join(_MD_PUNCTUATION.sub(r"\\\1", line) for line in str(text).splitlines())


def md_mixed(text: str) -> str:
    """The tool's own words with commands in backticks (a drift fix): each `command` as a code span, the
    words around them as escaped text; text with an odd number of backticks is escaped whole."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:
        return md_text(text) or NONE
    rendered = "".join(md_code(part) if index % 2 else md_text(part) for index, part in enumerate(parts))
    return rendered or NONE


def _md_lines(lines: Iterable[str]) -> str:
    """A table cell of several lines, each its own code span."""
    spans = [md_code(part) for line in lines for part in (str(line).splitlines() or [""])]
    return "<br>".join(spans) if spans else NONE


@_escaped
def drift_markdown(reports: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    """A report fit for a pull-request comment: a headline, drifted connectors first, in-sync folded."""
    drifted = [r for r in reports if r["status"] != ["in_sync"]]
    in_sync = [r for r in reports if r["status"] == ["in_sync"]]
    icon = ":warning:" if drifted else ":white_check_mark:"
    lines = [
        "### sg-bitbucket drift report",
        "",
        f"{icon} **{len(drifted)} of {summary['total']} connector(s) drifted** in org "
        f"{md_code(summary['org'], in_table=False)} (definitions {md_code(summary['file'], in_table=False)}, "
        f"set {md_code(show(summary.get('set')), in_table=False)}, checked {md_text(summary['checked_at'])}).",
        "",
    ]
    if drifted:
        lines += ["| Connector | Set | Status | Authenticated | Details | Fix |", "|---|---|---|---|---|---|"]
        for report in drifted:
            status = ", ".join(DRIFT_LABELS.get(s, (s, ""))[0] for s in report["status"])
            lines.append(
                f"| {md_code(report['connector_id'])} ({md_code(report['name'])}) | "
                f"{md_code(show(report.get('set')))} | {md_text(status)} | "
                f"{md_text(show(report.get('authenticated')))} | {_md_lines(drift_details(report))} | "
                f"{md_mixed(report.get('fix') or '')} |"
            )
        lines.append("")
    if in_sync:
        names = ", ".join(md_code(r["connector_id"], in_table=False) for r in in_sync)
        lines += [f"<details><summary>In sync ({len(in_sync)})</summary>", "", names, "", "</details>", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- audit
@_escaped
def audit_view(entries: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[RenderableType]:
    table = make_table("Connector", "Auth type", "Authenticated", "App-password timeline", "Owner", "Set",
                       "Next step")
    for entry in entries:
        connector = Text(entry["connector_id"])
        if entry.get("name") and entry["name"] != entry["connector_id"]:
            connector.append(f" ({entry['name']})", style="dim")
        authenticated = entry.get("authenticated")
        table.add_row(
            connector,
            Text(show(entry.get("auth_type")), style="red" if entry.get("auth_type") == "app_password" else ""),
            Text(show(authenticated), style="red" if authenticated is False else ""),
            Text(show(entry.get("app_password_phase"))),
            Text(show(entry.get("owner"))),
            Text(show(entry.get("set"))),
            Text(entry["next_step"], style="yellow" if entry["needs_action"] else "green"),
        )
    line = Text(
        f"Audit: {summary['total']} Bitbucket connector(s), {summary['needs_action']} need action "
        f"({summary['app_passwords']} app password(s), {summary['not_authenticated']} not authenticated).",
        style="bold red" if summary["needs_action"] else "bold green",
    )
    return [table, line]


# --------------------------------------------------------------------------- validate and preflight
@_escaped
def validate_view(entries: Sequence[Mapping[str, Any]], failed: bool) -> list[RenderableType]:
    table = make_table("Connector", "Auth type", "Preflight", "Details")
    for entry in entries:
        preflight = entry.get("preflight")
        if entry.get("error"):
            status, details = Text("ERROR", style="red"), str(entry["error"])
        elif preflight is None:
            status, details = Text("skipped", style="dim"), str(entry.get("preflight_skipped", ""))
        else:
            status = Text(preflight["status"], style=PREFLIGHT_STYLES.get(preflight["status"], ""))
            details = preflight["summary"]
        details = "\n".join([details, *(f"warning: {w}" for w in entry.get("warnings") or ())]).strip()
        table.add_row(Text(entry["connector_id"]), Text(entry["auth_type"]), status, Text(details))
    verdict = Text(
        f"{len(entries)} connector(s) valid" + ("; some credentials failed preflight" if failed else "."),
        style="bold red" if failed else "bold green",
    )
    return [table, verdict]


@_escaped
def preflight_view(result: Mapping[str, Any], title: str | None = None) -> list[RenderableType]:
    status = result["status"]
    table = make_table("Check", "Endpoint", "HTTP", "Outcome", "Message", title=title)
    for check in result.get("checks") or ():
        outcome = check["outcome"]
        style = "green" if outcome == "OK" else ("dim" if outcome in ("SKIPPED", "NOT_VERIFIABLE") else "yellow"
                                                  if outcome == "WARNING" else "red")
        table.add_row(Text(check["name"]), Text(show(check.get("endpoint"))), Text(show(check.get("http_status"))),
                      Text(outcome, style=style), Text(check.get("message") or ""))
    identity = result.get("identity") or {}
    parts: list[RenderableType] = [table]
    if identity.get("username"):
        parts.append(Text(f"identity: {identity['username']}" + (
            f" ({identity['display_name']})" if identity.get("display_name") else "")))
    if result.get("missing_permissions"):
        parts.append(Text("missing: " + ", ".join(result["missing_permissions"]), style="red"))
    parts.append(Text(f"{status}: {result.get('summary', '')}", style=f"bold {PREFLIGHT_STYLES.get(status, '')}"))
    return parts
