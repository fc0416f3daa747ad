"""`sg-bitbucket drift -f FILE`: the declared and the managed connectors against what StackGuardian has.

One ``listall`` scan gives every observed connector (never one GET per connector); the engine
classifies each: changed outside this tool (observed vs last applied, kept in ContextTags), not yet
applied (declared vs last applied), deleted outside, of the file's set but no longer declared (a
connector another front or another file's set owns is never reported as undeclared), credentials
failing, and a
``ModifiedAt`` later than the CLI's last write (the credential may have been swapped in the UI).
Exit 2 when anything drifted. Each finding names the one command that fixes it (``fix``; the table's Fix
column, the Markdown report's): the CLI's ``drift_fixes`` in :mod:`sg_bitbucket_iac.wording`.

Connectors whose app password is past the timeline are *reported* here (app password), not
refused as apply would, so the file is loaded without the timeline check.
"""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any

from ...engine import DriftReport
from ...errors import UsageError
from ...model import Connector
from ...tags import DEFAULT_SET
from ...wire import ObservedConnector
from ...wording import CLI_WORDING
from ..exit_codes import EXIT_CHANGES, EXIT_OK
from .common import Context, note_unreadable, run_bounded, unreadable_records


def with_fix(report: dict[str, Any], file: str, file_set: str) -> dict[str, Any]:
    """The report with ``fix``: the one command that fixes its finding, for the file as the user named it
    (quoted for a POSIX shell when it needs to be), in the CLI's words (wording.py's ``drift_fixes``).

    ``file_set``: the file's set. Another set's connector is taken over from that set; a connector the
    file no longer declares is pruned only by a file with a set of its own (`default` never prunes)."""
    finding = report.get("finding")
    owner = report.get("owner") or ""
    if owner == "cli" and report.get("set") not in (None, file_set):
        owner = f"the file of set {report['set']}"
    if finding == "undeclared" and file_set == DEFAULT_SET:
        finding = "undeclared_default_set"
    report["fix"] = CLI_WORDING.drift_fix(finding, file=shlex.quote(file), connector_id=report["connector_id"],
                                          owner=owner) if finding else None
    return report


def run(ctx: Context) -> int:
    args = ctx.args
    if ctx.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} disagree; pick one")
    report_format = args.format or ("json" if ctx.json else "table")
    definitions, engine, scanned = ctx.load_and_scan(args.file, check_timeline=False)
    observed = {o.id: o for o in scanned}
    declared_ids = {d.connector_id for d in definitions.connectors}
    unreadable = {odd["connector_id"]: odd for odd in unreadable_records(engine)}
    note_unreadable(ctx, [odd for key, odd in unreadable.items() if key not in declared_ids])
    ctx.warm_fingerprints([d.connector for d in definitions.connectors], engine.org)

    # (desired, observed, verify?, adopt?) for each declared connector, then each managed one the file lacks.
    work: list[tuple[Connector | None, ObservedConnector | None, bool, bool]] = [
        (d.connector, observed.get(d.connector_id),
         bool(args.verify_credentials) and ctx.preflight_enabled and d.preflight, d.adopt)
        for d in definitions.connectors if d.connector_id not in unreadable
    ]
    work += [(None, o, False, False) for o in observed.values()
             if o.cli_set == definitions.cli_set and o.id not in declared_ids]

    def drift_of(item: tuple[Connector | None, ObservedConnector | None, bool, bool]) -> DriftReport:
        desired, current, verify, adopt = item
        return engine.drift(desired, observed=current, verify_credentials=verify, adopt=adopt)

    verifying = any(verify for _, _, verify, _ in work)
    with ctx.out.progress(len(work), "Verifying credentials" if verifying else "Comparing") as advance:
        outcomes = run_bounded(work, drift_of, parallelism=args.parallelism if verifying else 1, on_done=advance)
    reports: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
        current = observed.get(outcome.connector_id)
        reports.append(with_fix({**outcome.to_dict(), "set": current.cli_set if current is not None else None},
                                args.file, definitions.cli_set))
    reports += [{"connector_id": d.connector_id, "name": d.connector.name, "status": ["unreadable_record"],
                 "changed_outside": [], "not_yet_applied": [], "messages": [unreadable[d.connector_id]["message"]],
                 "authenticated": None, "modified_at": None, "set": None, "owner": None,
                 "finding": "unreadable_record", "fix": None}
                for d in definitions.connectors if d.connector_id in unreadable]
    drifted = [r for r in reports if r["status"] != ["in_sync"]]
    summary = {
        "org": engine.org,
        "file": str(definitions.source),
        "set": definitions.cli_set,
        "checked_at": engine.now().isoformat(),
        "total": len(reports),
        "drifted": len(drifted),
        "by_status": dict(Counter(status for r in reports for status in r["status"])),
        "credentials_verified": verifying,
    }
    if report_format == "json":
        ctx.out.json({"summary": summary, "connectors": reports, "unreadable_records": list(unreadable.values())})
    elif report_format == "markdown":
        from ..render import drift_markdown

        ctx.out.markdown(drift_markdown(reports, summary))
    else:
        from ..render import drift_view

        ctx.out.render(*drift_view(reports, summary))
    return EXIT_CHANGES if drifted else EXIT_OK
